"""Celery tasks of the household file: Excel imports run in the background with their progress stored."""

from __future__ import annotations

from celery import shared_task

from households.imports.runner import run_job
from households.models import ImportJob

# Statuses from which a dry run may run (a redelivered message after the job moved on does nothing), and a
# commit: claimed by ``imports.services.import_job_commit`` ("committing", also what a worker that died
# mid-commit leaves behind, its transaction rolled back), or a clean dry run.
CHECKABLE = (ImportJob.Status.UPLOADED, ImportJob.Status.VALIDATING)
COMMITTABLE = (ImportJob.Status.COMMITTING, ImportJob.Status.VALID)


@shared_task(acks_late=True)
def run_import(job_id: int, commit: bool = False) -> str:
    """Dry-run or commit an import job. Safe to run twice: a job is checked only until it has a report and
    committed only from "committing" or "valid" (never twice); a commit re-validates the file, then writes
    all or nothing."""
    job = ImportJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None:
        return "gone"
    if job.status not in (COMMITTABLE if commit else CHECKABLE):
        return job.status
    return run_job(job, commit=commit).status
