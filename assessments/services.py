"""Computing and storing exit assessments (DOMAIN.md §4): the writes of the single-household and batch paths.

Both paths read the same columns (``facts.HOUSEHOLD_COLUMNS``, ``facts.MEMBER_COLUMNS``,
``IncomeRecord.AMOUNT_FIELDS``), turn them into ``rules.HouseholdYearFacts`` with the same function
(``facts.facts_from_rows``) and call the same pure rules, so they cannot disagree. On PostgreSQL the batch path
is instead ``batch``, the same rules translated into SQL and held to the Python rules by the property test. A
result is written only when its fingerprint (``fingerprint.py``) differs from the current assessment's: running
a recompute twice writes nothing the second time.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction

from assessments import batch, rules
from assessments.facts import (
    HOUSEHOLD_COLUMNS,
    INCOME_COLUMNS,
    MEMBER_COLUMNS,
    facts_from_rows,
    household_year_rows,
    line_for_code,
    rule_settings,
    year_lines,
)
from assessments.fingerprint import fingerprint
from assessments.models import Assessment
from assessments.selectors import assessable_households
from assessments.store import RecomputeSummary, lock_households, store_assessments
from households.models import Household, IncomeRecord, Member


def assess_households(*, household_ids: list[int], year: int) -> RecomputeSummary:
    """The batch path: assess the given households for ``year`` and store what changed.

    On PostgreSQL the exit standard is evaluated and written in SQL (``batch``), a translation of the
    pure rules checked against them by the property test; elsewhere (SQLite) with three queries and the
    pure rules in Python (``assess_households_python``)."""
    if connection.vendor == "postgresql":
        return batch.assess_households(household_ids=household_ids, year=year)
    return assess_households_python(household_ids=household_ids, year=year)


@transaction.atomic
def assess_households_python(*, household_ids: list[int], year: int) -> RecomputeSummary:
    """The batch path in Python: three queries, the pure rules per household, store what changed."""
    lock_households(household_ids=household_ids, year=year)  # before the facts are read
    rule_config = rule_settings()
    lines = year_lines(year)
    households = list(assessable_households(year=year).filter(id__in=household_ids).values(*HOUSEHOLD_COLUMNS))
    ids = [h["id"] for h in households]
    members: dict[int, list[dict]] = defaultdict(list)
    for row in Member.objects.filter(household_id__in=ids).values(*MEMBER_COLUMNS):
        members[row["household_id"]].append(row)
    incomes = {
        row["household_id"]: row
        for row in IncomeRecord.objects.filter(household_id__in=ids, year=year).values(*INCOME_COLUMNS)
    }
    computed = {
        household["id"]: assess_rows(
            year=year,
            line=line_for_code(lines, household["village__code"]),
            household=household,
            members=members.get(household["id"], []),
            income=incomes.get(household["id"]),
            rule_config=rule_config,
        )
        for household in households
    }
    return store_assessments(year=year, computed=computed)


def assess_rows(
    *, year: int, line: Decimal | None, household: dict, members: list[dict], income: dict | None, rule_config
) -> tuple[rules.AssessmentResult, str]:
    """The pure rules' result and the fingerprint for one household's rows."""
    rows = {"year": year, "line": line, "household": household, "members": members, "income": income}
    facts = facts_from_rows(**rows)
    return rules.assess_household_year(facts, rule_config), fingerprint(**rows, rule_config=rule_config)


def household_assess(*, household: Household, year: int) -> Assessment:
    """Assess one household for one year now, with the pure rules in Python (the specification, on every
    database), and return its current assessment (written only if changed)."""
    with transaction.atomic():
        lock_households(household_ids=[household.pk], year=year)  # before the facts are read
        rows = household_year_rows(household=household, year=year)
        store_assessments(year=year, computed={household.pk: assess_rows(**rows, rule_config=rule_settings())})
    return Assessment.objects.get(household=household, year=year, is_current=True)
