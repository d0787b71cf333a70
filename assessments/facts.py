"""The inputs of an exit assessment (DOMAIN.md §3–§4): rule settings, poverty lines, and household-year facts.

Owns the rule settings read from Django settings (``rule_settings``), the year's poverty lines and the line that
applies to a place (``year_lines``, ``line_for_code``), the columns both assessment paths read
(``HOUSEHOLD_COLUMNS``, ``MEMBER_COLUMNS``, ``INCOME_COLUMNS``) and the one translation of those rows into
``rules.HouseholdYearFacts`` (``facts_from_rows``), so that the single-household path and the batch path cannot
disagree about what the rules see.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings

from assessments import rules
from assessments.models import LineKind, PovertyLine
from households.models import ZERO, Household, IncomeRecord, Member

HOUSEHOLD_COLUMNS = (
    "id",
    "status",
    "food_secure",
    "clothing_secure",
    "house_safety_grade",
    "relocated",
    "water_quantity_ok",
    "water_quality_ok",
    "water_convenient",
    "water_guaranteed",
    "village__code",
)
MEMBER_COLUMNS = (
    "household_id",
    "id",
    "name",
    "birth_date",
    "health",
    "school_status",
    "medical_insurance",
    "serious_illness_insurance",
    "is_active",
    "left_on",
)
INCOME_COLUMNS = ("household_id", *IncomeRecord.AMOUNT_FIELDS)


def rule_settings() -> rules.RuleSettings:
    """The thresholds of the warnings (``ASSESSMENT_RULES`` in the settings, else the rules' defaults)."""
    overrides = getattr(settings, "ASSESSMENT_RULES", {})
    return rules.RuleSettings(
        **{k: Decimal(str(v)) if k != "monitoring_from_year" else int(v) for k, v in overrides.items()}
    )


def line_for_code(lines: Iterable[tuple[str, Decimal]], division_code: str) -> Decimal | None:
    """The most specific line whose region code prefixes ``division_code`` ('' = national)."""
    best_len, best = -1, None
    for region_code, amount in lines:
        if division_code.startswith(region_code) and len(region_code) > best_len:
            best_len, best = len(region_code), amount
    return best


def year_lines(year: int) -> list[tuple[str, Decimal]]:
    """The year's poverty lines as (region code, amount) pairs, for ``line_for_code``."""
    return list(PovertyLine.objects.filter(year=year, kind=LineKind.POVERTY).values_list("region_code", "amount"))


def facts_from_rows(
    *, year: int, line: Decimal | None, household: dict, members: list[dict], income: dict | None
) -> rules.HouseholdYearFacts:
    """The one translation from database columns to rule facts, used by both paths."""
    income_facts = None
    if income is not None:
        transfers = sum((income[f] for f in IncomeRecord.TRANSFER_FIELDS), ZERO)
        gross = sum((income[f] for f in IncomeRecord.INCOME_FIELDS), ZERO)
        income_facts = rules.IncomeFacts(net_income=gross - income["business_expenses"], transfer_income=transfers)
    return rules.HouseholdYearFacts(
        year=year,
        poverty_line=line,
        members=tuple(
            rules.MemberFacts(
                name=m["name"],
                birth_date=m["birth_date"],
                health=m["health"],
                school_status=m["school_status"],
                medical_insurance=m["medical_insurance"],
                serious_illness_insurance=m["serious_illness_insurance"],
                is_active=m["is_active"],
                left_on=m["left_on"],
            )
            for m in sorted(members, key=lambda m: m["id"])
        ),
        income=income_facts,
        food_secure=household["food_secure"],
        clothing_secure=household["clothing_secure"],
        house_safety_grade=household["house_safety_grade"],
        relocated=household["relocated"],
        water_quantity_ok=household["water_quantity_ok"],
        water_quality_ok=household["water_quality_ok"],
        water_convenient=household["water_convenient"],
        water_guaranteed=household["water_guaranteed"],
        status=household["status"],
    )


def household_year_rows(*, household: Household, year: int) -> dict:
    """The single-household path's rows: the same columns as the batch path, read for one household."""
    row = Household.objects.filter(pk=household.pk).values(*HOUSEHOLD_COLUMNS).get()
    return {
        "year": year,
        "line": line_for_code(year_lines(year), row["village__code"]),
        "household": row,
        "members": list(Member.objects.filter(household_id=household.pk).values(*MEMBER_COLUMNS)),
        "income": IncomeRecord.objects.filter(household_id=household.pk, year=year).values(*INCOME_COLUMNS).first(),
    }


def household_year_facts(*, household: Household, year: int) -> rules.HouseholdYearFacts:
    """The single-household path's facts."""
    return facts_from_rows(**household_year_rows(household=household, year=year))
