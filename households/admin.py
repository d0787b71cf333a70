"""Back office for the household file (建档立卡, DOMAIN.md §2) for county and township staff.

Households are edited on one page with their members and yearly incomes; the rules across members (exactly
one active head, an ID number only once) are checked by the member formset before anything is written.
Every admin here is restricted to the user's jurisdiction (``ScopedAdminMixin``). Resident ID numbers and
phone numbers are shown masked in every list and to anyone without the permission (§8); see
PersonalDataAdminMixin. ``assessments.admin`` extends the household page with the exit assessments (§4), and
the household list with their filters, verdict column and recompute action.
"""

from __future__ import annotations

import dataclasses
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from households import choices, rules, services
from households.admin_history import HouseholdHistoryAdminMixin
from households.admin_personal_data import PersonalDataAdminMixin, personal_data
from households.filtersets import household_search
from households.idcard import mask_id_number, mask_phone
from households.models import Household, IncomeRecord, Member, PersonalDataAccess
from households.selectors import with_head
from povertycase.admin_scoping import ScopedAdminMixin
from villages.admin import geography_filters


def household_link(household: Household) -> str:
    url = reverse("admin:households_household_change", args=[household.pk])
    return format_html('<a href="{}">{}</a>', url, household.household_number)


# ---------------------------------------------------------------------------------------------------------
# Household page: members and incomes inline


