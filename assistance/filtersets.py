"""One FilterSet per model of the assistance app (DOMAIN.md §7): units, cadres, role assignments, helper
(household) assignments, measures, visits and micro-loans. Place filters: ``county``/``township``/``village``
take codes, ``<level>_id`` primary keys."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from assistance.choices import (
    BorrowerKind,
    LoanStatus,
    MeasureCategory,
    MeasureStatus,
    Role,
    UnitLevel,
    WarningLevel,
)
from assistance.models import Cadre, HouseholdAssignment, HouseholdMeasure, MicroLoan, RoleAssignment, Unit, Visit
from households.filtersets import HouseholdPlaceFilterSet
from villages.filtersets import IdFilter, YearFilter


def _active_q(prefix: str = "") -> Q:
    today = timezone.localdate()
    return Q(**{f"{prefix}starts_on__lte": today}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": today})
    )


def _assignment_place_q(level: str, lookup: str, value) -> Q:
    """Role assignments placed at or under a place: a county covers its townships' and villages' roles."""
    if level == "county":
        return (
            Q(**{f"county__{lookup}": value})
            | Q(**{f"township__county__{lookup}": value})
            | Q(**{f"village__county__{lookup}": value})
        )
    if level == "township":
        return Q(**{f"township__{lookup}": value}) | Q(**{f"village__township__{lookup}": value})
    return Q(**{f"village__{lookup}": value})


def search_words(queryset: QuerySet, text: str, *lookups: str) -> QuerySet:
    """Rows where every word of ``text`` matches at least one of ``lookups`` (e.g. ``name__icontains``)."""
    for word in (text or "").split():
        condition = Q()
        for lookup in lookups:
            condition |= Q(**{lookup: word})
        queryset = queryset.filter(condition)
    return queryset


class ActiveFilterMixin(django_filters.FilterSet):
    active = django_filters.BooleanFilter(method="filter_active", label="今日在岗")

    def filter_active(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(_active_q()) if value else queryset.exclude(_active_q())


class UnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="搜索（单位名称）")
    level = django_filters.MultipleChoiceFilter(choices=UnitLevel.choices, label="单位层级")

    class Meta:
        model = Unit
        fields: list[str] = []


class RoleAssignmentFilterSet(ActiveFilterMixin):
    q = django_filters.CharFilter(field_name="cadre__name", lookup_expr="icontains", label="搜索（干部姓名）")
    cadre = IdFilter(field_name="cadre_id", label="干部ID")
    cadre_id = IdFilter(field_name="cadre_id", label="干部ID")
    role = django_filters.MultipleChoiceFilter(choices=Role.choices, label="角色")
    county = django_filters.CharFilter(method="filter_place", label="县级代码（含所属乡镇、村的角色）")
    county_id = IdFilter(method="filter_place", label="县ID（含所属乡镇、村的角色）")
    township = django_filters.CharFilter(method="filter_place", label="乡镇代码（含所属村的角色）")
    township_id = IdFilter(method="filter_place", label="乡镇ID（含所属村的角色）")
    village = django_filters.CharFilter(method="filter_place", label="村代码")
    village_id = IdFilter(method="filter_place", label="村ID")

    class Meta:
        model = RoleAssignment
        fields: list[str] = []

    def filter_place(self, queryset: QuerySet, name: str, value) -> QuerySet:
        level, _, suffix = name.partition("_")
        return queryset.filter(_assignment_place_q(level, "id" if suffix else "code", value))


class CadreFilterSet(django_filters.FilterSet):
    """Cadres by name, unit, and by the roles they hold today (and where)."""

    q = django_filters.CharFilter(method="filter_q", label="搜索（姓名、登录名或单位）")
    unit = IdFilter(field_name="unit_id", label="帮扶单位ID")
    unit_id = IdFilter(field_name="unit_id", label="帮扶单位ID")
    role = django_filters.MultipleChoiceFilter(choices=Role.choices, method="filter_role", label="今日在岗的角色")
    county = django_filters.CharFilter(method="filter_place", label="县级代码（在该县有在岗角色）")
    county_id = IdFilter(method="filter_place", label="县ID（在该县有在岗角色）")
    township = django_filters.CharFilter(method="filter_place", label="乡镇代码（在该乡镇有在岗角色）")
    township_id = IdFilter(method="filter_place", label="乡镇ID（在该乡镇有在岗角色）")
    village = django_filters.CharFilter(method="filter_place", label="村代码（在该村有在岗角色）")
    village_id = IdFilter(method="filter_place", label="村ID（在该村有在岗角色）")

    class Meta:
        model = Cadre
        fields: list[str] = []

    def _roles(self):
        return RoleAssignment.objects.filter(_active_q(), cadre_id=OuterRef("pk"))

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(queryset, value, "name__icontains", "user__username__icontains", "unit__name__icontains")

    def filter_role(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return queryset.filter(Exists(self._roles().filter(role__in=value))) if value else queryset

    def filter_place(self, queryset: QuerySet, name: str, value) -> QuerySet:
        level, _, suffix = name.partition("_")
        return queryset.filter(
            Exists(self._roles().filter(_assignment_place_q(level, "id" if suffix else "code", value)))
        )


class HouseholdAssignmentFilterSet(ActiveFilterMixin, HouseholdPlaceFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（帮扶责任人姓名或户编号）")
    cadre = IdFilter(field_name="cadre_id", label="帮扶责任人（干部）ID")
    cadre_id = IdFilter(field_name="cadre_id", label="帮扶责任人（干部）ID")

    class Meta:
        model = HouseholdAssignment
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(queryset, value, "cadre__name__icontains", "household__household_number__contains")


# --- measures, visits and micro-loans (DOMAIN.md §7) -------------------------------------------------------


class HouseholdMeasureFilterSet(HouseholdPlaceFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（措施内容或户编号）")
    year = YearFilter(label="年度")
    category = django_filters.MultipleChoiceFilter(choices=MeasureCategory.choices, label="措施类别")
    status = django_filters.MultipleChoiceFilter(choices=MeasureStatus.choices, label="状态")
    cadre = IdFilter(field_name="cadre_id", label="责任人（干部）ID")
    cadre_id = IdFilter(field_name="cadre_id", label="责任人（干部）ID")

    class Meta:
        model = HouseholdMeasure
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(queryset, value, "description__icontains", "household__household_number__contains")


class VisitFilterSet(HouseholdPlaceFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（走访目的、情况、问题或户编号）")
    year = YearFilter(field_name="visited_on", lookup_expr="year", label="走访年度")
    visited_after = django_filters.DateFilter(field_name="visited_on", lookup_expr="gte", label="走访日期不早于")
    visited_before = django_filters.DateFilter(field_name="visited_on", lookup_expr="lte", label="走访日期不晚于")
    cadre = IdFilter(field_name="cadre_id", label="走访人（干部）ID")
    cadre_id = IdFilter(field_name="cadre_id", label="走访人（干部）ID")

    class Meta:
        model = Visit
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(
            queryset,
            value,
            "purpose__icontains",
            "findings__icontains",
            "problems__icontains",
            "household__household_number__contains",
        )


class MicroLoanFilterSet(HouseholdPlaceFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（银行、带贫企业、借款人或户编号）")
    year = YearFilter(field_name="issued_on", lookup_expr="year", label="发放年度")
    status = django_filters.MultipleChoiceFilter(choices=LoanStatus.choices, label="状态")
    warning_level = django_filters.MultipleChoiceFilter(choices=WarningLevel.choices, label="到期预警")
    borrower_kind = django_filters.MultipleChoiceFilter(choices=BorrowerKind.choices, label="使用方式")
    matures_after = django_filters.DateFilter(field_name="maturity_date", lookup_expr="gte", label="到期日期不早于")
    matures_before = django_filters.DateFilter(field_name="maturity_date", lookup_expr="lte", label="到期日期不晚于")

    class Meta:
        model = MicroLoan
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(
            queryset,
            value,
            "bank__icontains",
            "enterprise_name__icontains",
            "borrower__name__icontains",
            "household__household_number__contains",
        )
