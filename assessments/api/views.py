"""API of poverty lines (public standards, not bound to a place) and of stored assessments (scoped)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from assessments.api import serializers
from assessments.filtersets import AssessmentFilterSet, PovertyLineFilterSet
from assessments.models import Assessment, PovertyLine
from povertycase.api.base import LIMITED_METHOD_PERMISSIONS, NO_DELETE, ScopedViewSetMixin


class PovertyLineViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """扶贫标准：各年度国家及地区的人均纯收入标准和农村低保标准。所有有查看权限的用户可查看；
    只有市级管理员可以新增或修改（不能删除：已有评估引用过的标准须保留）。"""

    serializer_class = serializers.PovertyLineSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = PovertyLineFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def get_queryset(self):
        # Lines are public standards, the same for every county: not restricted by jurisdiction
        # (the view permission is still required).
        return PovertyLine.objects.order_by("kind", "-year", "region_code")


class AssessmentViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """退出评估结果（只读）。默认只列每户每年度的最新结果；is_current=false 列历次旧结果，all=true 列全部。
    重新评估请用 POST /households/{id}/assess/。"""

    queryset = Assessment.objects.select_related("household__village").order_by("household_id", "-year", "-id")
    serializer_class = serializers.AssessmentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AssessmentFilterSet
    http_method_names = ["get", "head", "options"]
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def filter_queryset(self, queryset):
        # The list defaults to current rows; an earlier assessment stays retrievable by its id.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)
