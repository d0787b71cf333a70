"""Celery tasks of the eligibility engine: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

import logging

from celery import group, shared_task

from assessments import selectors, services
from households.models import Household
from povertycase.tasks import RETRY_POLICY

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, **RETRY_POLICY)
def recompute_household(household_id: int) -> dict:
    """Recompute one household for every relevant year after its inputs changed (dispatched on commit)."""
    if not Household.objects.filter(pk=household_id).exists():
        return {"household_id": household_id, "skipped": "gone"}
    changed = 0
    for year in selectors.household_assessment_years(household_id=household_id):
        changed += services.assess_households(household_ids=[household_id], year=year).changed
    return {"household_id": household_id, "changed": changed}


@shared_task(acks_late=True, **RETRY_POLICY)
def recompute_household_page(household_ids: list[int], year: int) -> dict:
    """One keyset page of a batch recompute."""
    return services.assess_households(household_ids=household_ids, year=year).as_dict()


@shared_task
def recompute_year(year: int, county_code: str | None = None) -> int:
    """Fan a year's recompute out to the workers, one task per keyset page. Returns the number of pages."""
    pages = list(selectors.keyset_pages(year=year, county_code=county_code))
    group(recompute_household_page.s(page, year) for page in pages).apply_async()
    logger.info("recompute_year %s county=%s: %d pages dispatched", year, county_code or "all", len(pages))
    return len(pages)


@shared_task
def nightly_recompute() -> int:
    """The nightly batch for the current assessment year (scheduled in settings.CELERY_BEAT_SCHEDULE)."""
    return recompute_year(selectors.current_assessment_year())
