"""The assessments app's receivers of the household file's own signals (``households.signals``).

``households_bulk_written`` (the Excel import, after its commit): recompute the households' assessments
(DOMAIN.md §4) for the current year, the years of the incomes written and the years they are already assessed
for, one ``recompute_household_page`` task per page. Connected by ``AssessmentsConfig.ready()``.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from assessments.models import Assessment
from assessments.selectors import current_assessment_year, page_size
from assessments.tasks import recompute_household_page
from households.signals import households_bulk_written
from povertycase.tasks import dispatch

LOOKUP_CHUNK = 2000  # household ids per IN (...) query; well under SQLite's and PostgreSQL's parameter limits


@receiver(households_bulk_written, dispatch_uid="assessments.households_bulk_written")
def recompute_bulk_written(sender, *, household_ids: list[int], years: list[int], **kwargs) -> None:
    ids = list(household_ids)
    wanted = set(years) | {current_assessment_year()}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        wanted.update(
            Assessment.objects.filter(household_id__in=chunk, is_current=True).values_list("year", flat=True).distinct()
        )
    size = page_size()

    def send_pages() -> None:
        for year in sorted(wanted):
            for start in range(0, len(ids), size):
                dispatch(recompute_household_page, ids[start : start + size], year)

    # Sent after the commit, so this runs at once; sent inside a transaction, the tasks wait for its commit.
    transaction.on_commit(send_pages)
