"""Storing computed assessments (DOMAIN.md §4), shared by the Python paths of ``services`` and by ``batch``.

Owns ``RecomputeSummary`` (what a recompute did, returned by every batch path) and ``store_assessments``, which
writes the Python rules' results whose fingerprint differs from the current assessment's.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from assessments import rules
from assessments.models import Assessment


@dataclass
class RecomputeSummary:
    """What a recompute did: households assessed, assessments written, eligible, failing per criterion."""

    assessed: int = 0
    changed: int = 0
    eligible: int = 0
    failing: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)

    def add(self, other: RecomputeSummary) -> None:
        self.assessed += other.assessed
        self.changed += other.changed
        self.eligible += other.eligible
        self.failing.update(other.failing)
        self.warnings.update(other.warnings)

    def as_dict(self) -> dict:
        return {
            "assessed": self.assessed,
            "changed": self.changed,
            "eligible": self.eligible,
            "failing": {c: self.failing.get(c, 0) for c in rules.CRITERIA},
            "warnings": dict(self.warnings),
        }


# Households per advisory lock: a keyset page of 20,000 households takes a handful of locks, not 20,000 (PostgreSQL's
# lock table holds max_locks_per_transaction × max_connections, 6,400 by default).
LOCK_BUCKET = 4096


def lock_households(*, household_ids, year: int) -> None:
    """Serialise the recomputes of the same households and year (issue 15: a single recompute racing a batch page
    could leave the page's older result current). Call inside the transaction, before reading the facts: whoever
    comes second waits for the first to commit, then reads the newest inputs. Transaction-scoped advisory locks on
    PostgreSQL, taken in one order (no deadlock); SQLite serialises writers by itself."""
    if connection.vendor != "postgresql" or not household_ids:
        return
    keys = sorted({year * 10**12 + household_id // LOCK_BUCKET for household_id in household_ids})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _assessment_row(household_id: int, result: rules.AssessmentResult, print_: str, now: dt.datetime) -> Assessment:
    passed = {c.criterion: c.passed for c in result.criteria}
    return Assessment(
        household_id=household_id,
        year=result.year,
        is_current=True,
        eligible=result.eligible,
        income_passed=passed["income"],
        food_passed=passed["food"],
        clothing_passed=passed["clothing"],
        education_passed=passed["education"],
        medical_passed=passed["medical"],
        housing_passed=passed["housing"],
        water_passed=passed["water"],
        criteria=[
            {"criterion": c.criterion, "passed": c.passed, "code": c.code, "message": c.message}
            for c in result.criteria
        ],
        warnings=[{"code": w.code, "message": w.message} for w in result.warnings],
        household_size=result.household_size,
        per_capita_net_income=result.per_capita_net_income,
        poverty_line=result.poverty_line,
        rules_version=result.rules_version,
        fingerprint=print_,
        computed_at=now,
    )


def store_assessments(*, year: int, computed: dict[int, tuple[rules.AssessmentResult, str]]) -> RecomputeSummary:
    """Write the results (by household id: the rules' result and its fingerprint) whose fingerprint changed;
    one transaction for the page."""
    summary = RecomputeSummary(assessed=len(computed))
    for result, _ in computed.values():
        summary.eligible += result.eligible
        summary.failing.update(result.failed)
        summary.warnings.update(w.code for w in result.warnings)
    with transaction.atomic():
        current = dict(
            Assessment.objects.filter(household_id__in=computed, year=year, is_current=True).values_list(
                "household_id", "fingerprint"
            )
        )
        changed = [hid for hid, (_, print_) in computed.items() if current.get(hid) != print_]
        if changed:
            Assessment.objects.filter(household_id__in=changed, year=year, is_current=True).update(is_current=False)
            now = timezone.now()
            # ignore_conflicts: a concurrent worker that stored the same household first wins; ours is equal.
            Assessment.objects.bulk_create(
                [_assessment_row(hid, *computed[hid], now) for hid in changed],
                batch_size=1000,
                ignore_conflicts=True,
            )
    summary.changed = len(changed)
    return summary