class MemberInlineFormSet(BaseInlineFormSet):
    """The rules across the members of one household (DOMAIN.md §2, ``households.rules``), checked before the
    household is written. The write itself is the services' (``HouseholdAdmin.save_related``)."""

    def clean(self) -> None:
        super().clean()
        lines = [
            rules.MemberLine(
                number,
                form.cleaned_data.get("relation", ""),
                form.cleaned_data.get("is_active", False),
                "" if "id_number" in form.errors else form.cleaned_data.get("id_number", ""),
            )
            for number, form in enumerate(self.forms, start=1)
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        for number, message in rules.repeated_id_errors(lines).items():
            self.forms[number - 1].add_error("id_number", message)
        if any(self.errors):
            # A row with errors may lack its relation or status; count heads once every row is clean.
            return
        message = rules.head_count_message(len(rules.active_head_rows(lines)))
        if message:
            raise ValidationError(f"{message}请检查各成员的“与户主关系”和“是否在户”。", code="household_heads")


class HouseholdWriteRefused(Exception):
    """A household write the services refused after the admin's forms had passed (rolls the page back)."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        if hasattr(error, "error_dict"):
            self.messages = [
                f"{_error_place(key)}{message}" for key, errors in error.message_dict.items() for message in errors
            ]
        else:
            self.messages = list(error.messages)


_ROW_KEY = re.compile(r"^(members|incomes)\[(\d+)\]\.(\w+)$")


def _error_place(key: str) -> str:
    """``members[1].id_number`` → "第2名成员的身份证号：" (the services' error keys, said in Chinese)."""
    if key == NON_FIELD_ERRORS:
        return ""
    row = _ROW_KEY.match(key)
    if row is None:
        try:
            return f"{Household._meta.get_field(key).verbose_name}："
        except FieldDoesNotExist:
            return f"{key}："
    rows, index, name = row.groups()
    model, noun = (Member, "名成员") if rows == "members" else (IncomeRecord, "条收入记录")
    try:
        label = model._meta.get_field(name).verbose_name
    except FieldDoesNotExist:
        label = name
    return f"第{int(index) + 1}{noun}的{label}："


@dataclasses.dataclass
class InlineRows:
    """What an inline formset submitted, as the services take it: rows kept (existing ones with their ``id``),
    and the ids of the existing rows marked for deletion. ``formset.new_objects`` and friends are filled in for
    the admin's change message, as ``formset.save()`` would."""

    kept: list[dict] = dataclasses.field(default_factory=list)
    removed_ids: list[int] = dataclasses.field(default_factory=list)


def _inline_rows(formsets, model, *, matched_by_id: bool) -> InlineRows:
    rows = InlineRows()
    for formset in formsets:
        if formset.model is not model:
            continue
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for form in formset.forms:
            instance = form.instance
            if formset.can_delete and formset._should_delete_form(form):
                if instance.pk is not None:
                    rows.removed_ids.append(instance.pk)
                    formset.deleted_objects.append(instance)
                continue
            if not form.cleaned_data:
                continue  # an extra row left empty
            data = {name: value for name, value in form.cleaned_data.items() if name not in ("id", "DELETE")}
            data.pop(formset.fk.name, None)
            if instance.pk is not None:
                if matched_by_id:
                    data["id"] = instance.pk
                if form.has_changed():
                    formset.changed_objects.append((instance, form.changed_data))
            else:
                formset.new_objects.append(instance)
            rows.kept.append(data)
    return rows


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


@admin.register(Household)
class HouseholdAdmin(HouseholdHistoryAdminMixin, ScopedAdminMixin, PersonalDataAdminMixin, SimpleHistoryAdmin):
    inlines = (MemberInline, IncomeRecordInline)
    list_display = (
        "household_number",
        "village",
        "township",
        "county",
        "head_name",
        "head_id_number",
        "status",
        "attribute",
        "primary_cause",
    )
    list_select_related = ("village__township", "village__county")
    list_filter = (
        *geography_filters("village"),
        "status",
        "attribute",
        "primary_cause",
    )
    # Declared for the search box and autocomplete; the search itself is household_search (no duplicates).
    search_fields = ("household_number", "members__name", "members__id_number")
    search_help_text = "按户编号、家庭成员姓名或身份证号搜索（身份证号可只输入后几位）"
    list_per_page = 50
    show_full_result_count = False  # a second COUNT over the whole register on every filtered page
    autocomplete_fields = ("village",)
    readonly_fields = ("created_at", "updated_at")
    masked_fields = {"phone": "phone_masked"}
    read_only_display = {"other_causes": "other_causes_display"}
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

    def get_readonly_fields(self, request, obj=None):
        # Status and years are given once, at registration; afterwards only decisions change them (DOMAIN.md §5).
        decided = Household.DECIDED_FIELDS if obj is not None else ()
        return (*super().get_readonly_fields(request, obj), *decided)

    def get_queryset(self, request):
        # The head of every listed household in the list's own query.
        return with_head(super().get_queryset(request), id_number=True)

    # --- writes: the household with its members and incomes through the services, all or nothing ----------

    def save_model(self, request, obj, form, change):
        """Nothing yet: ``save_related`` writes the household with its members and incomes in one service call."""

    def save_related(self, request, form, formsets, change):
        members = _inline_rows(formsets, Member, matched_by_id=True)
        incomes = _inline_rows(formsets, IncomeRecord, matched_by_id=False)  # one record a year: by year
        household = self.write_household(
            request,
            household=form.instance if change else None,
            fields=dict(form.cleaned_data),
            members=members.kept,
            incomes=incomes.kept,
            remove_members=members.removed_ids,
        )
        # The admin's redirect and its log entry read the object it passed to save_model.
        form.instance.pk = household.pk
        form.instance._state.adding = False

    def write_household(
        self, request, *, household: Household | None, fields: dict, members, incomes, remove_members=()
    ) -> Household:
        """Create (``household`` None) or replace a household with its members and incomes through the services,
        then check, inside the admin's transaction, that it is still in the user's jurisdiction."""
        try:
            if household is not None:
                household = services.household_replace(
                    user=request.user,
                    household=household,
                    members=members,
                    incomes=incomes,
                    remove_members=remove_members,
                    **fields,
                )
            else:
                fields = dict(fields)
                household = services.household_create(
                    user=request.user,
                    village=fields.pop("village"),
                    members=members,
                    incomes=incomes,
                    source="form",
                    **fields,
                )
        except ValidationError as exc:
            raise HouseholdWriteRefused(exc) from exc
        self.ensure_in_scope(request, household)
        return household

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except HouseholdWriteRefused as refused:
            # The forms passed the same rules (households.rules, full_clean) before the write, so this is rare
            # (a concurrent change): nothing was saved; say why and show the page again.
            for message in refused.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request, obj):
        services.household_delete(user=request.user, household=obj)

    def delete_queryset(self, request, queryset):
        for household in queryset:
            services.household_delete(user=request.user, household=household)

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
