"""Back office for the household file (建档立卡, DOMAIN.md §2) for county and township staff.

Households are edited on one page with their members and yearly incomes; the rules across members (exactly
one active head, an ID number only once) are checked by the member formset before anything is written.
Every admin here is restricted to the user's jurisdiction (``ScopedAdminMixin``). Resident ID numbers and
phone numbers are shown masked in every list and to anyone without the permission (§8); see
PersonalDataAdminMixin. The household page shows the exit assessments (§4), and the household list filters
by them and recomputes them on demand.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from assessments.admin import (
    HouseholdEligibleFilter,
    HouseholdFailingCriterionFilter,
    assessment_year,
    recompute_now,
    render_assessments,
)
from assessments.models import Assessment
from assessments.services import current_assessment_year
from assistance.admin_scoping import ScopedAdminMixin
from households import choices
from households import personal_data as personal_data_rules
from households.filtersets import household_search
from households.idcard import mask_id_number, mask_phone
from households.models import Household, IncomeRecord, Member, PersonalDataAccess
from households.selectors import household_history
from villages.admin import geography_filters

# ---------------------------------------------------------------------------------------------------------
# Personal data (§8)

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


def household_link(household: Household) -> str:
    url = reverse("admin:households_household_change", args=[household.pk])
    return format_html('<a href="{}">{}</a>', url, household.household_number)


# ---------------------------------------------------------------------------------------------------------
# Household page: members and incomes inline


def with_head(queryset: QuerySet[Household]) -> QuerySet[Household]:
    """Annotate each household with its active head's ``head_name`` and ``head_id_number`` in the same query
    (two correlated subqueries), so that a list page costs the same whatever its length."""
    heads = Member.objects.filter(household_id=OuterRef("pk"), relation=choices.Relation.HEAD, is_active=True)
    heads = heads.order_by("pk")
    return queryset.annotate(
        head_name=Subquery(heads.values("name")[:1]),
        head_id_number=Subquery(heads.values("id_number")[:1]),
    )


class MemberInlineFormSet(BaseInlineFormSet):
    """The rules across the members of one household (DOMAIN.md §2, §9), checked before anything is saved."""

    def clean(self) -> None:
        super().clean()
        rows = [
            (number, form)
            for number, form in enumerate(self.forms, start=1)
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        seen: dict[str, int] = {}
        for number, form in rows:
            id_number = (form.cleaned_data.get("id_number") or "").strip().upper()
            if not id_number or "id_number" in form.errors:
                continue
            if id_number in seen:
                form.add_error("id_number", f"与第{seen[id_number]}行成员的身份证号相同，同一人不能在本户登记两次。")
            else:
                seen[id_number] = number
        if any(self.errors):
            # A row with errors may lack its relation or status; count heads once every row is clean.
            return
        heads = sum(
            1
            for _, form in rows
            if form.cleaned_data.get("is_active") and form.cleaned_data.get("relation") == choices.Relation.HEAD
        )
        if heads != 1:
            raise ValidationError(
                f"每户必须有且只有一名在户的户主，当前有{heads}名。请检查各成员的“与户主关系”和“是否在户”。",
                code="household_heads",
            )

    def save(self, commit: bool = True):
        if not commit:
            return super().save(commit=False)
        members = super().save(commit=False)
        for member in self.deleted_objects:
            member.delete()
        # The database allows one active head per household and one active member per ID number at every
        # moment, so save departures first, then the other members, and the (new) head last: a head handing
        # over to another member in the same form is then never two heads at once.
        for member in sorted(members, key=lambda m: (m.is_active, m.relation == choices.Relation.HEAD)):
            member.save()
        self.save_m2m()
        return members


class MemberInline(ScopedAdminMixin, PersonalDataAdminMixin, admin.TabularInline):
    model = Member
    formset = MemberInlineFormSet
    fields = (
        "name",
        "id_number",
        "gender",
        "birth_date",
        "relation",
        "ethnicity",
        "education_level",
        "school_status",
        "health",
        "disability_grade",
        "labor_ability",
        "work_status",
        "work_months",
        "medical_insurance",
        "serious_illness_insurance",
        "pension_insurance",
        "is_active",
        "left_reason",
        "left_on",
    )
    readonly_fields = ("gender", "birth_date")
    masked_fields = {"id_number": "id_number_masked"}

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 1 if obj is None else 0  # a new household starts with its head's row

    @admin.display(description="身份证号")
    def id_number_masked(self, obj: Member) -> str:
        return mask_id_number(obj.id_number)


class IncomeRecordInline(ScopedAdminMixin, admin.TabularInline):
    model = IncomeRecord
    extra = 0
    fields = ("year", *IncomeRecord.AMOUNT_FIELDS, "net_income_yuan")
    readonly_fields = ("net_income_yuan",)
    ordering = ("-year",)

    @admin.display(description="纯收入（元）")
    def net_income_yuan(self, obj: IncomeRecord):
        return obj.net_income if obj.pk else "-"


# The household's history page lists its members' and incomes' latest changes up to this many.
HISTORY_RELATED_LIMIT = 200
HISTORY_ACTIONS = {"created": "新增", "changed": "修改", "deleted": "删除"}


def _history_labels(model) -> dict[str, tuple[str, dict]]:
    """attname → (verbose name, value → shown value) for the fields of ``model`` shown in a history."""
    labels = {}
    for field in model._meta.concrete_fields:
        if field.attname == "household_id":
            continue  # every row of a household's history belongs to it
        shown = {str(value): str(label) for value, label in field.flatchoices}
        if field.get_internal_type() == "BooleanField":
            shown = {"True": "是", "False": "否"}
        labels[field.attname] = (str(field.verbose_name), shown)
    return labels


def related_history_rows(entries) -> list[dict]:
    """``households.selectors.household_history`` entries (already masked for the user) as table rows with
    Chinese field names and choice labels."""
    labels = {str(model._meta.verbose_name): _history_labels(model) for model in (Member, IncomeRecord)}
    rows = []
    for entry in entries:
        fields = labels.get(entry.model, {})
        changes = []
        for change in entry.changes:
            if change.field not in fields:
                continue
            name, shown = fields[change.field]
            old = "" if change.old is None else shown.get(change.old, change.old)
            new = "" if change.new is None else shown.get(change.new, change.new)
            changes.append({"field": name, "old": old, "new": new})
        rows.append({"entry": entry, "action": HISTORY_ACTIONS.get(entry.action, entry.action), "changes": changes})
    return rows


@admin.register(Household)
class HouseholdAdmin(ScopedAdminMixin, PersonalDataAdminMixin, SimpleHistoryAdmin):
    inlines = (MemberInline, IncomeRecordInline)
    list_display = (
        "household_number",
        "village",
        "township",
        "county",
        "head_name",
        "head_id_number",
        "status",
        "eligible_now",
        "attribute",
        "primary_cause",
    )
    list_select_related = ("village__township", "village__county")
    list_filter = (
        *geography_filters("village"),
        "status",
        HouseholdEligibleFilter,
        HouseholdFailingCriterionFilter,
        "attribute",
        "primary_cause",
    )
    actions = (recompute_now,)
    # Declared for the search box and autocomplete; the search itself is household_search (no duplicates).
    search_fields = ("household_number", "members__name", "members__id_number")
    search_help_text = "按户编号、家庭成员姓名或身份证号搜索（身份证号可只输入后几位）"
    list_per_page = 50
    show_full_result_count = False  # a second COUNT over the whole register on every filtered page
    autocomplete_fields = ("village",)
    readonly_fields = ("created_at", "updated_at", "assessment_summary")
    masked_fields = {"phone": "phone_masked"}
    read_only_display = {"other_causes": "other_causes_display"}
    object_history_template = "admin/households/household/object_history.html"
    fieldsets = (
        (
            "基本信息",
            {
                "fields": (
                    "household_number",
                    "village",
                    "address",
                    "phone",
                    "identification_standard",
                    "attribute",
                    "status",
                    ("identified_year", "exit_year"),
                    "primary_cause",
                    "other_causes",
                )
            },
        ),
        ("退出评估（两不愁三保障）", {"fields": ("assessment_summary",)}),
        ("两不愁", {"fields": ("food_secure", "clothing_secure")}),
        (
            "住房与饮水",
            {
                "fields": (
                    "house_safety_grade",
                    "relocated",
                    "water_quantity_ok",
                    "water_quality_ok",
                    "water_convenient",
                    "water_guaranteed",
                )
            },
        ),
        ("土地与明白卡", {"fields": ("cultivated_land_mu", "forest_land_mu", "clarity_card_issued_on")}),
        ("建档记录", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        # Head and current-year verdict of every listed household in the list's own query.
        current = Assessment.objects.filter(household_id=OuterRef("pk"), year=assessment_year(request), is_current=True)
        return with_head(super().get_queryset(request)).annotate(eligible_now=Subquery(current.values("eligible")[:1]))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "other_causes":
            # The model keeps other causes as a JSON list of slugs; clerks tick them instead of typing JSON.
            return forms.MultipleChoiceField(
                label=db_field.verbose_name,
                choices=choices.Cause.choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        return household_search(queryset, search_term), False

    def history_view(self, request, object_id, extra_context=None):
        """The household's own history (simple-history), then the changes of its members and incomes."""
        household = self.get_object(request, unquote(object_id))
        entries = [
            entry
            for entry in household_history(user=request.user, household=household)
            if entry.model != Household._meta.verbose_name
        ]
        shown = entries[:HISTORY_RELATED_LIMIT]
        if self.may_view_personal_data(request):
            member_label = str(Member._meta.verbose_name)
            self.record_personal_data_shown(request, Member, {e.object_id for e in shown if e.model == member_label})
        context = {
            "related_changes": related_history_rows(shown),
            "related_changes_total": len(entries),
            "related_changes_limit": HISTORY_RELATED_LIMIT,
        }
        return super().history_view(request, object_id, {**context, **(extra_context or {})})

    @admin.display(description="达到退出标准", boolean=True)
    def eligible_now(self, obj: Household) -> bool | None:
        return obj.eligible_now

    @admin.display(description="退出评估")
    def assessment_summary(self, obj: Household) -> str:
        if obj.pk is None:
            return "保存后自动评估。"
        assessments = list(Assessment.objects.filter(household=obj, is_current=True))
        return render_assessments(assessments, current_year=current_assessment_year())

    @admin.display(description="乡（镇、街道）", ordering="village__township__code")
    def township(self, obj: Household):
        return obj.village.township

    @admin.display(description="县（市、区）", ordering="village__county__code")
    def county(self, obj: Household):
        return obj.village.county

    @admin.display(description="户主", ordering="head_name")
    def head_name(self, obj: Household) -> str:
        return obj.head_name or "（无在户户主）"

    @personal_data(description="户主身份证号", mask=mask_id_number)
    def head_id_number(self, obj: Household) -> str:
        return obj.head_id_number

    @admin.display(description="联系电话")
    def phone_masked(self, obj: Household) -> str:
        return mask_phone(obj.phone)

    @admin.display(description="其他致贫原因")
    def other_causes_display(self, obj: Household) -> str:
        labels = dict(choices.Cause.choices)
        return "、".join(str(labels.get(cause, cause)) for cause in obj.other_causes or []) or "-"


