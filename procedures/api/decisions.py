"""API of the decision log (DOMAIN.md §5 "Decisions"): read only. ``GET /api/v1/decisions/?household=<id>``
lists a household's decisions, newest first, with what each rests on and its place in the county's hash chain."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets

from households.models import Household
from households.selectors import user_display_name
from povertycase.api.base import LIMITED_METHOD_PERMISSIONS, ScopedViewSetMixin
from procedures.choices import DecisionKind
from procedures.models import Decision
from villages.filtersets import IdFilter, YearFilter


class DecisionFilterSet(django_filters.FilterSet):
    household = IdFilter(field_name="household_id", label="户ID")
    county = django_filters.CharFilter(field_name="county__code", label="县级代码")
    kind = django_filters.MultipleChoiceFilter(choices=DecisionKind.choices, label="决定类别")
    year = YearFilter(label="年度")
    application = IdFilter(field_name="application_id", label="申请ID")

    class Meta:
        model = Decision
        fields: list[str] = []


class DecisionSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    household_number = serializers.SerializerMethodField()
    county_code = serializers.CharField(source="county.code", read_only=True)
    decided_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = (
            "id",
            "kind",
            "kind_display",
            "household",
            "household_number",
            "county_code",
            "sequence",
            "year",
            "status",
            "identified_year",
            "exit_year",
            "reason",
            "source",
            "source_display",
            "application",
            "decided_by",
            "decided_by_name",
            "decided_at",
            "content",
            "prev_hash",
            "hash",
        )
        read_only_fields = fields

    def get_household_number(self, decision: Decision) -> str | None:
        try:
            return decision.household.household_number
        except Household.DoesNotExist:  # deleted as entered by mistake: the log keeps its id
            return None

    def get_decided_by_name(self, decision: Decision) -> str | None:
        return user_display_name(decision.decided_by) if decision.decided_by else None


class DecisionViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """决定记录（只读）：户状态、识别年度、脱贫年度的每一次改变——建档登记、识别纳入、脱贫退出、返贫、清退——
    及其依据（申请各环节、公示日期、签字、退出时批准的评估结果），按县组成哈希链，可用 verify_decisions 校验。"""

    serializer_class = DecisionSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DecisionFilterSet
    permission_classes = LIMITED_METHOD_PERMISSIONS
    http_method_names = ["get", "head", "options"]  # the log is written by decisions only: anything else is 405
    queryset = Decision.objects.select_related("household", "county", "decided_by__cadre").order_by(
        "-decided_at", "-pk"
    )
