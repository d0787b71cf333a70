"""API of the household file: households (nested members and incomes), members, income records, change history,
Excel export and imports. Every queryset goes through the user's jurisdiction. ``assessments.api.households``
extends the households resource with ``eligibility``, ``assess`` and the assessment filters."""

from __future__ import annotations

import django_filters
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from households import exports, filtersets, services
from households.api import serializers
from households.filtersets import IncomeRecordFilterSet, MemberFilterSet
from households.imports import services as imports
from households.models import Household, ImportJob, IncomeRecord, Member, PersonalDataAccess
from households.personal_data import record_reveal
from households.selectors import household_history, with_head
from povertycase.api.base import ScopedViewSetMixin
from povertycase.api.errors import DepthLimitedJSONParser
from povertycase.jurisdiction import scope_to
from villages.models import County, Township, Village


def _record(request, model: str, object_ids) -> None:
    record_reveal(
        user=request.user,
        channel=PersonalDataAccess.Channel.API,
        model=model,
        object_ids=object_ids,
        path=request.get_full_path(),
    )


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = ("xlsx", "csv")


def _export_name(extension: str) -> str:
    return f"贫困户档案_{timezone.localdate():%Y%m%d}.{extension}"


@extend_schema_field(OpenApiTypes.STR)
class _PlaceCodeFilter(django_filters.ModelMultipleChoiceFilter):
    """A place chosen by its administrative-division code. drf-spectacular cannot follow ``…__code`` with
    ``to_field_name="code"`` to a model field, so the schema is given: a (repeatable) string."""


class HouseholdApiFilterSet(filtersets.HouseholdFilterSet):
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
        queryset = with_head(Household.objects.select_related("village"))
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

    def perform_destroy(self, instance):
        services.household_delete(user=self.request.user, household=instance)

    @extend_schema(responses=serializers.HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """该户及其成员、收入记录的全部变更：谁在何时改了什么。"""
        household = self.get_object()
        entries = household_history(user=request.user, household=household)
        page = self.paginate_queryset(entries)
        data = serializers.HistoryEntrySerializer(page if page is not None else entries, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def perform_content_negotiation(self, request, force=False):
        # On the export, ?format= names the file type, not a renderer: answers and errors stay JSON.
        if getattr(self, "action", None) == "export":
            renderer = JSONRenderer()
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=EXPORT_FORMATS, description="文件格式：xlsx（三张表，可再导入）或 csv")
        ],
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        filters=True,
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        """导出筛选出的贫困户及其家庭成员、年度收入（与列表相同的筛选条件）。xlsx：户信息、家庭成员、年度收入三张表，
        与导入模板相同，可再导入；csv：每名成员一行（含户信息，不含收入）。仅限辖区内；无权查看个人信息的用户
        导出的身份证号和电话已部分隐去。"""
        kind = request.query_params.get("format") or "xlsx"
        if kind not in EXPORT_FORMATS:
            raise ValidationError({"format": ["导出格式应为 xlsx 或 csv。"]})
        queryset = self.filter_queryset(scope_to(request.user, Household.objects.all()))
        if kind == "csv":
            response = StreamingHttpResponse(
                exports.export_csv_rows(queryset, user=request.user, request_path=request.get_full_path()),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = content_disposition_header(True, _export_name("csv"))
            return response
        path = exports.export_xlsx(queryset, user=request.user, request_path=request.get_full_path())
        return FileResponse(
            exports.TemporaryExportFile(path),
            as_attachment=True,
            filename=_export_name("xlsx"),
            content_type=XLSX_CONTENT_TYPE,
        )


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
        services.income_record_delete(user=self.request.user, record=instance)


# --- Excel export of households, and Excel imports (issue 7) ----------------------------------------------


class ImportJobPermission(BasePermission):
    """Uploading and committing write households: ``households.add_household``; the rest reads them."""

    message = "您没有导入贫困户档案的权限。"

    def has_permission(self, request, view) -> bool:
        if view.action in ("create", "commit"):
            return request.user.has_perm("households.add_household")
        return request.user.has_perm("households.view_household")


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Excel导入：上传工作簿（POST，multipart 的 file）后先校验（不写入），报告每处错误的工作表、行、列；
    校验通过后确认导入（commit），全部成功或全部不写入。每人只看到自己的导入，全市用户看到全部。"""

    permission_classes = [IsAuthenticated, ImportJobPermission]
    parser_classes = [MultiPartParser, FormParser, DepthLimitedJSONParser]
    queryset = ImportJob.objects.select_related("user").order_by("-created_at", "-id")

    def get_queryset(self):
        return scope_to(self.request.user, super().get_queryset())

    def get_serializer_class(self):
        if self.action == "list":
            return serializers.ImportJobListSerializer
        if self.action == "create":
            return serializers.ImportUploadSerializer
        return serializers.ImportJobSerializer

    def _job(self, job: ImportJob) -> dict:
        job.refresh_from_db()
        return serializers.ImportJobSerializer(job, context=self.get_serializer_context()).data

    @extend_schema(request=serializers.ImportUploadSerializer, responses={201: serializers.ImportJobSerializer})
    def create(self, request, *args, **kwargs):
        """上传工作簿并校验（不写入数据）。本地和测试中立即完成；生产环境由后台任务执行，请查询状态和进度。"""
        upload = serializers.ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        job = imports.import_job_create(user=request.user, upload=upload.validated_data["file"])
        return Response(self._job(job), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.ImportJobSerializer)
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        """确认导入校验通过的文件（状态为“校验通过，待导入”）：全部写入或全部不写入，并记入变更历史。"""
        job = self.get_object()
        imports.import_job_commit(job=job)
        return Response(self._job(job))

    @extend_schema(responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def annotated(self, request, pk=None):
        """下载标注错误的工作簿：出错的单元格标红并附批注。"""
        job = self.get_object()
        if not job.annotated_file:
            raise NotFound("该导入没有标注错误的文件（校验通过，或文件无法读取）。")
        return FileResponse(
            job.annotated_file.open("rb"),
            as_attachment=True,
            filename=f"标注错误_{job.file_name}",
            content_type=XLSX_CONTENT_TYPE,
        )

    @extend_schema(responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="file")
    def original(self, request, pk=None):
        """下载上传的原文件。"""
        job = self.get_object()
        return FileResponse(
            job.file.open("rb"), as_attachment=True, filename=job.file_name, content_type=XLSX_CONTENT_TYPE
        )

    @extend_schema(responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY})
    @action(detail=False, methods=["get"])
    def template(self, request):
        """下载导入模板：户信息、家庭成员、年度收入三张表，中文列名、示例行和下拉选项，以及填写说明。"""
        response = HttpResponse(exports.template_workbook(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, "贫困户档案导入模板.xlsx")
        return response
