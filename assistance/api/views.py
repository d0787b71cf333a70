"""API of the assistance app (DOMAIN.md §7): units, cadres with their logins and roles, role assignments,
helper assignments, measures, visits, micro-loans and the "九个一" compliance check. Every queryset goes through
the user's jurisdiction; nothing here is deleted — roles and helper assignments are ended, so that the history
of who helped whom is kept."""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from assistance import services
from assistance.api import serializers
from assistance.filtersets import (
    CadreFilterSet,
    HouseholdAssignmentFilterSet,
    HouseholdMeasureFilterSet,
    MicroLoanFilterSet,
    RoleAssignmentFilterSet,
    UnitFilterSet,
    VisitFilterSet,
)
from assistance.models import (
    Cadre,
    HouseholdAssignment,
    HouseholdMeasure,
    LoanEvent,
    MicroLoan,
    RoleAssignment,
    Unit,
    Visit,
)
from assistance.selectors import GAP_LABELS, compliance_gaps
from households.models import PersonalDataAccess
from households.personal_data import record_reveal
from povertycase.api.base import (
    LIMITED_METHOD_PERMISSIONS,
    NO_DELETE,
    ScopedModelPermissions,
    ScopedViewSetMixin,
    ViewModelPermissions,
    created,
)
from povertycase.api.errors import DepthLimitedJSONParser
from povertycase.jurisdiction import scope_to
from villages.models import Village

CREATE_ONLY = ["get", "post", "head", "options"]


