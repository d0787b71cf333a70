"""API of the assistance app (DOMAIN.md §7): units, cadres with their logins and roles, role assignments and
helper assignments. Every queryset goes through the user's jurisdiction; nothing here is deleted — roles and
helper assignments are ended, so that the history of who helped whom is kept."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from assistance import services
from assistance.api import serializers
from assistance.filtersets import CadreFilterSet, HouseholdAssignmentFilterSet, RoleAssignmentFilterSet, UnitFilterSet
from assistance.jurisdiction import ensure_in_scope, scope_to
from assistance.models import Cadre, HouseholdAssignment, RoleAssignment, Unit
from households.models import PersonalDataAccess
from households.personal_data import record_reveal
from povertycase.api.base import ScopedModelPermissions, ScopedViewSetMixin
from villages.api.views import LIMITED_METHOD_PERMISSIONS, NO_DELETE

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

    def perform_create(self, serializer):
        cadre = serializer.save()
        ensure_in_scope(self.request.user, cadre)  # inside the create's transaction: rolls back

    def perform_update(self, serializer):
        cadre = serializer.save()
        ensure_in_scope(self.request.user, cadre)


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

    def perform_create(self, serializer):
        assignment = serializer.save()
        ensure_in_scope(self.request.user, assignment)

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

    def perform_create(self, serializer):
        assignment = serializer.save()
        ensure_in_scope(self.request.user, assignment)
