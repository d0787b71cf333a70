"""Celery tasks of the household file: Excel imports run in the background with their progress stored."""

from __future__ import annotations

from celery import shared_task

from households.models import ImportJob


@shared_task(acks_late=True)
def run_import(job_id: int, commit: bool = False) -> str:
    """Dry-run or commit an import job. Safe to run twice: a committed job is not committed again, and a
    second commit of the same file updates the same rows (matched by 户编号 and 身份证号)."""
    from households.imports import run_job

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return "gone"
    if commit and job.status == ImportJob.Status.COMMITTED:
        return job.status
    return run_job(job, commit=commit).status
