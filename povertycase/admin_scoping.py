"""Jurisdiction in the back office: the one mixin that every ModelAdmin and inline of the project uses.

Part of the access layer (with ``povertycase.jurisdiction``). ``scope_to`` decides which rows a user may see
(GUIDE.md, "deny by default");
``ScopedAdminMixin`` applies it wherever the admin reads rows on the user's behalf:

- ``get_queryset``: lists, change pages, actions, search, date hierarchy, facet counts, and the
  autocomplete endpoint (Django's autocomplete view reads the *target* admin's ``get_queryset``);
- ``get_field_queryset``: the choices of every foreign-key and many-to-many form field, so that a forged id
  outside the jurisdiction fails form validation ("选择一个有效的选项");
- ``get_list_filter``: a plain relation filter lists only related rows reachable through the scoped list;
- ``get_object``: an object outside the jurisdiction answers 404 (Django would redirect with "does not
  exist"), so its existence does not leak; the history pages of django-simple-history go through it too;
- ``save_model``/``save_related``: after a write, inside the admin's transaction, the object must still be
  in scope (``ensure_in_scope``), else everything rolls back.

A user without any active role has no jurisdiction and gets no permission in the admin at all, whatever
permissions their account holds. Superusers and city-wide supervisors see everything.
"""

from __future__ import annotations

from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import Http404

from povertycase.jurisdiction import ensure_in_scope, jurisdiction_for, scope_to

#: Rows that belong to no place (poverty lines, assisting units): every role holder may read all of them.
#: A model that is neither registered with the jurisdiction nor listed here is a programming error.
REFERENCE_DATA: set[str] = set()
#: Audit records that only city-wide users (superusers, city supervisors) may read.
CITY_WIDE_ONLY: set[str] = set()


def register_reference_data(*labels: str) -> None:
    """Called by the owning app's ``ready()``: ``"app.model"`` tables every role holder may read in the admin."""
    REFERENCE_DATA.update(labels)


def register_city_wide_only(*labels: str) -> None:
    """Called by the owning app's ``ready()``: ``"app.model"`` tables only city-wide users may read."""
    CITY_WIDE_ONLY.update(labels)


NOT_FOUND_MESSAGE = "未找到该记录，或不在您的辖区内。"
REVERT_DISABLED_MESSAGE = "该记录的历史版本只能查看，不能还原。"


def has_jurisdiction(user) -> bool:
    return not jurisdiction_for(user).is_empty


def admin_scope(user, queryset: QuerySet) -> QuerySet:
    """``scope_to`` for the admin, which also shows the reference and audit tables that belong to no place."""
    label = queryset.model._meta.label_lower
    if label in CITY_WIDE_ONLY:
        return queryset if jurisdiction_for(user).everything else queryset.none()
    try:
        return scope_to(user, queryset)
    except ImproperlyConfigured:
        if label not in REFERENCE_DATA:
            raise
        return queryset if has_jurisdiction(user) else queryset.none()


class ScopedAdminMixin:
    """Restricts a ModelAdmin or an inline to the request user's jurisdiction (see the module docstring)."""

    # --- reads --------------------------------------------------------------------------------------

    def get_queryset(self, request):
        return admin_scope(request.user, super().get_queryset(request))

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(db).all()
        return admin_scope(request.user, queryset)

    def get_list_filter(self, request):
        """A plain relation filter (``"cadre"``) would list every row of the related table: list only the
        related rows of the scoped list instead."""
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
                item = (item, RelatedOnlyFieldListFilter)
            filters.append(item)
        return filters

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(NOT_FOUND_MESSAGE)
        return obj

    # --- permissions: nothing at all without a jurisdiction -----------------------------------------

    def has_module_permission(self, request):
        return has_jurisdiction(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return has_jurisdiction(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args, **kwargs):
        return has_jurisdiction(request.user) and super().has_add_permission(request, *args, **kwargs)

    def has_change_permission(self, request, obj=None):
        return has_jurisdiction(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return has_jurisdiction(request.user) and super().has_delete_permission(request, obj)

    # --- writes: still in scope after the write, inside the admin's transaction ----------------------

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.ensure_in_scope(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self.ensure_in_scope(request, form.instance)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for obj in [*formset.new_objects, *(obj for obj, _ in formset.changed_objects)]:
            self.ensure_in_scope(request, obj)

    def ensure_in_scope(self, request, obj) -> None:
        """Raise Http404 (rolling the admin's transaction back) if ``obj`` is not in the user's scope."""
        if obj._meta.label_lower not in REFERENCE_DATA | CITY_WIDE_ONLY:
            ensure_in_scope(request.user, obj)
        elif not admin_scope(request.user, type(obj)._default_manager.filter(pk=obj.pk)).exists():
            raise Http404(NOT_FOUND_MESSAGE)

    # --- django-simple-history pages ---------------------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        # simple-history falls back to the historical rows when the live object is not in get_queryset(),
        # which would show the history of any object to anyone: require the live, in-scope object.
        self.get_object(request, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if request.method != "POST":
            return super().history_form_view(request, object_id, version_id, extra_context)
        # Reverting writes the old version over the object: never where the admin disabled it (simple-history
        # only hides the button), only for who may change it, in one transaction.
        if self.revert_disabled(request, obj):
            raise PermissionDenied(getattr(self, "revert_refused_message", REVERT_DISABLED_MESSAGE))
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyAdminMixin:
    """A back-office page that only shows rows (assessments, alerts, decisions): nobody adds, changes or deletes
    them here; they are written by their services and jobs."""

    def has_add_permission(self, request, *args, **kwargs) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
