"""The exit assessments (DOMAIN.md §4) plugged into the household back office.

``households.admin`` serves the household file; this module extends its household page with the assessments
criterion by criterion, and its list with the current year's verdict, the filters "达到退出标准" and
"未达标指标" and the "立即重新评估" action, then registers the extended admin in its place.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, Subquery

from assessments.admin import (
    HouseholdEligibleFilter,
    HouseholdFailingCriterionFilter,
    assessment_year,
    recompute_now,
    render_assessments,
)
from assessments.models import Assessment
from assessments.selectors import current_assessment_year
from households.admin import HouseholdAdmin
from households.models import Household

ASSESSMENT_FIELDSET = ("退出评估（两不愁三保障）", {"fields": ("assessment_summary",)})


class AssessedHouseholdAdmin(HouseholdAdmin):
    list_display = (*HouseholdAdmin.list_display[: HouseholdAdmin.list_display.index("status") + 1], "eligible_now")
    list_display += HouseholdAdmin.list_display[len(list_display) - 1 :]
    list_filter = (
        *HouseholdAdmin.list_filter[: HouseholdAdmin.list_filter.index("status") + 1],
        HouseholdEligibleFilter,
        HouseholdFailingCriterionFilter,
        *HouseholdAdmin.list_filter[HouseholdAdmin.list_filter.index("status") + 1 :],
    )
    actions = (*HouseholdAdmin.actions, recompute_now)
    readonly_fields = (*HouseholdAdmin.readonly_fields, "assessment_summary")
    # Right after the basic information, as the page's second section.
    fieldsets = (HouseholdAdmin.fieldsets[0], ASSESSMENT_FIELDSET, *HouseholdAdmin.fieldsets[1:])

    def get_queryset(self, request):
        # The current-year verdict of every listed household in the list's own query.
        current = Assessment.objects.filter(household_id=OuterRef("pk"), year=assessment_year(request), is_current=True)
        return super().get_queryset(request).annotate(eligible_now=Subquery(current.values("eligible")[:1]))

    @admin.display(description="达到退出标准", boolean=True)
    def eligible_now(self, obj: Household) -> bool | None:
        return obj.eligible_now

    @admin.display(description="退出评估")
    def assessment_summary(self, obj: Household) -> str:
        if obj.pk is None:
            return "保存后自动评估。"
        assessments = list(Assessment.objects.filter(household=obj, is_current=True))
        return render_assessments(assessments, current_year=current_assessment_year())


def register() -> None:
    admin.site.unregister(Household)
    admin.site.register(Household, AssessedHouseholdAdmin)
