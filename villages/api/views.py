"""API of the administrative tree: counties, townships and villages in the user's jurisdiction (with their
ancestors, for navigation), DOMAIN.md §1. ``assessments.api.places`` extends these viewsets with the village and
county exit checks and township incidence (§6) and registers the extended ones."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from povertycase.api.base import LIMITED_METHOD_PERMISSIONS, NO_DELETE, ScopedViewSetMixin
from villages.api import serializers
from villages.filtersets import CountyFilterSet, TownshipFilterSet, VillageFilterSet
from villages.models import County, Township, Village


class CountyViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """县（市、区）。只有市级管理员可以新增或修改。"""

    queryset = County.objects.order_by("code")
    filter_backends = [DjangoFilterBackend]
    filterset_class = CountyFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS
    serializer_class = serializers.CountySerializer


class TownshipViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """乡（镇、街道）。只有市级管理员可以新增或修改。"""

    queryset = Township.objects.select_related("county").order_by("code")
    filter_backends = [DjangoFilterBackend]
    filterset_class = TownshipFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS
    serializer_class = serializers.TownshipSerializer


class VillageViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """行政村（社区）。县扶贫办可修改本县各村的出列指标、户籍人口、
    村集体经济收入、是否贫困村和出列年份；村代码、名称和所属乡镇不能在此修改。"""

    queryset = Village.objects.select_related("township", "county").order_by("code")
    filter_backends = [DjangoFilterBackend]
    filterset_class = VillageFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.VillageCreateSerializer
        return serializers.VillageSerializer