# ---------------------------------------------------------------------------------------------------------
# Members and incomes on their own lists


@admin.register(Member)
class MemberAdmin(ScopedAdminMixin, PersonalDataAdminMixin, SimpleHistoryAdmin):
    """Search and review members across households. Members are added and changed on their household's
    page only, where the rules across members are checked, so this list is read-only."""

    list_display = (
        "name",
        "id_number_display",
        "gender",
        "birth_date",
        "relation",
        "household_display",
        "is_active",
    )
    list_select_related = ("household",)
    search_fields = ("name", "id_number", "household__household_number")
    search_help_text = "按姓名、身份证号或户编号搜索"
    list_filter = (
        *geography_filters("household__village"),
        "is_active",
        "relation",
        "gender",
        "health",
        "school_status",
        "labor_ability",
    )
    list_per_page = 50
    show_full_result_count = False
    masked_fields = {"id_number": "id_number_masked"}
    fieldsets = (
        ("基本信息", {"fields": ("household", "name", "id_number", "gender", "birth_date", "relation", "ethnicity")}),
        (
            "教育、健康与就业",
            {
                "fields": (
                    "education_level",
                    "school_status",
                    "health",
                    "disability_grade",
                    "labor_ability",
                    "work_status",
                    "work_months",
                )
            },
        ),
        ("参保情况", {"fields": ("medical_insurance", "serious_illness_insurance", "pension_insurance")}),
        ("在户情况", {"fields": ("is_active", "left_reason", "left_on")}),
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @personal_data(description="身份证号", mask=mask_id_number)
    def id_number_display(self, obj: Member) -> str:
        return obj.id_number

    @admin.display(description="身份证号")
    def id_number_masked(self, obj: Member) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description="所属户", ordering="household__household_number")
    def household_display(self, obj: Member) -> str:
        return household_link(obj.household)


