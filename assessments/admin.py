"""Back office for the poverty lines (扶贫标准, DOMAIN.md §3) and the exit assessments (§4).

Also home of what the household admin borrows from the assessments: the list filters "达到退出标准" and
"未达标指标" for the current assessment year (EXISTS subqueries on the current assessment, so a list page
costs one query whatever the filter), the rendering of an assessment criterion by criterion, and the
"立即重新评估" action.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from assessments import selectors, services, store
from assessments.models import Assessment, PovertyLine
from assessments.rules import CRITERIA, CRITERION_LABELS, WARNING_LABELS
from povertycase.admin_scoping import ReadOnlyAdminMixin, ScopedAdminMixin
from villages.admin import geography_filters


def assessment_year(request) -> int:
    """The current assessment year (``selectors.current_assessment_year``), read once per request."""
    year = getattr(request, "_current_assessment_year", None)
    if year is None:
        year = request._current_assessment_year = selectors.current_assessment_year()
    return year


# ---------------------------------------------------------------------------------------------------------
# Showing an assessment


def assessment_context(assessment: Assessment) -> dict:
    """An assessment as the template shows it: every criterion with its Chinese label, ✓/✗ and message."""
    return {
        "assessment": assessment,
        "criteria": [
            {**result, "label": CRITERION_LABELS.get(result["criterion"], result["criterion"])}
            for result in assessment.criteria
        ],
        "warnings": [
            {**warning, "label": WARNING_LABELS.get(warning["code"], warning["code"])}
            for warning in assessment.warnings
        ],
    }


def render_assessments(assessments: list[Assessment], *, current_year: int | None = None) -> str:
    """The household page's section: the current year's assessment first (or a note that there is none),
    then the other years that have one."""
    assessments = sorted(assessments, key=lambda a: (a.year != current_year, -a.year))
    return render_to_string(
        "admin/assessments/assessment_summary.html",
        {
            "assessments": [assessment_context(a) for a in assessments],
            "current_year": current_year,
            "current_missing": current_year is not None and all(a.year != current_year for a in assessments),
        },
    )


# ---------------------------------------------------------------------------------------------------------
# Filters of the household list, for the current assessment year


def _current_assessments(request, household_path: str = "pk") -> QuerySet[Assessment]:
    return Assessment.objects.filter(
        household_id=OuterRef(household_path), year=assessment_year(request), is_current=True
    )


class HouseholdEligibleFilter(admin.SimpleListFilter):
    """达到退出标准 (是 / 否 / 未评估) in the current assessment year."""

    title = "达到退出标准"
    parameter_name = "eligible"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.title = f"达到退出标准（{assessment_year(request)}年）"

    def lookups(self, request, model_admin):
        return [("yes", "是"), ("no", "否"), ("none", "未评估")]

    def queryset(self, request, queryset):
        current = _current_assessments(request)
        match self.value():
            case None:
                return queryset
            case "yes":
                return queryset.filter(Exists(current.filter(eligible=True)))
            case "no":
                return queryset.filter(Exists(current.filter(eligible=False)))
            case "none":
                return queryset.filter(~Exists(current))
        return queryset.none()


class HouseholdFailingCriterionFilter(admin.SimpleListFilter):
    """未达标指标: households whose current assessment of the current year fails the chosen criterion."""

    title = "未达标指标"
    parameter_name = "failing"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.title = f"未达标指标（{assessment_year(request)}年）"

    def lookups(self, request, model_admin):
        return [(criterion, CRITERION_LABELS[criterion]) for criterion in CRITERIA]

    def queryset(self, request, queryset):
        criterion = self.value()
        if criterion is None:
            return queryset
        if criterion not in CRITERIA:
            return queryset.none()
        return queryset.filter(Exists(_current_assessments(request).filter(**{f"{criterion}_passed": False})))


class AssessmentFailingCriterionFilter(admin.SimpleListFilter):
    """未达标指标 on the assessment list itself."""

    title = "未达标指标"
    parameter_name = "failing"

    def lookups(self, request, model_admin):
        return [(criterion, CRITERION_LABELS[criterion]) for criterion in CRITERIA]

    def queryset(self, request, queryset):
        criterion = self.value()
        if criterion is None:
            return queryset
        if criterion not in CRITERIA:
            return queryset.none()
        return queryset.filter(**{f"{criterion}_passed": False})


# ---------------------------------------------------------------------------------------------------------
# The "recompute now" action of the household list


@admin.action(description="立即重新评估（当前评估年度）", permissions=["change"])
def recompute_now(modeladmin, request, queryset) -> None:
    """Recompute the selected households' assessments for the current assessment year, in one transaction
    (the batch path of ``assessments.services``), and say how many were assessed, changed and eligible."""
    year = assessment_year(request)
    household_ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    summary = store.RecomputeSummary()
    with transaction.atomic():
        for start in range(0, len(household_ids), selectors.PYTHON_PAGE_SIZE):
            page = household_ids[start : start + selectors.PYTHON_PAGE_SIZE]
            summary.add(services.assess_households(household_ids=page, year=year))
    skipped = len(household_ids) - summary.assessed
    text = (
        f"已按{year}年标准重新评估{summary.assessed}户：{summary.changed}户评估结果有变化，"
        f"{summary.eligible}户达到退出标准，{summary.assessed - summary.eligible}户未达标。"
    )
    if skipped:
        text += f"另有{skipped}户不参与{year}年评估（已剔除，或识别年度晚于{year}年）。"
    modeladmin.message_user(request, text, messages.SUCCESS)


# ---------------------------------------------------------------------------------------------------------
# Admins


@admin.register(PovertyLine)
class PovertyLineAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ("year", "kind", "region_code", "region_name", "amount", "verified", "source")
    list_display_links = ("year", "kind")
    list_filter = ("kind", "verified", "year")
    search_fields = ("region_code", "region_name", "source")
    search_help_text = "按地区代码、地区名称或来源搜索"
    actions = ("mark_verified",)
    fieldsets = (
        ("标准", {"fields": ("year", "kind", "amount")}),
        ("适用地区", {"fields": ("region_code", "region_name")}),
        ("来源与核实", {"fields": ("source", "verified")}),
    )

    @admin.action(description="将所选标准标记为已核实", permissions=["change"])
    def mark_verified(self, request, queryset) -> None:
        # Saved one by one (a handful of rows) so that each change is recorded with the user in the history.
        changed = 0
        for line in queryset.filter(verified=False):
            line.verified = True
            line._history_user = request.user
            line.save(update_fields=["verified"])
            changed += 1
        self.message_user(request, f"已将{changed}条标准标记为已核实。", messages.SUCCESS)


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: assessments are written by the eligibility engine only (on change, nightly, on demand)."""

    list_display = (
        "household_display",
        "year",
        "eligible",
        "failing_display",
        "warnings_display",
        "per_capita_net_income",
        "poverty_line",
        "is_current",
        "computed_at",
    )
    list_select_related = ("household",)
    list_filter = (
        "year",
        "eligible",
        AssessmentFailingCriterionFilter,
        "is_current",
        *geography_filters("household__village"),
    )
    search_fields = ("household__household_number",)
    search_help_text = "按户编号搜索"
    list_per_page = 50
    show_full_result_count = False
    fields = (
        "household_display",
        "year",
        "is_current",
        "criteria_display",
        "household_size",
        "rules_version",
        "computed_at",
    )
    readonly_fields = fields

    @admin.display(description="贫困户", ordering="household__household_number")
    def household_display(self, obj: Assessment) -> str:
        url = reverse("admin:households_household_change", args=[obj.household_id])
        return format_html('<a href="{}">{}</a>', url, obj.household.household_number)

    @admin.display(description="未达标指标")
    def failing_display(self, obj: Assessment) -> str:
        return "、".join(CRITERION_LABELS.get(c, c) for c in obj.failed_criteria) or "-"

    @admin.display(description="预警")
    def warnings_display(self, obj: Assessment) -> str:
        return "、".join(WARNING_LABELS.get(c, c) for c in obj.warning_codes) or "-"

    @admin.display(description="评估结果")
    def criteria_display(self, obj: Assessment) -> str:
        return render_assessments([obj])
