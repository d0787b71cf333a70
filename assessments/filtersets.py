"""One FilterSet per model of the assessments app: poverty lines (DOMAIN.md §3) and assessments (§4); and the
assessment filters of the household list (``eligible``, ``failing``), which this app adds to the households'."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from assessments.models import Assessment, LineKind, PovertyLine
from assessments.rules import CRITERIA
from assessments.selectors import current_assessment_year
from households.filtersets import HouseholdPlaceFilterSet
from villages.filtersets import YearFilter


class PovertyLineFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（地区名称、地区代码或来源）")
    year = YearFilter(label="年度")
    kind = django_filters.ChoiceFilter(choices=LineKind.choices, label="类别")
    region_code = django_filters.CharFilter(label="适用地区代码（空为全国）")
    verified = django_filters.BooleanFilter(label="已核实")

    class Meta:
        model = PovertyLine
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for word in value.split():
            queryset = queryset.filter(
                Q(region_name__icontains=word) | Q(region_code__startswith=word) | Q(source__icontains=word)
            )
        return queryset


class AssessmentFilterSet(HouseholdPlaceFilterSet):
    """Assessments are append-only (a recompute adds a row): without ``is_current`` or ``all=true`` only the
    current row of each household and year is listed."""

    year = YearFilter(label="评估年度")
    eligible = django_filters.BooleanFilter(label="达到退出标准")
    failing = django_filters.ChoiceFilter(
        method="filter_failing", choices=[(c, c) for c in CRITERIA], label="未达标指标"
    )
    is_current = django_filters.BooleanFilter(label="最新结果（默认只列最新结果）")
    all = django_filters.BooleanFilter(method="filter_all", label="包括历次评估（不限最新结果）")

    class Meta:
        model = Assessment
        fields: list[str] = []

    def filter_failing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**{f"{value}_passed": False})

    def filter_all(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset  # read in filter_queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if data.get("is_current") is None and not data.get("all"):
            queryset = queryset.filter(is_current=True)
        return queryset


class AssessmentFilterMixin(django_filters.FilterSet):
    """Filter households by the latest assessment of a year (DOMAIN.md §4): ``eligible`` and ``failing`` (a
    criterion); ``year`` defaults to the current assessment year."""

    year = YearFilter(method="filter_noop", label="评估年度")
    eligible = django_filters.BooleanFilter(method="filter_eligible", label="达到退出标准")
    failing = django_filters.ChoiceFilter(
        method="filter_failing",
        choices=[(c, c) for c in ("income", "food", "clothing", "education", "medical", "housing", "water")],
        label="未达标指标",
    )

    def filter_noop(self, queryset, name, value):
        return queryset

    def _assessments(self):
        year = self.form.cleaned_data.get("year") or current_assessment_year()
        return Assessment.objects.filter(household_id=OuterRef("pk"), year=year, is_current=True)

    def filter_eligible(self, queryset, name, value):
        return queryset.filter(Exists(self._assessments().filter(eligible=value)))

    def filter_failing(self, queryset, name, value):
        return queryset.filter(Exists(self._assessments().filter(**{f"{value}_passed": False})))
