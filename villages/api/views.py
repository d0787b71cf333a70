"""API of the administrative tree: counties, townships and villages in the user's jurisdiction (with their
ancestors, for navigation), the village and county exit checks and township incidence (DOMAIN.md §1, §6)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import permissions, viewsets
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.response import Response

from assessments.selectors import village_exit_checks
from assistance.jurisdiction import ensure_in_scope
from povertycase.api.base import ScopedModelPermissions, ScopedViewSetMixin
from villages.api import serializers
from villages.filtersets import CountyFilterSet, TownshipFilterSet, VillageFilterSet
from villages.models import County, Township, Village

# The tree is the national code list: places are corrected, never deleted through the API.
NO_DELETE = ["get", "post", "put", "patch", "head", "options"]


class OfferedMethodsOnly(permissions.BasePermission):
    """A method the resource does not offer (``http_method_names``) answers 405 to every signed-in user,
    instead of the 403 that the model permissions would give those who lack e.g. ``delete_<model>``."""

    def has_permission(self, request, view) -> bool:
        if request.method.lower() not in view.http_method_names:
            raise MethodNotAllowed(request.method)
        return True


# The permissions of a resource that offers only some methods (shared by the apps' viewsets).
LIMITED_METHOD_PERMISSIONS = [permissions.IsAuthenticated, OfferedMethodsOnly, ScopedModelPermissions]


class CountyViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """县（市、区）。详情含贫困县摘帽条件检查（exit_check）。只有市级管理员可以新增或修改。"""

    queryset = County.objects.order_by("code")
    filter_backends = [DjangoFilterBackend]
    filterset_class = CountyFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def get_serializer_class(self):
        # The county exit check costs a few aggregate queries: on the detail only.
        if self.action == "list":
            return serializers.CountySerializer
        return serializers.CountyDetailSerializer


class TownshipViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """乡（镇、街道）。详情含全乡镇贫困发生率（incidence）。只有市级管理员可以新增或修改。"""

    queryset = Township.objects.select_related("county").order_by("code")
    filter_backends = [DjangoFilterBackend]
    filterset_class = TownshipFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def get_serializer_class(self):
        if self.action == "list":
            return serializers.TownshipSerializer
        return serializers.TownshipDetailSerializer


class VillageViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """行政村（社区），含贫困村出列条件检查（exit_check）。县扶贫办可修改本县各村的出列指标、户籍人口、
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

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        villages = page if page is not None else list(queryset)
        # One aggregate query for the whole page instead of one per village.
        context = {**self.get_serializer_context(), "exit_checks": village_exit_checks(villages)}
        data = self.get_serializer_class()(villages, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def perform_create(self, serializer):
        village = serializer.save()
        ensure_in_scope(self.request.user, village)  # inside the create's transaction: rolls back

    def perform_update(self, serializer):
        village = serializer.save()
        ensure_in_scope(self.request.user, village)
