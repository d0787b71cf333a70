"""Back office for Excel imports and exports of the household file (issue 7), loaded by households/admin.py.

- 导入 (ImportJobAdmin): upload a workbook (it is checked at once, nothing written), read the report (every
  error by sheet, row and column), download the original and the copy with the faulty cells marked, and
  "确认导入" a clean job (all or nothing). Each user sees their own imports, city-wide users all of them
  (``povertycase.jurisdiction``). Uploading and committing need ``households.add_household``, reading the
  jobs ``households.view_household``: the permissions of the household file itself.
- 导出Excel (``export_households_xlsx``): an action of the household list, for the selected households (the
  list is already limited to the user's jurisdiction); personal data masked unless permitted.

Views translate, ``households.imports.services`` decides.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from households import exports
from households.imports import services as import_services
from households.models import Household, ImportJob
from povertycase.admin_scoping import ScopedAdminMixin, has_jurisdiction

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_SHOWN = 1000  # the rest are in the annotated copy and the API
IN_PROGRESS = (ImportJob.Status.UPLOADED, ImportJob.Status.VALIDATING, ImportJob.Status.COMMITTING)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Excel工作簿（.xlsx）",
        help_text="用导入模板填写。上传后先校验，不写入任何数据；校验通过后再在本页确认导入。",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            import_services.check_upload(upload)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        return upload


@admin.action(description="确认导入所选的（校验通过的）文件")
def commit_selected(modeladmin: ImportJobAdmin, request, queryset) -> None:
    if not modeladmin.may_import(request):
        raise PermissionDenied
    for job in queryset:
        modeladmin.commit_job(request, job)


@admin.register(ImportJob)
class ImportJobAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("file_name", "user", "status", "progress_display", "counts", "error_count", "created_at")
    list_display_links = ("file_name",)
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("file_name", "user__username")
    search_help_text = "按文件名或导入人用户名搜索"
    list_per_page = 50
    actions = (commit_selected,)
    change_form_template = "admin/households/importjob/change_form.html"
    change_list_template = "admin/households/importjob/change_list.html"
    readonly_fields = ("progress_display", "downloads", "error_table")
    fieldsets = (
        (
            "导入",
            {
                "fields": (
                    "file_name",
                    "user",
                    "status",
                    "progress_display",
                    "message",
                    "downloads",
                    ("created_at", "validated_at", "committed_at"),
                )
            },
        ),
        (
            "数量",
            {
                "fields": (
                    ("households", "members", "incomes"),
                    ("households_created", "households_updated"),
                    ("members_created", "members_updated"),
                    ("incomes_created", "incomes_updated"),
                )
            },
        ),
        ("错误", {"fields": ("error_count", "error_table")}),
    )

    # --- who may do what: the household file's own permissions --------------------------------------

    def has_view_permission(self, request, obj=None) -> bool:
        return has_jurisdiction(request.user) and request.user.has_perm("households.view_household")

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False  # uploads go through upload_view, which runs the dry run

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a job is a record: its page is read-only, its one action is "确认导入"

    def may_import(self, request) -> bool:
        return has_jurisdiction(request.user) and request.user.has_perm("households.add_household")

    # --- pages ----------------------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="households_importjob_upload"),
            path("template/", view(self.template_view), name="households_importjob_template"),
            path("<int:object_id>/commit/", view(require_POST(self.commit_view)), name="households_importjob_commit"),
            path(
                "<int:object_id>/download/<str:kind>/",
                view(self.download_view),
                name="households_importjob_download",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"may_import": self.may_import(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra = {
            "may_commit": self.may_import(request) and job is not None and job.status == ImportJob.Status.VALID,
            "in_progress": job is not None and job.status in IN_PROGRESS,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def upload_view(self, request):
        if not self.may_import(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = import_services.import_job_create(user=request.user, upload=form.cleaned_data["file"])
            job.refresh_from_db()
            level = {
                ImportJob.Status.VALID: messages.SUCCESS,
                ImportJob.Status.INVALID: messages.ERROR,
            }.get(job.status, messages.INFO)
            self.message_user(request, job.message or "文件已上传，正在后台校验，请稍后刷新本页。", level)
            return HttpResponseRedirect(reverse("admin:households_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "上传Excel并校验",
            "form": form,
        }
        return TemplateResponse(request, "admin/households/importjob/upload.html", context)

    def template_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(exports.template_workbook(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, "贫困户档案导入模板.xlsx")
        return response

    def commit_view(self, request, object_id: int):
        job = self.get_object(request, str(object_id))  # 404 outside the user's imports
        if not self.may_import(request):
            raise PermissionDenied
        self.commit_job(request, job)
        return HttpResponseRedirect(reverse("admin:households_importjob_change", args=[job.pk]))

    def commit_job(self, request, job: ImportJob) -> None:
        try:
            import_services.import_job_commit(job=job)
        except ValidationError as exc:
            self.message_user(request, f"{job.file_name}：{exc.messages[0]}", messages.ERROR)
            return
        job.refresh_from_db()
        if job.status == ImportJob.Status.COMMITTED:
            self.message_user(request, f"{job.file_name}：{job.message}", messages.SUCCESS)
        elif job.status == ImportJob.Status.FAILED:
            self.message_user(request, f"{job.file_name}：{job.message}", messages.ERROR)
        else:
            self.message_user(request, f"{job.file_name}：已提交导入，正在后台处理，请稍后刷新。", messages.INFO)

    def download_view(self, request, object_id: int, kind: str):
        job = self.get_object(request, str(object_id))
        stored = {"original": job.file, "annotated": job.annotated_file}.get(kind)
        if not stored:
            raise Http404("没有这个文件。")
        name = job.file_name if kind == "original" else f"标注错误_{job.file_name}"
        return FileResponse(stored.open("rb"), as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)

    # --- columns and read-only fields -----------------------------------------------------------------

    @admin.display(description="进度")
    def progress_display(self, job: ImportJob) -> str:
        return f"{job.progress}%"

    @admin.display(description="户 / 成员 / 收入")
    def counts(self, job: ImportJob) -> str:
        return f"{job.households} / {job.members} / {job.incomes}"

    @admin.display(description="文件")
    def downloads(self, job: ImportJob) -> str:
        def link(kind: str, label: str) -> str:
            url = reverse("admin:households_importjob_download", args=[job.pk, kind])
            return format_html('<a href="{}">{}</a>', url, label)

        shown = [link("original", f"下载原文件（{job.file_name}）")]
        if job.annotated_file:
            shown.append(link("annotated", "下载标注错误的文件（出错单元格标红并附批注）"))
        return format_html_join(" ｜ ", "{}", ((item,) for item in shown))

    @admin.display(description="错误明细")
    def error_table(self, job: ImportJob) -> str:
        if not job.errors:
            return "无"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    error.get("sheet", ""),
                    error.get("row") or "",
                    f"{error.get('column', '')}（{error.get('column_letter', '')}）" if error.get("column") else "",
                    error.get("message", ""),
                )
                for error in job.errors[:ERRORS_SHOWN]
            ),
        )
        more = (
            format_html("<p>共{}处错误，此处列出前{}处；全部错误见标注错误的文件。</p>", len(job.errors), ERRORS_SHOWN)
            if len(job.errors) > ERRORS_SHOWN
            else ""
        )
        return format_html(
            '<table class="import-errors"><thead><tr><th>工作表</th><th>行</th><th>列</th><th>错误说明</th></tr>'
            "</thead><tbody>{}</tbody></table>{}",
            rows,
            more,
        )


@admin.action(description="导出Excel")
def export_households_xlsx(modeladmin, request, queryset) -> FileResponse:
    """The selected households (already limited to the user's jurisdiction by the list) with their members
    and incomes, in the import template's three sheets."""
    households = Household.objects.filter(pk__in=queryset.values("pk"))
    path_ = exports.export_xlsx(households, user=request.user, request_path=request.get_full_path())
    return FileResponse(
        exports.TemporaryExportFile(path_),
        as_attachment=True,
        filename=f"贫困户档案_{timezone.localdate():%Y%m%d}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )
