"""Running an import: one workbook through validation and, when clean and asked for, the write
(``import_workbook``); one import job through it with its report, counts and annotated copy (``run_job``,
run by ``households.tasks.run_import``).

After a committed write ``households.signals.households_bulk_written`` is sent with the households and years
written: the bulk statements send no ``post_save``, and the assessments app recomputes on this signal.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from households.imports.annotate import annotate_workbook
from households.imports.read import FILE_SHEET, MAX_REPORTED_ERRORS, ErrorList, RowError, TooManyErrors
from households.imports.validate import validate_workbook
from households.imports.write import Written, write_plan
from households.models import Household, ImportJob
from households.signals import households_bulk_written, households_registered
from households.xlsx_reader import WorkbookError

logger = logging.getLogger(__name__)

# The counts of what a commit wrote, stored on the job.
COUNTS = tuple(f.name for f in fields(Written) if f.name.endswith(("_created", "_updated")))


@dataclass
class ImportResult(Written):
    """The report of one workbook: its errors and what it holds; after a commit, what was written."""

    errors: list[RowError] = field(default_factory=list)
    households: int = 0
    members: int = 0
    incomes: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def import_workbook(
    path: str | Path,
    *,
    user,
    commit: bool,
    reason: str = "Excel导入",
    progress: Callable[[int], None] | None = None,
    recompute: bool = True,
    import_job_id: int | None = None,
) -> ImportResult:
    """Validate a workbook (the dry run) and, when ``commit`` and it is clean, write it all in one transaction
    with history rows by ``user`` and ``reason``; after the commit ``households_bulk_written`` is sent, on which
    the imported households' assessments are recomputed (``recompute=False``: not sent, the caller recomputes,
    e.g. the benchmark to time it apart)."""
    progress = progress or (lambda _: None)
    errors = ErrorList()
    try:
        plan = validate_workbook(path, user=user, errors=errors, progress=progress)
    except TooManyErrors:
        errors.items.append(RowError(FILE_SHEET, 0, "", "", f"错误过多，仅列出前{MAX_REPORTED_ERRORS}条。"))
        return ImportResult(errors=errors.items)
    result = ImportResult(
        errors=errors.items, households=len(plan.households), members=len(plan.members), incomes=len(plan.incomes)
    )
    if not commit or errors.items:
        return result
    try:
        with transaction.atomic():
            written = write_plan(plan, user=user, reason=reason)
            # Each new household's registered decision, in the same transaction (received by procedures).
            households_registered.send(
                sender=Household,
                household_ids=written.created_ids,
                user=user,
                source="import",
                import_job_id=import_job_id,
            )
            if recompute:
                household_ids, years = list(written.household_ids), sorted(written.years)
                transaction.on_commit(
                    lambda: households_bulk_written.send(sender=Household, household_ids=household_ids, years=years)
                )
    except IntegrityError as exc:  # a concurrent change since the validation: nothing was written
        logger.warning("import refused by the database: %s", exc)
        result.errors = [
            RowError(FILE_SHEET, 0, "", "", "导入时数据已被他人修改，未写入任何数据。请重新上传校验后再导入。")
        ]
    else:
        for written_field in fields(Written):
            setattr(result, written_field.name, getattr(written, written_field.name))
    progress(100)
    return result


def run_job(job: ImportJob, *, commit: bool) -> ImportJob:
    """Dry-run (``commit=False``) or commit an import job, storing its report, counts and annotated copy."""

    def progress(percent: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(progress=percent)

    job.status = ImportJob.Status.COMMITTING if commit else ImportJob.Status.VALIDATING
    job.progress = 0
    job.save(update_fields=["status", "progress"])
    try:
        result = import_workbook(
            job.file.path,
            user=job.user,
            commit=commit,
            reason=f"Excel导入 #{job.pk}",
            progress=progress,
            import_job_id=job.pk,
        )
    except Exception:
        logger.exception("import job %s failed", job.pk)
        job.status = ImportJob.Status.FAILED if commit else ImportJob.Status.INVALID
        job.message = "处理文件时出错，未写入任何数据。请检查文件后重新上传，或联系管理员。"
        job.progress = 100
        job.save(update_fields=["status", "message", "progress"])
        raise
    job.errors = [e.as_dict() for e in result.errors]
    job.error_count = len(result.errors)
    job.households, job.members, job.incomes = result.households, result.members, result.incomes
    if result.errors:
        job.status = ImportJob.Status.FAILED if commit else ImportJob.Status.INVALID
        job.message = f"发现{len(result.errors)}处错误，未写入任何数据。"
        annotated_copy_save(job=job, errors=result.errors)
    elif commit:
        job.status = ImportJob.Status.COMMITTED
        job.committed_at = timezone.now()
        for name in COUNTS:
            setattr(job, name, getattr(result, name))
        job.message = (
            f"已导入：新增{result.households_created}户、更新{result.households_updated}户，"
            f"新增成员{result.members_created}名、更新{result.members_updated}名，"
            f"新增收入记录{result.incomes_created}条、更新{result.incomes_updated}条。"
        )
    else:
        job.status = ImportJob.Status.VALID
        job.message = (
            f"校验通过：{result.households}户、{result.members}名成员、{result.incomes}条收入记录，可以确认导入。"
        )
    job.validated_at = job.validated_at or timezone.now()
    job.progress = 100
    job.save()
    return job


def annotated_copy_save(*, job: ImportJob, errors: list[RowError]) -> None:
    """Attach to ``job`` (unsaved) the copy of its workbook with the faulty cells marked, once."""
    if job.annotated_file or not any(e.sheet != FILE_SHEET and e.row >= 1 for e in errors):
        return  # already made, or no cell to mark (an unreadable file, a missing sheet, a database refusal)
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        try:
            annotate_workbook(job.file.path, handle.name, errors)
        except WorkbookError:
            return
        job.annotated_file.save(f"标注错误_{job.file_name}", ContentFile(Path(handle.name).read_bytes()), save=False)
