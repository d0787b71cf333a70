"""API of the identification and exit procedures (DOMAIN.md §5). Each endpoint parses the request, calls one
service of ``procedures.services`` and returns the application as it now stands; the services check the
workflow role, the state, the notice period, maker-checker and the guards, and refuse with a Chinese message
(400 for a refused step, 403 for a role that may not take it, 404 outside the jurisdiction)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from assessments.models import Assessment
from povertycase.api.base import OfferedMethodsOnly, ScopedViewSetMixin, ViewModelPermissions
from povertycase.jurisdiction import scope_to
from procedures import labels, services
from procedures.api import serializers
from procedures.choices import Kind
from procedures.filtersets import ApplicationFilterSet
from procedures.models import Application, Objection, Signature, Step

# Reads need view_application; so do the writes: which step a user may take is the workflow's to decide
# (procedures.workflow), checked by the services with the user's role where the household is.
PERMISSIONS = [permissions.IsAuthenticated, OfferedMethodsOnly, ViewModelPermissions]


class ApplicationViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The applications of one ``kind``: list, retrieve, create (opening, through the service) and the steps;
    no update or delete (405): an application changes only by steps."""

    kind: str = ""
    serializer_class = serializers.ApplicationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApplicationFilterSet
    http_method_names = ["get", "post", "head", "options"]
    permission_classes = PERMISSIONS

    def get_queryset(self):
        queryset = (
            Application.objects.filter(kind=self.kind)
            .select_related("household__village", "created_by")
            .prefetch_related(
                Prefetch("steps", queryset=Step.objects.select_related("actor").order_by("at", "id")),
                Prefetch("objections", queryset=Objection.objects.select_related("recorded_by")),
                Prefetch(
                    "household__assessments",
                    queryset=Assessment.objects.filter(is_current=True),
                    to_attr="current_assessments",
                ),
            )
        )
        if self.kind == Kind.IDENTIFICATION:
            queryset = queryset.prefetch_related(
                Prefetch(
                    "signatures",
                    queryset=Signature.objects.select_related("recorded_by").order_by(labels.signatory_order(), "pk"),
                )
            )
        return scope_to(self.request.user, queryset).order_by("-created_at", "-id")

    def _render(self, application: Application, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The application re-read as the list and detail show it (history, objections, assessment)."""
        fresh = self.get_queryset().get(pk=application.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)

    def create(self, request, *args, **kwargs):
        params = serializers.ApplicationCreateSerializer(data=request.data, context=self.get_serializer_context())
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            application = services.application_open(
                actor=request.user,
                household=params.validated_data["household"],
                kind=self.kind,
                year=params.validated_data["year"],
                comment=params.validated_data["comment"],
            )
        return self._render(application, status_code=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """办理一步：action 为操作（见 available_actions），comment 为意见（不予通过时必填）；记录异议（object）时
        提交 objection：{text, raised_by, raised_on}。成功返回办理后的申请；被拒绝时不作任何改动。"""
        application = self.get_object()
        params = serializers.TransitionRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        objection = None
        if data["objection"] is not None:
            objection = services.ObjectionInput(**data["objection"])
        with transaction.atomic():
            application = services.application_transition(
                actor=request.user,
                application=application,
                action=data["action"],
                comment=data["comment"],
                objection=objection,
            )
        return self._render(application)


_CREATE_DOC = (
    "提出申请：{household, year, comment}。识别由“边缘易致贫户”本人申请；退出须该户本年度最新评估达到退出标准。"
)


@extend_schema_view(
    list=extend_schema(
        summary="识别申请列表", description="waiting_for_me=true 列出处于您有权办理下一步的环节的申请。"
    ),
    retrieve=extend_schema(summary="识别申请详情（含办理步骤、异议和六签字）"),
    create=extend_schema(
        summary="受理识别申请",
        description=_CREATE_DOC,
        request=serializers.ApplicationCreateSerializer,
        responses={201: serializers.IdentificationApplicationSerializer},
    ),
    transition=extend_schema(
        summary="办理识别申请的一步",
        request=serializers.TransitionRequestSerializer,
        responses={200: serializers.IdentificationApplicationSerializer},
    ),
)
class IdentificationApplicationViewSet(ApplicationViewSet):
    """识别申请（两公示一公告）：本人申请 → 民主评议 → 村两委和驻村工作队核实确定 → 第一次村内公示 → 乡镇审核 →
    第二次村内公示 → 县级审批公告（须六签字齐全），通过后该户登记为未脱贫户。"""

    kind = Kind.IDENTIFICATION
    serializer_class = serializers.IdentificationApplicationSerializer

    @extend_schema(
        summary="记录六签字之一",
        request=serializers.SignatureRequestSerializer,
        responses={201: serializers.IdentificationApplicationSerializer},
    )
    @action(detail=True, methods=["post"])
    def signatures(self, request, pk=None):
        """记录识别档案的一个签字（六签字：驻村第一书记、帮扶责任人、村党支部书记、村委会主任、乡镇党委书记、
        乡镇长），返回申请。"""
        application = self.get_object()
        params = serializers.SignatureRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            services.signature_record(actor=request.user, application=application, **params.validated_data)
        return self._render(application, status_code=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="退出申请列表", description="waiting_for_me=true 列出处于您有权办理下一步的环节的申请。"
    ),
    retrieve=extend_schema(summary="退出申请详情（含办理步骤和异议）"),
    create=extend_schema(
        summary="提出退出申请",
        description=_CREATE_DOC,
        request=serializers.ApplicationCreateSerializer,
        responses={201: serializers.ExitApplicationSerializer},
    ),
    transition=extend_schema(
        summary="办理退出申请的一步",
        request=serializers.TransitionRequestSerializer,
        responses={200: serializers.ExitApplicationSerializer},
    ),
)
class ExitApplicationViewSet(ApplicationViewSet):
    """退出申请：村两委提出 → 民主评议 → 村两委和驻村工作队核实 → 贫困户认可签字 → 村内公示 → 乡镇审核 →
    县审定公告（按当前数据重新评估，仍达标才能通过），通过后该户标记为已脱贫并记录脱贫年度。"""

    kind = Kind.EXIT
    serializer_class = serializers.ExitApplicationSerializer