class ChangeOnPost(ScopedModelPermissions):
    """For actions that change an existing row through POST (``end``): the change permission."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


class UnitViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """帮扶单位。所有有角色的用户可查看；县扶贫办可新增和修改。"""

    queryset = Unit.objects.order_by("level", "name")
    serializer_class = serializers.UnitSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = UnitFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS


class CadreViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """干部（登录账号、单位、职务、电话及其在您辖区内的角色）。县扶贫办可为本县干部开设账号并分配角色
    （POST，用户名和密码，角色 roles 一并提交，任何一项不合格则全部不保存）；修改只限姓名、单位、职务和
    电话。干部不删除：离岗请结束其角色。"""

    filter_backends = [DjangoFilterBackend]
    filterset_class = CadreFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to scope to
            return Cadre.objects.none()
        roles = scope_to(self.request.user, RoleAssignment.objects.select_related("county", "township", "village"))
        queryset = Cadre.objects.select_related("user", "unit").prefetch_related(
            Prefetch("roles", queryset=roles.order_by("starts_on", "id"), to_attr="scoped_roles")
        )
        return scope_to(self.request.user, queryset).order_by("name", "id")

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.CadreCreateSerializer
        return serializers.CadreSerializer

    def _record(self, ids) -> None:
        record_reveal(
            user=self.request.user,
            channel=PersonalDataAccess.Channel.API,
            model="cadre",
            object_ids=ids,
            path=self.request.get_full_path(),
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        self._record([row["id"] for row in response.data.get("results", []) if row["phone"]])
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        if response.data["phone"]:
            self._record([response.data["id"]])
        return response

    @extend_schema(request=serializers.CadreCreateSerializer, responses={201: serializers.CadreSerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)


class RoleAssignmentViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """角色分配。县扶贫办可在本县范围内为干部分配角色（POST）或结束角色（POST …/{id}/end/）；
    角色分配不修改、不删除，以保留谁在何时担任何职的记录。"""

    queryset = RoleAssignment.objects.select_related("cadre", "county", "township", "village").order_by(
        "cadre_id", "role", "starts_on", "id"
    )
    filter_backends = [DjangoFilterBackend]
    filterset_class = RoleAssignmentFilterSet
    http_method_names = CREATE_ONLY
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.RoleAssignmentCreateSerializer
        if self.action == "end":
            return serializers.RoleEndSerializer
        return serializers.RoleAssignmentSerializer

    @extend_schema(
        request=serializers.RoleAssignmentCreateSerializer, responses={201: serializers.RoleAssignmentSerializer}
    )
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(request=serializers.RoleEndSerializer, responses=serializers.RoleAssignmentSerializer)
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated, ChangeOnPost])
    def end(self, request, pk=None):
        """结束一项角色（默认今天结束）；只能结束本辖区内的角色。"""
        assignment = self.get_object()
        params = serializers.RoleEndSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            assignment = services.role_end(
                actor=request.user, assignment=assignment, ends_on=params.validated_data.get("ends_on")
            )
        data = serializers.RoleAssignmentSerializer(assignment, context=self.get_serializer_context()).data
        return Response(data)


class HouseholdAssignmentViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """帮扶户分配（帮扶责任人）。县、乡镇扶贫办可为本辖区的户指定帮扶责任人（POST）；原责任人的分配自动
    在新分配开始前一天结束。分配不修改、不删除。"""

    queryset = HouseholdAssignment.objects.select_related("household", "cadre").order_by("household_id", "-starts_on")
    filter_backends = [DjangoFilterBackend]
    filterset_class = HouseholdAssignmentFilterSet
    http_method_names = CREATE_ONLY
    permission_classes = LIMITED_METHOD_PERMISSIONS

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.HouseholdAssignmentCreateSerializer
        return serializers.HouseholdAssignmentSerializer

    @extend_schema(
        request=serializers.HouseholdAssignmentCreateSerializer,
        responses={201: serializers.HouseholdAssignmentSerializer},
    )
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)


# --- measures, visits, micro-loans and "九个一" compliance (DOMAIN.md §7) ----------------------------------------


class HouseholdMeasureViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """帮扶措施（每户每年至少一项）。县、乡镇扶贫办和驻村第一书记、工作队员可为辖区内的户新增和修改；
    措施不删除，不再实施的请把状态改为相应状态或在内容中说明。"""

    queryset = HouseholdMeasure.objects.select_related("household", "cadre").order_by(
        "household_id", "-year", "category", "id"
    )
    serializer_class = serializers.HouseholdMeasureSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = HouseholdMeasureFilterSet
    http_method_names = NO_DELETE
    permission_classes = LIMITED_METHOD_PERMISSIONS


class VisitViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """走访记录（帮扶工作日志）。走访人为当前登录的干部；可用 multipart/form-data 上传照片（photo）。
    填写“不愁吃”“不愁穿”核实结果时同时更新户档案并重新评估。走访记录提交后不修改、不删除。"""

    queryset = Visit.objects.select_related("household", "cadre").order_by("-visited_on", "-id")
    serializer_class = serializers.VisitSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = VisitFilterSet
    parser_classes = [DepthLimitedJSONParser, MultiPartParser, FormParser]
    http_method_names = CREATE_ONLY
    permission_classes = LIMITED_METHOD_PERMISSIONS


class AddLoanEventPermission(permissions.BasePermission):
    """Recording a repayment, extension or renewal needs ``assistance.add_loanevent``."""

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("assistance.add_loanevent")


class MicroLoanViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """扶贫小额信贷（5万元以下、3年以内、借款人18–65周岁）。县、乡镇扶贫办录入贷款（POST），
    还款、展期、无还本续贷通过 POST …/{id}/events/ 记录；到期日期、状态、到期预警和按期还款奖励由系统计算。"""

    queryset = (
        MicroLoan.objects.select_related("household", "borrower")
        .prefetch_related(Prefetch("events", queryset=LoanEvent.objects.select_related("recorded_by")))
        .order_by("maturity_date", "id")
    )
    serializer_class = serializers.MicroLoanSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MicroLoanFilterSet
    http_method_names = CREATE_ONLY
    permission_classes = LIMITED_METHOD_PERMISSIONS

    @extend_schema(request=serializers.LoanEventCreateSerializer, responses={201: serializers.MicroLoanSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated, AddLoanEventPermission])
    def events(self, request, pk=None):
        """记录一笔还款、展期或无还本续贷，返回更新后的贷款（含全部事项）。"""
        loan = self.get_object()
        params = serializers.LoanEventCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            services.loan_record_event(actor=request.user, loan=loan, **params.validated_data)
        loan = self.get_queryset().get(pk=loan.pk)
        return created(serializers.MicroLoanSerializer(loan, context=self.get_serializer_context()).data)


class ComplianceViewSet(viewsets.ViewSet):
    """“九个一”落实情况：辖区内（可限定县、乡镇或村）贫困村缺少第一书记、包村领导、工作队、脱贫方案或
    公示栏，贫困户缺少帮扶责任人、本年度帮扶措施、明白卡或长期未走访，逐条列出并按类别计数。"""

    permission_classes = [permissions.IsAuthenticated, ViewModelPermissions]
    queryset = Village.objects.none()  # for the permission: ``villages.view_village``

    @extend_schema(parameters=[serializers.ComplianceQuerySerializer], responses=serializers.ComplianceSerializer)
    def list(self, request):
        params = serializers.ComplianceQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        year = query.get("year") or timezone.localdate().year
        gaps = compliance_gaps(
            user=request.user,
            county_code=query.get("county"),
            township_code=query.get("township"),
            village_code=query.get("village"),
            year=year,
        )
        counts = dict.fromkeys(GAP_LABELS, 0) | Counter(gap.code for gap in gaps)
        wanted = query.get("code")
        shown = [gap for gap in gaps if gap.code in wanted] if wanted else gaps
        data = {
            "year": year,
            "total": len(gaps),
            "counts": counts,
            "gaps": serializers.GapSerializer(shown, many=True).data,
        }
        return Response(data)
