"""Personal data in the back office (DOMAIN.md §8): resident ID and phone numbers masked in every list and to
anyone without the permission, the full numbers shown only on one record's page and recorded when shown, and the
change history masked the same way. Used by the household, member and import admins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin.utils import unquote
from simple_history.template_utils import HistoricalRecordContextHelper

from households import personal_data as personal_data_rules
from households.idcard import mask_id_number, mask_phone
from households.models import PersonalDataAccess

#: The personal fields of the household file and how each is masked.
PERSONAL_MASKS: dict[str, Callable[[str], str]] = {"id_number": mask_id_number, "phone": mask_phone}
MASKED_HELP_TEXT = "号码已部分隐去；如需更正，请输入完整号码，不改动则保持原号码。"


def personal_data(*, description: str, mask: Callable[[str], str]):
    """Declare an admin list column that returns a raw ID or phone number; it is always shown through
    ``mask``: lists are masked for everyone, full numbers appear only on one record's page.

    Masked columns are not sortable: ordering by a hidden number would reveal it (birth date order)."""

    def decorator(method):
        @functools.wraps(method)
        def column(self, obj) -> str:
            return mask(method(self, obj) or "")

        column.personal_data = True
        return admin.display(description=description)(column)

    return decorator


class MaskedPersonalDataForm:
    """Form mixin for a user who may edit a record but not see its personal data (township staff): the
    personal fields show the masked number; submitting it unchanged keeps the stored number, typing a whole
    new number replaces it. The masked value is the field's initial value, so an untouched field is not
    counted as changed (no spurious history rows)."""

    personal_masks: dict[str, Callable[[str], str]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, mask in self.personal_masks.items():
            if name in self.fields:
                self.initial[name] = mask(getattr(self.instance, name, "") or "")
                self.fields[name].help_text = MASKED_HELP_TEXT

    def clean(self):
        cleaned_data = super().clean()
        for name, mask in self.personal_masks.items():
            stored = getattr(self.instance, name, "") or ""
            if name in self.fields and stored and cleaned_data.get(name) == mask(stored):
                cleaned_data[name] = stored
        return cleaned_data


class MaskedHistoryContextHelper(HistoricalRecordContextHelper):
    """The change history of simple-history with personal fields masked (for users without permission)."""

    def __init__(self, model, historical_record, *, masks: dict[str, Callable[[str], str]]):
        super().__init__(model, historical_record)
        self.masks = masks

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        mask = self.masks.get(change.field)
        return mask(str(value)) if mask and value else value


class PersonalDataAdminMixin:
    """Masks resident ID numbers and phone numbers (DOMAIN.md §8) in the admin.

    - Lists are masked for everyone (a list would reveal hundreds of numbers at once).
    - On one record's page, who may see personal data (``may_view_personal_data``) sees the full numbers,
      and the page view is recorded (``record_reveal``); everyone else sees ``410324********1234``: as a
      read-only value, or, if they may edit the record, in a masked form field (``MaskedPersonalDataForm``).
    - The change history (simple-history pages) is masked the same way.
    """

    #: personal form field → admin method showing it masked, where the user cannot edit the record.
    masked_fields: dict[str, str] = {}
    #: other form fields → admin method showing them better than the raw value, where the user cannot edit.
    read_only_display: dict[str, str] = {}

    def may_view_personal_data(self, request) -> bool:
        """The one place that decides who sees full ID and phone numbers in the admin."""
        return personal_data_rules.may_view_personal_data(request.user)

    def personal_masks(self) -> dict[str, Callable[[str], str]]:
        return {name: PERSONAL_MASKS[name] for name in self.masked_fields}

    def get_readonly_fields(self, request, obj=None):
        # Declared read-only so that the substitutes below are never taken for form fields.
        return (
            *super().get_readonly_fields(request, obj),
            *self.masked_fields.values(),
            *self.read_only_display.values(),
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        substitutes = dict(self.read_only_display)
        if not self.may_view_personal_data(request):
            substitutes.update(self.masked_fields)

        def substitute(field):
            if isinstance(field, list | tuple):
                return type(field)(substitute(item) for item in field)
            return substitutes.get(field, field)

        return [(name, {**options, "fields": substitute(options["fields"])}) for name, options in fieldsets]

    # --- editable forms for users without the permission -----------------------------------------

    def _masking(self, request, form):
        if not self.masked_fields or self.may_view_personal_data(request):
            return form
        return type(form)(form.__name__, (MaskedPersonalDataForm, form), {"personal_masks": self.personal_masks()})

    def get_form(self, request, obj=None, **kwargs):
        return self._masking(request, super().get_form(request, obj, **kwargs))

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = self._masking(request, formset.form)
        return formset

    # --- recording what was shown -------------------------------------------------------------------

    def record_personal_data_shown(self, request, model, object_ids) -> None:
        personal_data_rules.record_reveal(
            user=request.user,
            channel=PersonalDataAccess.Channel.ADMIN,
            model=model._meta.model_name,
            object_ids=[pk for pk in object_ids if pk is not None],
            path=request.get_full_path(),
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if obj is not None and self.may_view_personal_data(request):
            if self.masked_fields:
                self.record_personal_data_shown(request, self.model, [obj.pk])
            for inline in context.get("inline_admin_formsets", ()):
                if getattr(inline.opts, "masked_fields", None):
                    ids = [form.instance.pk for form in inline.formset.forms]
                    self.record_personal_data_shown(request, inline.formset.model, ids)
        return response

    # --- change history -----------------------------------------------------------------------------

    def get_historical_record_context_helper(self, request, historical_record):
        if not self.masked_fields or self.may_view_personal_data(request):
            return super().get_historical_record_context_helper(request, historical_record)
        return MaskedHistoryContextHelper(self.model, historical_record, masks=self.personal_masks())

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if self.masked_fields and self.may_view_personal_data(request):
            self.record_personal_data_shown(request, self.model, [self.model._meta.pk.to_python(unquote(object_id))])
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if self.masked_fields and self.may_view_personal_data(request):
            self.record_personal_data_shown(request, self.model, [self.model._meta.pk.to_python(unquote(object_id))])
        return response
