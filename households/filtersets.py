"""The one FilterSet for households, shared by the admin list, the HTML lists and the API (GUIDE.md).

Place filters come in two spellings, after NetBox: ``county_id``/``township_id``/``village_id`` take
primary keys, ``county``/``township``/``village`` take the national administrative-division codes
(DOMAIN.md §1). ``q`` is the free-text search of :func:`household_search`.
"""

from __future__ import annotations

import re

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from households import choices
from households.models import Household, IncomeRecord, Member
from villages.filtersets import IdFilter, IdMultipleChoiceFilter, YearFilter
from villages.models import County, Township, Village

ID_NUMBER_LENGTH = 18
# A search word made only of digits (possibly ending in X) is part of an ID number or household number;
# anything else (a Chinese name) is looked for among member names.
_ID_LIKE = re.compile(r"^[0-9]+[Xx]?$")


def _search_words(text: str) -> list[str]:
    words = []
    for word in smart_split(text or ""):
        if word[:1] in "\"'" and word[-1:] == word[:1] and len(word) > 1:
            word = unescape_string_literal(word)
        if word := word.strip():
            words.append(word)
    return words


def _word_condition(word: str) -> Q:
    members = Member.objects.filter(household_id=OuterRef("pk"))
    condition = Q(household_number__icontains=word)
    if _ID_LIKE.match(word):
        number = word.upper()
        # A whole ID number uses the index; a fragment (e.g. the last four digits) is a substring match.
        id_match = Q(id_number=number) if len(number) == ID_NUMBER_LENGTH else Q(id_number__contains=number)
        return condition | Q(Exists(members.filter(id_match)))
    return condition | Q(Exists(members.filter(name__icontains=word)))


def household_search(queryset: QuerySet[Household], text: str) -> QuerySet[Household]:
    """Households whose number, or a member's name or ID number, matches every word of ``text``.

    Members are matched through EXISTS subqueries, so a household appears once however many of its
    members match, and no DISTINCT over the whole register is needed. All members count, including those
    who have left, so that a clerk can find where a person is or was registered.
    """
    for word in _search_words(text):
        queryset = queryset.filter(_word_condition(word))
    return queryset


class HouseholdFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（户编号、成员姓名或身份证号）")
    county_id = IdMultipleChoiceFilter(
        field_name="village__county", queryset=County.objects.all(), label="县（市、区）ID"
    )
    county = django_filters.ModelMultipleChoiceFilter(
        field_name="village__county__code", queryset=County.objects.all(), to_field_name="code", label="县级代码"
    )
    township_id = IdMultipleChoiceFilter(
        field_name="village__township", queryset=Township.objects.all(), label="乡（镇、街道）ID"
    )
    township = django_filters.ModelMultipleChoiceFilter(
        field_name="village__township__code", queryset=Township.objects.all(), to_field_name="code", label="乡镇代码"
    )
    village_id = IdMultipleChoiceFilter(field_name="village", queryset=Village.objects.all(), label="行政村（社区）ID")
    village = django_filters.ModelMultipleChoiceFilter(
        field_name="village__code", queryset=Village.objects.all(), to_field_name="code", label="村代码"
    )
    status = django_filters.MultipleChoiceFilter(choices=choices.HouseholdStatus.choices, label="户状态")
    attribute = django_filters.MultipleChoiceFilter(choices=choices.Attribute.choices, label="贫困户属性")
    primary_cause = django_filters.MultipleChoiceFilter(choices=choices.Cause.choices, label="主要致贫原因")

    class Meta:
        model = Household
        fields: list[str] = []  # every filter is declared above

    def filter_q(self, queryset: QuerySet[Household], name: str, value: str) -> QuerySet[Household]:
        return household_search(queryset, value)


class HouseholdPlaceFilterSet(django_filters.FilterSet):
    """The household a row belongs to, and that household's place (codes or primary keys): the filters of
    every model that hangs under a household (members, incomes, assessments, measures, visits, loans …)."""

    household = IdFilter(field_name="household_id", label="户ID")
    household_id = IdFilter(field_name="household_id", label="户ID")
    county = django_filters.CharFilter(field_name="household__village__county__code", label="县级代码")
    county_id = IdFilter(field_name="household__village__county_id", label="县ID")
    township = django_filters.CharFilter(field_name="household__village__township__code", label="乡镇代码")
    township_id = IdFilter(field_name="household__village__township_id", label="乡镇ID")
    village = django_filters.CharFilter(field_name="household__village__code", label="村代码")
    village_id = IdFilter(field_name="household__village_id", label="村ID")


class MemberFilterSet(HouseholdPlaceFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（姓名或身份证号）")
    relation = django_filters.MultipleChoiceFilter(choices=choices.Relation.choices, label="与户主关系")
    health = django_filters.MultipleChoiceFilter(choices=choices.Health.choices, label="健康状况")
    school_status = django_filters.MultipleChoiceFilter(choices=choices.SchoolStatus.choices, label="在校生状况")
    is_active = django_filters.BooleanFilter(label="是否在户")

    class Meta:
        model = Member
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        for word in _search_words(value):
            if _ID_LIKE.match(word):
                number = word.upper()
                lookup = "id_number" if len(number) == ID_NUMBER_LENGTH else "id_number__contains"
                queryset = queryset.filter(**{lookup: number})
            else:
                queryset = queryset.filter(name__icontains=word)
        return queryset


class IncomeRecordFilterSet(HouseholdPlaceFilterSet):
    year = YearFilter(label="年度")

    class Meta:
        model = IncomeRecord
        fields: list[str] = []
