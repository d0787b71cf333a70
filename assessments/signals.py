"""After a committed change to a household's inputs, recompute it: one task per household per transaction.

Signal handlers only collect household ids; the collector registers itself once per transaction with
``transaction.on_commit`` and dispatches each household once. A rolled-back transaction drops the collector
with its other on-commit callbacks, so nothing is dispatched for changes that never happened.
Bulk writes (``bulk_create``/``update``) send no signals: their callers dispatch explicitly. A broker that is down
is logged, never raised to the user whose write has committed (``povertycase.tasks.dispatch``).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from assessments.models import PovertyLine
from households.models import Household, IncomeRecord, Member
from povertycase.tasks import dispatch


class _RecomputeCollector:
    def __init__(self) -> None:
        self.household_ids: set[int] = set()
        self.fired = False

    def __call__(self) -> None:
        from assessments.tasks import recompute_household

        self.fired = True
        for household_id in sorted(self.household_ids):
            dispatch(recompute_household, household_id)


def schedule_household_recompute(household_id: int, using: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[using]
    if not connection.in_atomic_block:  # autocommit: the change is already committed
        from assessments.tasks import recompute_household

        dispatch(recompute_household, household_id)
        return
    collector = getattr(connection, "_recompute_collector", None)
    registered = (
        collector is not None
        and not collector.fired
        and any(func is collector for _, func, _ in connection.run_on_commit)
    )
    if not registered:
        collector = _RecomputeCollector()
        connection._recompute_collector = collector
        transaction.on_commit(collector, using=using)
    collector.household_ids.add(household_id)


@receiver(post_save, sender=Household, dispatch_uid="assessments.household_saved")
@receiver(post_delete, sender=Household, dispatch_uid="assessments.household_deleted")
def _household_changed(sender, instance: Household, using: str, **kwargs) -> None:
    if kwargs.get("raw"):  # loading fixtures: inputs are not being changed by anyone
        return
    schedule_household_recompute(instance.pk, using)


@receiver(post_save, sender=Member, dispatch_uid="assessments.member_saved")
@receiver(post_delete, sender=Member, dispatch_uid="assessments.member_deleted")
@receiver(post_save, sender=IncomeRecord, dispatch_uid="assessments.income_saved")
@receiver(post_delete, sender=IncomeRecord, dispatch_uid="assessments.income_deleted")
def _input_changed(sender, instance, using: str, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    schedule_household_recompute(instance.household_id, using)


@receiver(post_save, sender=PovertyLine, dispatch_uid="assessments.line_saved")
@receiver(post_delete, sender=PovertyLine, dispatch_uid="assessments.line_deleted")
def _line_changed(sender, instance: PovertyLine, using: str, **kwargs) -> None:
    """A changed poverty line recomputes every household for that year, in pages, after commit."""
    from assessments.tasks import recompute_year

    if kwargs.get("raw"):
        return
    if instance.kind == "poverty":
        year = instance.year
        transaction.on_commit(lambda: dispatch(recompute_year, year), using=using)
