"""Celery tasks of the household file: Excel imports run in the background with their progress stored."""

from __future__ import annotations

from celery import shared_task

from households.models import ImportJob

# Statuses from which a commit may run: claimed by ``imports.import_job_commit`` ("committing"; also what a
# worker that died mid-commit leaves behind, its transaction rolled back), or a clean dry run.
COMMITTABLE = (ImportJob.Status.COMMITTING, ImportJob.Status.VALID)


@shared_task(acks_late=True)
def run_import(job_id: int, commit: bool = False) -> str:
    """Dry-run or commit an import job. Safe to run twice: a job is committed only from "committing" or
    "valid" (never twice), and a commit re-validates the file inside its transaction, all or nothing."""
    from households.imports import run_job

    job = ImportJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None:
        return "gone"
    if commit and job.status not in COMMITTABLE:
        return job.status
    return run_job(job, commit=commit).status
