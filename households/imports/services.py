"""The import job services behind the API and the admin: check an upload, store it as a job and dispatch its
dry run, claim a clean job for its commit. The work itself runs in ``households.tasks.run_import``
(``runner.run_job``), dispatched after the commit of the request's transaction."""

from __future__ import annotations

import zipfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from households.models import ImportJob
from households.tasks import run_import
from households.xlsx_reader import expansion_refusal
from povertycase.tasks import dispatch

ALLOWED_EXTENSIONS = (".xlsx",)


def check_upload(upload) -> None:
    """An uploaded workbook: an .xlsx file of at most ``IMPORT_MAX_BYTES`` that would not unzip past
    ``IMPORT_MAX_UNCOMPRESSED_BYTES`` or ``IMPORT_MAX_EXPANSION_RATIO`` times its size (a zip bomb). Raises
    ValidationError in Chinese. A file that is no zip at all is left to the dry run, which reports it."""
    name = getattr(upload, "name", "") or ""
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise ValidationError("只能上传Excel工作簿（.xlsx）文件，请用下载的模板填写；旧版.xls请先另存为.xlsx。")
    limit = settings.IMPORT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限为{limit / 1024 / 1024:.0f} MB，请分乡镇或分批导入。"
        )
    if upload.size == 0:
        raise ValidationError("文件是空的。")
    try:
        with zipfile.ZipFile(upload) as archive:
            refusal = expansion_refusal(
                archive,
                max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
                max_expansion_ratio=settings.IMPORT_MAX_EXPANSION_RATIO,
            )
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        refusal = None
    finally:
        upload.seek(0)
    if refusal:
        raise ValidationError(refusal)


def import_job_create(*, user, upload) -> ImportJob:
    """Store an uploaded workbook as an import job and dispatch its dry run (after the commit)."""
    check_upload(upload)
    file_name = Path(upload.name).name[:200]
    job = ImportJob(user=user, file_name=file_name)
    job.file.save(file_name, upload, save=False)
    job.save()
    transaction.on_commit(lambda: dispatch(run_import, job.pk, commit=False))
    return job


def import_job_commit(*, job: ImportJob) -> ImportJob:
    """Queue the commit of a job whose dry run was clean; refuse (ValidationError, Chinese) otherwise. The
    status moves from "valid" to "committing" in one UPDATE, so two clicks commit once."""
    if job.status != ImportJob.Status.VALID:
        raise ValidationError(_commit_refusal(job))
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.VALID).update(
        status=ImportJob.Status.COMMITTING, progress=0
    )
    if not claimed:
        job.refresh_from_db()
        raise ValidationError(_commit_refusal(job))
    job.status, job.progress = ImportJob.Status.COMMITTING, 0
    transaction.on_commit(lambda: dispatch(run_import, job.pk, commit=True))
    return job


def _commit_refusal(job: ImportJob) -> str:
    reasons = {
        ImportJob.Status.UPLOADED: "文件尚未校验，请等待校验完成后再确认导入。",
        ImportJob.Status.VALIDATING: "文件正在校验，请等待校验完成后再确认导入。",
        ImportJob.Status.INVALID: "校验未通过，不能导入：请下载标注错误的文件，改正后重新上传。",
        ImportJob.Status.COMMITTING: "该文件正在导入，请勿重复提交。",
        ImportJob.Status.COMMITTED: "该文件已导入，不能重复导入；如需更新，请重新上传。",
        ImportJob.Status.FAILED: "导入失败，未写入任何数据：请重新上传校验后再导入。",
    }
    return reasons.get(job.status, "只有校验通过的文件才能导入。")
