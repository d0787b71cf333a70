"""The exit assessments (DOMAIN.md §4) plugged into the households resource of the API.

``households.api.views`` serves the household file; this module extends its viewset with ``eligibility`` (the
stored assessment of a year) and ``assess`` (recompute now), and its filters with ``year``, ``eligible`` and
``failing``; ``AssessmentsConfig.ready()`` registers the extended viewset under the same route.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from assessments import selectors, services
from assessments.api.serializers import AssessRequestSerializer, EligibilitySerializer
from assessments.filtersets import AssessmentFilterMixin
from assessments.models import Assessment
from households.api import views as household_views
from povertycase.api.base import ViewModelPermissions


class HouseholdApiFilterSet(household_views.HouseholdApiFilterSet, AssessmentFilterMixin):
    class Meta(household_views.HouseholdApiFilterSet.Meta):
        pass


class HouseholdViewSet(household_views.HouseholdViewSet):
    __doc__ = household_views.HouseholdViewSet.__doc__
    filterset_class = HouseholdApiFilterSet

    @extend_schema(
        parameters=[OpenApiParameter("year", int, description="评估年度（默认当前评估年度）")],
        responses=EligibilitySerializer,
    )
    @action(detail=True, methods=["get"])
    def eligibility(self, request, pk=None):
        """该户某年度最新的退出评估：各项指标（是否达标、代码、说明）、预警、人均纯收入和扶贫标准。"""
        household = self.get_object()
        params = AssessRequestSerializer(
            data={"year": request.query_params.get("year") or selectors.current_assessment_year()}
        )
        params.is_valid(raise_exception=True)
        assessment = Assessment.objects.filter(
            household=household, year=params.validated_data["year"], is_current=True
        ).first()
        if assessment is None:
            raise NotFound("该户此年度尚无评估结果，可用 assess 接口立即计算。")
        return Response(EligibilitySerializer(assessment).data)

    @extend_schema(request=AssessRequestSerializer, responses=EligibilitySerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, ViewModelPermissions])
    def assess(self, request, pk=None):
        """按当前数据立即重新评估该户某年度是否达到退出标准，返回与 eligibility 相同的结构。"""
        household = self.get_object()
        params = AssessRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            assessment = services.household_assess(household=household, year=params.validated_data["year"])
        return Response(EligibilitySerializer(assessment).data)
