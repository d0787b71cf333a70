"""The one FilterSet for households, shared by the admin list, the HTML lists and the API (GUIDE.md).

Place filters come in two spellings, after NetBox: ``county_id``/``township_id``/``village_id`` take
primary keys, ``county``/``township``/``village`` take the national administrative-division codes
(DOMAIN.md §1). A ``*_id`` naming a place outside the user's jurisdiction and one naming no place at all both
answer an empty list: the filters do not tell which places exist. ``q`` is the free-text search of
:func:`household_search`, bounded: at most ``MAX_SEARCH_WORDS`` words of at least ``MIN_SEARCH_WORD_LENGTH``
characters each (a longer list is refused with 400 naming ``q``), so that no query costs one subquery per word of
a pasted page. The bound holds for ID-number fragments too: the last two digits are the shortest accepted.
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from households import choices
from households.models import Household, IncomeRecord, Member
from villages.filtersets import MAX_ID, IdFilter, YearFilter
from villages.models import County, Township, Village

ID_NUMBER_LENGTH = 18
# A search word made only of digits (possibly ending in X) is part of an ID number or household number;
# anything else (a Chinese name) is looked for among member names.
_ID_LIKE = re.compile(r"^[0-9]+[Xx]?$")
MAX_SEARCH_WORDS = 10
MIN_SEARCH_WORD_LENGTH = 2
MAX_SEARCH_LENGTH = 200


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
    for word in _search_words(text)[:MAX_SEARCH_WORDS]:  # the filterset refuses more; other callers are cut
        queryset = queryset.filter(_word_condition(word))
    return queryset


class SearchField(forms.CharField):
    """A bounded free-text search: refused (with the reason, in Chinese) rather than run as a costly query."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", MAX_SEARCH_LENGTH)
        super().__init__(*args, **kwargs)

    def validate(self, value):
        super().validate(value)
        words = _search_words(value)
        if len(words) > MAX_SEARCH_WORDS:
            raise forms.ValidationError(
                f"搜索词最多{MAX_SEARCH_WORDS}个（本次{len(words)}个），请减少搜索词。", code="too_many_words"
            )
        short = [word for word in words if len(word) < MIN_SEARCH_WORD_LENGTH]
        if short:
            raise forms.ValidationError(
                f"每个搜索词至少{MIN_SEARCH_WORD_LENGTH}个字符（身份证号可输入后几位）：{'、'.join(short)}。",
                code="word_too_short",
            )


class SearchFilter(django_filters.CharFilter):
    field_class = SearchField


class PlaceIdsField(forms.Field):
    """Primary keys of places, repeatable (``?village_id=3&village_id=7``), checked as numbers only: whether the
    place exists is not told (a missing one simply matches nothing, as one outside the jurisdiction does)."""

    widget = forms.SelectMultiple
    default_error_messages = {"invalid": "“%(value)s”不是有效的ID。"}

    def to_python(self, value) -> list[int]:
        if value in self.empty_values:
            return []
        values = value if isinstance(value, (list, tuple)) else [value]
        numbers = []
        for item in values:
            try:
                number = int(str(item).strip())
            except ValueError:
                number = 0
            if not 0 < number <= MAX_ID:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={"value": item})
            numbers.append(number)
        return numbers


class PlaceIdsFilter(django_filters.Filter):
    field_class = PlaceIdsField

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class HouseholdFilterSet(django_filters.FilterSet):
    q = SearchFilter(method="filter_q", label="搜索（户编号、成员姓名或身份证号）")
    county_id = PlaceIdsFilter(field_name="village__county", label="县（市、区）ID")
    county = django_filters.ModelMultipleChoiceFilter(
        field_name="village__county__code", queryset=County.objects.all(), to_field_name="code", label="县级代码"
    )
    township_id = PlaceIdsFilter(field_name="village__township", label="乡（镇、街道）ID")
    township = django_filters.ModelMultipleChoiceFilter(
        field_name="village__township__code", queryset=Township.objects.all(), to_field_name="code", label="乡镇代码"
    )
    village_id = PlaceIdsFilter(field_name="village", label="行政村（社区）ID")
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

    def filter_queryset(self, queryset: QuerySet[Household]) -> QuerySet[Household]:
        """A refused search finds nothing (its message is in ``errors["q"]``), not every household: the API
        answers 400 before this; a page shows an empty list and, where it renders them, the errors."""
        if "q" in self.form.errors:
            return queryset.none()
        return super().filter_queryset(queryset)


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
    q = SearchFilter(method="filter_q", label="搜索（姓名或身份证号）")
    relation = django_filters.MultipleChoiceFilter(choices=choices.Relation.choices, label="与户主关系")
    health = django_filters.MultipleChoiceFilter(choices=choices.Health.choices, label="健康状况")
    school_status = django_filters.MultipleChoiceFilter(choices=choices.SchoolStatus.choices, label="在校生状况")
    is_active = django_filters.BooleanFilter(label="是否在户")

    class Meta:
        model = Member
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        for word in _search_words(value)[:MAX_SEARCH_WORDS]:
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
