"""API of the household file: households (nested members and incomes), members, income records,
eligibility and change history. Every queryset goes through the user's jurisdiction."""

from __future__ import annotations

import django_filters
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from assessments import services as assessment_services
from assessments.models import Assessment
from assistance.jurisdiction import ensure_in_scope, scope_to
from households import filtersets, services
from households.api import serializers
from households.filtersets import IncomeRecordFilterSet, MemberFilterSet
from households.models import Household, IncomeRecord, Member, PersonalDataAccess
from households.personal_data import record_reveal
from households.selectors import household_history
from povertycase.api.base import ScopedViewSetMixin, ViewModelPermissions
from villages.models import County, Township, Village


def _record(request, model: str, object_ids) -> None:
    record_reveal(
        user=request.user,
        channel=PersonalDataAccess.Channel.API,
        model=model,
        object_ids=object_ids,
        path=request.get_full_path(),
    )


@extend_schema_field(OpenApiTypes.STR)
class _PlaceCodeFilter(django_filters.ModelMultipleChoiceFilter):
    """A place chosen by its administrative-division code. drf-spectacular cannot follow ``…__code`` with
    ``to_field_name="code"`` to a model field, so the schema is given: a (repeatable) string."""


class HouseholdApiFilterSet(filtersets.HouseholdApiFilterSet):
    """The shared household filters; only the schema of the three code filters is spelled out."""

    county = _PlaceCodeFilter(
        field_name="village__county__code", queryset=County.objects.all(), to_field_name="code", label="县级代码"
    )
    township = _PlaceCodeFilter(
        field_name="village__township__code", queryset=Township.objects.all(), to_field_name="code", label="乡镇代码"
    )
    village = _PlaceCodeFilter(
        field_name="village__code", queryset=Village.objects.all(), to_field_name="code", label="村代码"
    )


class HouseholdViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """贫困户：建档立卡户档案。创建和整体替换（PUT）时可同时提交成员（members）和收入（incomes），全部成功或全部不保存。"""

    filter_backends = [DjangoFilterBackend]
    filterset_class = HouseholdApiFilterSet

    def get_queryset(self):
        head_name = Member.objects.filter(household=OuterRef("pk"), relation="head", is_active=True).values("name")[:1]
        queryset = Household.objects.select_related("village").annotate(head_name=Subquery(head_name))
        if self.action != "list":
            queryset = queryset.prefetch_related("members", "incomes")
        return scope_to(self.request.user, queryset).order_by("household_number")

    def get_serializer_class(self):
        if self.action == "list":
            return serializers.HouseholdListSerializer
        return serializers.HouseholdSerializer

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _record(request, "household", [row["id"] for row in response.data.get("results", [])])
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        _record(request, "household", [response.data["id"]])
        return response

    def perform_create(self, serializer):
        household = serializer.save()
        ensure_in_scope(self.request.user, household)  # inside the create's transaction: rolls back

    def perform_update(self, serializer):
        household = serializer.save()
        ensure_in_scope(self.request.user, household)

    def perform_destroy(self, instance):
        instance._history_user = self.request.user
        for member in instance.members.all():
            member._history_user = self.request.user
            member.delete()
        for record in instance.incomes.all():
            record._history_user = self.request.user
            record.delete()
        instance.delete()

    @extend_schema(
        parameters=[OpenApiParameter("year", int, description="评估年度（默认当前评估年度）")],
        responses=serializers.EligibilitySerializer,
    )
    @action(detail=True, methods=["get"])
    def eligibility(self, request, pk=None):
        """该户某年度最新的退出评估：各项指标（是否达标、代码、说明）、预警、人均纯收入和扶贫标准。"""
        household = self.get_object()
        params = serializers.AssessRequestSerializer(
            data={"year": request.query_params.get("year") or assessment_services.current_assessment_year()}
        )
        params.is_valid(raise_exception=True)
        assessment = Assessment.objects.filter(
            household=household, year=params.validated_data["year"], is_current=True
        ).first()
        if assessment is None:
            raise NotFound("该户此年度尚无评估结果，可用 assess 接口立即计算。")
        return Response(serializers.EligibilitySerializer(assessment).data)

    @extend_schema(request=serializers.AssessRequestSerializer, responses=serializers.EligibilitySerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, ViewModelPermissions])
    def assess(self, request, pk=None):
        """按当前数据立即重新评估该户某年度是否达到退出标准，返回与 eligibility 相同的结构。"""
        household = self.get_object()
        params = serializers.AssessRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            assessment = assessment_services.household_assess(household=household, year=params.validated_data["year"])
        return Response(serializers.EligibilitySerializer(assessment).data)

    @extend_schema(responses=serializers.HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """该户及其成员、收入记录的全部变更：谁在何时改了什么。"""
        household = self.get_object()
        entries = household_history(user=request.user, household=household)
        page = self.paginate_queryset(entries)
        data = serializers.HistoryEntrySerializer(page if page is not None else entries, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)


class MemberViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """家庭成员。户主变更请通过户的整体替换（PUT /households/{id}/）办理，保证每户只有一名在户户主。"""

    queryset = Member.objects.select_related("household").order_by("household_id", "id")
    serializer_class = serializers.MemberSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MemberFilterSet

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _record(request, "member", [row["id"] for row in response.data.get("results", [])])
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        _record(request, "member", [response.data["id"]])
        return response

    def perform_destroy(self, instance):
        services.member_delete(user=self.request.user, member=instance)


class IncomeRecordViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """年度收入：每户每年一条。"""

    queryset = IncomeRecord.objects.order_by("household_id", "-year")
    serializer_class = serializers.IncomeRecordSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = IncomeRecordFilterSet

    def perform_destroy(self, instance):
        instance._history_user = self.request.user
        instance.delete()
