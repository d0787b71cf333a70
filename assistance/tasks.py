"""Daily jobs of the assistance app."""

from __future__ import annotations

from celery import shared_task

from assistance import services


@shared_task
def daily_loan_warnings() -> int:
    """Recompute the maturity warning level of every open micro-loan (and mark overdue ones)."""
    return services.loans_refresh_warnings()
