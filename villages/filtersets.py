"""One FilterSet per model of the administrative tree (DOMAIN.md §1), shared by the admin, pages and the API.

Place filters come in two spellings, as for households: ``county_id``/``township_id`` take primary keys,
``county``/``township`` the national administrative-division codes. ``q`` matches a name or a code prefix.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from villages.models import County, Township, Village

# Primary keys are 64-bit (BigAutoField): a larger number in a filter is a 400, not a database overflow.
MAX_ID = 2**63 - 1


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (NumberFilter accepts decimals such as ``1e30``)."""

    field_class = forms.IntegerField


class IdFilter(IntegerFilter):
    """A primary-key filter (``<fk>_id``): a whole number within the database's range."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class YearFilter(IntegerFilter):
    """A calendar year (2014, 2020 …)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1900)
        kwargs.setdefault("max_value", 2999)
        super().__init__(*args, **kwargs)


def place_search(queryset: QuerySet, text: str) -> QuerySet:
    """Places whose name contains, or whose code starts with, every word of ``text``."""
    for word in (text or "").split():
        queryset = queryset.filter(Q(name__icontains=word) | Q(code__startswith=word))
    return queryset


class _PlaceSearchFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索（名称或代码）")
    code = django_filters.CharFilter(label="行政区划代码")

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return place_search(queryset, value)


class CountyFilterSet(_PlaceSearchFilterSet):
    is_poverty_county = django_filters.BooleanFilter(label="扶贫开发工作重点县")
    exited = django_filters.BooleanFilter(field_name="exit_year", lookup_expr="isnull", exclude=True, label="已摘帽")

    class Meta:
        model = County
        fields: list[str] = []


class TownshipFilterSet(_PlaceSearchFilterSet):
    county = django_filters.CharFilter(field_name="county__code", label="县级代码")
    county_id = IdFilter(field_name="county_id", label="县ID")

    class Meta:
        model = Township
        fields: list[str] = []


class VillageFilterSet(_PlaceSearchFilterSet):
    county = django_filters.CharFilter(field_name="county__code", label="县级代码")
    county_id = IdFilter(field_name="county_id", label="县ID")
    township = django_filters.CharFilter(field_name="township__code", label="乡镇代码")
    township_id = IdFilter(field_name="township_id", label="乡镇ID")
    is_poverty_village = django_filters.BooleanFilter(label="建档立卡贫困村")
    exited = django_filters.BooleanFilter(field_name="exit_year", lookup_expr="isnull", exclude=True, label="已出列")
    exit_year = YearFilter(label="出列年份")

    class Meta:
        model = Village
        fields: list[str] = []


MAX_PK = MAX_ID


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses primary keys outside the database's integer range before querying (instead of a 500)."""

    def _check_values(self, value):
        if (self.to_field_name or "pk") == "pk":
            for item in value:
                try:
                    number = int(str(item))
                except ValueError:
                    continue  # the parent reports it as an invalid choice
                if not 0 < number <= MAX_PK:
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": item}
                    )
        return super()._check_values(value)


class IdMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = BoundedModelMultipleChoiceField