@admin.register(IncomeRecord)
class IncomeRecordAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ("household_display", "year", "net_income_yuan", "transfer_income_yuan", "business_expenses")
    list_select_related = ("household",)
    list_filter = ("year", *geography_filters("household__village"))
    search_fields = ("household__household_number",)
    search_help_text = "按户编号搜索"
    list_per_page = 50
    show_full_result_count = False
    autocomplete_fields = ("household",)
    readonly_fields = ("transfer_income_yuan", "net_income_yuan")
    fieldsets = (
        ("所属户与年度", {"fields": ("household", "year")}),
        ("工资性、生产经营性和财产性收入", {"fields": ("wage_income", "business_income", "property_income")}),
        ("转移性收入", {"fields": IncomeRecord.TRANSFER_FIELDS}),
        ("支出", {"fields": ("business_expenses",)}),
        ("合计", {"fields": ("transfer_income_yuan", "net_income_yuan")}),
    )

    @admin.display(description="所属户", ordering="household__household_number")
    def household_display(self, obj: IncomeRecord) -> str:
        return household_link(obj.household)

    @admin.display(description="纯收入（元）")
    def net_income_yuan(self, obj: IncomeRecord):
        return obj.net_income if obj.pk else "-"

    @admin.display(description="转移性收入（元）")
    def transfer_income_yuan(self, obj: IncomeRecord):
        return obj.transfer_income if obj.pk else "-"


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The record of every time full ID or phone numbers were shown (§8): read-only, for city-wide users."""

    list_display = ("accessed_at", "user", "channel", "model", "object_count", "path")
    list_filter = ("channel", "model")
    search_fields = ("user__username", "path")
    search_help_text = "按用户名或请求地址搜索"
    date_hierarchy = "accessed_at"
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# ---------------------------------------------------------------------------------------------------------
# Excel import and export (issue 7): the import jobs' pages live in admin_imports (imported here so that they
# are registered with the admin); the household list gains its "导出Excel" action.

from households.admin_imports import export_households_xlsx  # noqa: E402

HouseholdAdmin.actions = (*HouseholdAdmin.actions, export_households_xlsx)
