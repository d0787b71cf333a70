"""The exit checks of the places (DOMAIN.md §6) plugged into the administrative tree's API.

``villages`` serves the plain tree; the checks need the households and their assessments, which lie above it,
so this module extends the villages' viewsets and serializers with ``exit_check`` (counties, villages) and
``incidence`` (townships), and ``AssessmentsConfig.ready()`` registers the extended viewsets in their place.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from assessments.selectors import (
    ExitCheck,
    county_exit_check,
    township_incidence,
    village_exit_check,
    village_exit_checks,
)
from villages.api import serializers as place_serializers
from villages.api import views as place_views
from villages.models import County, Township, Village


class IncidenceSerializer(serializers.Serializer):
    """贫困发生率 = people in households in poverty or returned ÷ registered population (DOMAIN.md §6)."""

    incidence = serializers.CharField(
        source="incidence_percent", help_text="贫困发生率（百分数，如“1.50%”）；户籍人口为0时为“—”"
    )
    poor_people = serializers.IntegerField(help_text="未脱贫及返贫户的在户人口")
    registered_population = serializers.IntegerField(help_text="户籍人口")


class ExitCheckSerializer(IncidenceSerializer):
    """Whether a village (出列) or county (摘帽) meets the exit standard, and what is still missing."""

    eligible = serializers.BooleanField(help_text="是否达到退出标准")
    missing = serializers.ListField(child=serializers.CharField(), help_text="尚未达到的条件")


class CountyDetailSerializer(place_serializers.CountySerializer):
    exit_check = serializers.SerializerMethodField(help_text="贫困县摘帽条件检查")

    class Meta(place_serializers.CountySerializer.Meta):
        fields = (*place_serializers.COUNTY_FIELDS, "exit_check")

    @extend_schema_field(ExitCheckSerializer)
    def get_exit_check(self, county: County):
        return ExitCheckSerializer(county_exit_check(county)).data


class TownshipDetailSerializer(place_serializers.TownshipSerializer):
    incidence = serializers.SerializerMethodField(help_text="全乡镇贫困发生率")

    class Meta(place_serializers.TownshipSerializer.Meta):
        fields = (*place_serializers.TOWNSHIP_FIELDS, "incidence")

    @extend_schema_field(IncidenceSerializer)
    def get_incidence(self, township: Township):
        return IncidenceSerializer(township_incidence(township)).data


class VillageExitCheckMixin(serializers.Serializer):
    exit_check = serializers.SerializerMethodField(help_text="贫困村出列条件检查")

    @extend_schema_field(ExitCheckSerializer)
    def get_exit_check(self, village: Village):
        # The list view computes the checks of a whole page in one aggregate query (village_exit_checks).
        checks: dict[int, ExitCheck] = self.context.get("exit_checks") or {}
        check = checks.get(village.pk) or village_exit_check(village)
        return ExitCheckSerializer(check).data


class VillageSerializer(VillageExitCheckMixin, place_serializers.VillageSerializer):
    """A village with its exit check. On update only the exit indicators, population, collective income,
    poverty-village flag and exit year change; a different code, name or township is refused."""

    class Meta(place_serializers.VillageSerializer.Meta):
        fields = (*place_serializers.VILLAGE_FIELDS, "exit_check")


class VillageCreateSerializer(VillageExitCheckMixin, place_serializers.VillageCreateSerializer):
    """Creating a village (superusers: the national code list is loaded, not typed in)."""

    class Meta(place_serializers.VillageCreateSerializer.Meta):
        fields = (*place_serializers.VILLAGE_FIELDS, "exit_check")


class CountyViewSet(place_views.CountyViewSet):
    """县（市、区）。详情含贫困县摘帽条件检查（exit_check）。只有市级管理员可以新增或修改。"""

    def get_serializer_class(self):
        # The county exit check costs a few aggregate queries: on the detail only.
        if self.action == "list":
            return place_serializers.CountySerializer
        return CountyDetailSerializer


class TownshipViewSet(place_views.TownshipViewSet):
    """乡（镇、街道）。详情含全乡镇贫困发生率（incidence）。只有市级管理员可以新增或修改。"""

    def get_serializer_class(self):
        if self.action == "list":
            return place_serializers.TownshipSerializer
        return TownshipDetailSerializer


class VillageViewSet(place_views.VillageViewSet):
    """行政村（社区），含贫困村出列条件检查（exit_check）。县扶贫办可修改本县各村的出列指标、户籍人口、
    村集体经济收入、是否贫困村和出列年份；村代码、名称和所属乡镇不能在此修改。"""

    def get_serializer_class(self):
        if self.action == "create":
            return VillageCreateSerializer
        return VillageSerializer

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        villages = page if page is not None else list(queryset)
        # One aggregate query for the whole page instead of one per village.
        context = {**self.get_serializer_context(), "exit_checks": village_exit_checks(villages)}
        data = self.get_serializer_class()(villages, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)
