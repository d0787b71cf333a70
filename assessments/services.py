"""Computing and storing exit assessments (DOMAIN.md §4): the single-household path and the batch path.

Both paths read the same columns (``HOUSEHOLD_COLUMNS``, ``MEMBER_COLUMNS``, ``IncomeRecord.AMOUNT_FIELDS``),
turn them into ``rules.HouseholdYearFacts`` with the same function and call the same pure rules, so they
cannot disagree. On PostgreSQL the batch path is instead ``batch_sql``, the same rules translated into SQL and
held to the Python rules by the property test. A result is written only when its fingerprint (md5 of a
canonical text of the input columns, the line, the rules version and settings, written identically in Python
and SQL) differs from the current assessment's: running a recompute twice writes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from assessments import rules
from assessments.models import Assessment, LineKind, PovertyLine
from households.choices import HouseholdStatus
from households.models import ZERO, Household, IncomeRecord, Member

# Keyset page size of the Python batch path (SQLite; PostgreSQL uses batch_sql.PAGE_SIZE). Measured on
# 2 cores / PostgreSQL 15 with demo data (3.2 members per household): 2,000 households per page keeps each
# page's transaction well under a second.
BATCH_SIZE = 2000

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
ASSESSED_EXCLUDED_STATUSES = (HouseholdStatus.REMOVED,)


def rule_settings() -> rules.RuleSettings:
    overrides = getattr(settings, "ASSESSMENT_RULES", {})
    return rules.RuleSettings(
        **{k: Decimal(str(v)) if k != "monitoring_from_year" else int(v) for k, v in overrides.items()}
    )


def current_assessment_year() -> int:
    """The year assessed by the nightly job: ``ASSESSMENT_YEAR`` if set, else the latest year (not after
    this one) that has a national poverty line."""
    configured = getattr(settings, "ASSESSMENT_YEAR", None)
    if configured:
        return int(configured)
    this_year = timezone.localdate().year
    latest = (
        PovertyLine.objects.filter(kind=LineKind.POVERTY, region_code="", year__lte=this_year)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )
    return latest or this_year


def line_for_code(lines: Iterable[tuple[str, Decimal]], division_code: str) -> Decimal | None:
    """The most specific line whose region code prefixes ``division_code`` ('' = national)."""
    best_len, best = -1, None
    for region_code, amount in lines:
        if division_code.startswith(region_code) and len(region_code) > best_len:
            best_len, best = len(region_code), amount
    return best


def _year_lines(year: int) -> list[tuple[str, Decimal]]:
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


# --- the fingerprint: one canonical text of the raw inputs, written identically by Python and by SQL --------
#
# fingerprint = md5 (hex) of
#     header # household columns # poverty line # income amounts # members
# header = rules version | year | rule settings (built in Python, a parameter of the SQL);
# household = HOUSEHOLD_COLUMNS values; income = IncomeRecord.AMOUNT_FIELDS values (all empty without a
# record); members = every member (not only the year's), ordered by id, MEMBER_COLUMNS values, joined by ';'.
# Fields are joined by '|' and written by kind: NULL → '', bool → t/f, date → YYYY-MM-DD, money → 1234.50
# (numeric(…,2)::text), int → digits, text as is, a name as '<length>:<name>' (so that a '|' or ';' in a
# name cannot shift the fields). ``canonical_text`` writes it in Python, the ``*_CANONICAL_SQL`` expressions
# below in SQL (used by batch_sql.py): change the two columns of ``_CANONICAL_WRITERS`` together; the
# property test compares the fingerprints stored by both paths.
CANONICAL_KINDS = {
    "id": "int",
    "household_id": "int",
    "status": "text",
    "food_secure": "bool",
    "clothing_secure": "bool",
    "house_safety_grade": "text",
    "relocated": "bool",
    "water_quantity_ok": "bool",
    "water_quality_ok": "bool",
    "water_convenient": "bool",
    "water_guaranteed": "bool",
    "village__code": "text",
    "name": "name",
    "birth_date": "date",
    "health": "text",
    "school_status": "text",
    "medical_insurance": "bool",
    "serious_illness_insurance": "bool",
    "is_active": "bool",
    "left_on": "date",
    **dict.fromkeys(IncomeRecord.AMOUNT_FIELDS, "money"),
    "poverty_line": "money",
}
_CANONICAL_WRITERS = {  # kind: (Python writer of a non-null value, SQL expression of a column {c})
    "int": (str, "coalesce({c}::text, '')"),
    "text": (str, "coalesce({c}::text, '')"),
    "name": (lambda v: f"{len(v)}:{v}", "coalesce(char_length({c}) || ':' || {c}, '')"),
    "bool": (lambda v: "t" if v else "f", "CASE WHEN {c} THEN 't' WHEN NOT {c} THEN 'f' ELSE '' END"),
    "date": (dt.date.isoformat, "coalesce(to_char({c}, 'YYYY-MM-DD'), '')"),
    "money": (lambda v: f"{v:.2f}", "coalesce({c}::text, '')"),  # the columns are numeric(…, 2)
}


def _canonical(column: str, value) -> str:
    return "" if value is None else _CANONICAL_WRITERS[CANONICAL_KINDS[column]][0](value)


def _canonical_sql(columns: Iterable[str], expressions: dict[str, str]) -> str:
    return " || '|' || ".join(_CANONICAL_WRITERS[CANONICAL_KINDS[c]][1].format(c=expressions[c]) for c in columns)


def fingerprint_header(year: int, rule_config: rules.RuleSettings) -> str:
    return f"{rules.RULES_VERSION}|{year}|{rule_config!r}"


def canonical_text(
    *, year: int, line: Decimal | None, household: dict, members: list[dict], income: dict | None, rule_config
) -> str:
    return "#".join(
        (
            fingerprint_header(year, rule_config),
            "|".join(_canonical(c, household[c]) for c in HOUSEHOLD_COLUMNS),
            _canonical("poverty_line", line),
            "|".join(_canonical(c, income[c] if income else None) for c in IncomeRecord.AMOUNT_FIELDS),
            ";".join(
                "|".join(_canonical(c, m[c]) for c in MEMBER_COLUMNS) for m in sorted(members, key=lambda m: m["id"])
            ),
        )
    )


# The same text in SQL over households_household h, villages_village v, households_incomerecord i (LEFT
# JOIN), households_member m and the line (an expression given by batch_sql.py).
HOUSEHOLD_CANONICAL_SQL = _canonical_sql(
    HOUSEHOLD_COLUMNS, {c: "v.code" if c == "village__code" else f"h.{c}" for c in HOUSEHOLD_COLUMNS}
)
INCOME_CANONICAL_SQL = _canonical_sql(IncomeRecord.AMOUNT_FIELDS, {c: f"i.{c}" for c in IncomeRecord.AMOUNT_FIELDS})
MEMBER_CANONICAL_SQL = _canonical_sql(MEMBER_COLUMNS, {c: f"m.{c}" for c in MEMBER_COLUMNS})


def poverty_line_canonical_sql(expression: str) -> str:
    return _canonical_sql(["poverty_line"], {"poverty_line": expression})


def canonical_text_sql(*, header: str, household: str, line: str, income: str, members: str) -> str:
    """SQL joining the parts like ``canonical_text`` (``members`` may be NULL: no member rows)."""
    return f"{header} || '#' || {household} || '#' || {line} || '#' || {income} || '#' || coalesce({members}, '')"


def fingerprint(
    *, year: int, line: Decimal | None, household: dict, members: list[dict], income: dict | None, rule_config
) -> str:
    """md5 of ``canonical_text``: equal inputs (and rules) give an equal fingerprint, so nothing is rewritten."""
    text = canonical_text(
        year=year, line=line, household=household, members=members, income=income, rule_config=rule_config
    )
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _assessment_row(household_id: int, result: rules.AssessmentResult, print_: str, now) -> Assessment:
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


def _store(year: int, computed: dict[int, tuple[rules.AssessmentResult, str]]) -> RecomputeSummary:
    """Write the results whose fingerprint changed; one transaction for the page."""
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


def _assessable(year: int):
    return Household.objects.filter(identified_year__lte=year).exclude(status__in=ASSESSED_EXCLUDED_STATUSES)


def assess_households(*, household_ids: list[int], year: int) -> RecomputeSummary:
    """The batch path: assess the given households for ``year`` and store what changed.

    On PostgreSQL the exit standard is evaluated and written in SQL (``batch_sql``), a translation of the
    pure rules checked against them by the property test; elsewhere (SQLite) with three queries and the
    pure rules in Python (``assess_households_python``)."""
    if connection.vendor == "postgresql":
        from assessments import batch_sql  # imports this module

        return batch_sql.assess_households(household_ids=household_ids, year=year)
    return assess_households_python(household_ids=household_ids, year=year)


def assess_households_python(*, household_ids: list[int], year: int) -> RecomputeSummary:
    """The batch path in Python: three queries, the pure rules per household, store what changed."""
    rule_config = rule_settings()
    lines = _year_lines(year)
    households = list(_assessable(year).filter(id__in=household_ids).values(*HOUSEHOLD_COLUMNS))
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
    return _store(year, computed)


def assess_rows(
    *, year: int, line: Decimal | None, household: dict, members: list[dict], income: dict | None, rule_config
) -> tuple[rules.AssessmentResult, str]:
    """The pure rules' result and the fingerprint for one household's rows."""
    rows = {"year": year, "line": line, "household": household, "members": members, "income": income}
    facts = facts_from_rows(**rows)
    return rules.assess_household_year(facts, rule_config), fingerprint(**rows, rule_config=rule_config)


def household_year_rows(*, household: Household, year: int) -> dict:
    """The single-household path's rows: the same columns as the batch path, read for one household."""
    row = Household.objects.filter(pk=household.pk).values(*HOUSEHOLD_COLUMNS).get()
    return {
        "year": year,
        "line": line_for_code(_year_lines(year), row["village__code"]),
        "household": row,
        "members": list(Member.objects.filter(household_id=household.pk).values(*MEMBER_COLUMNS)),
        "income": IncomeRecord.objects.filter(household_id=household.pk, year=year).values(*INCOME_COLUMNS).first(),
    }


def household_year_facts(*, household: Household, year: int) -> rules.HouseholdYearFacts:
    """The single-household path's facts."""
    return facts_from_rows(**household_year_rows(household=household, year=year))


def household_assess(*, household: Household, year: int) -> Assessment:
    """Assess one household for one year now, with the pure rules in Python (the specification, on every
    database), and return its current assessment (written only if changed)."""
    rows = household_year_rows(household=household, year=year)
    _store(year, {household.pk: assess_rows(**rows, rule_config=rule_settings())})
    return Assessment.objects.get(household=household, year=year, is_current=True)


def household_assessment_years(*, household_id: int) -> list[int]:
    """Years to recompute after a household's inputs changed: the current year, every year it has an income
    record for, and every year it already has an assessment for."""
    years = {current_assessment_year()}
    years.update(IncomeRecord.objects.filter(household_id=household_id).values_list("year", flat=True))
    years.update(Assessment.objects.filter(household_id=household_id, is_current=True).values_list("year", flat=True))
    return sorted(years)


def page_size() -> int:
    """Households per batch page on this database: larger pages for the SQL path (see ``batch_sql.PAGE_SIZE``)."""
    if connection.vendor == "postgresql":
        from assessments import batch_sql

        return batch_sql.PAGE_SIZE
    return BATCH_SIZE


def keyset_pages(*, year: int, county_code: str | None = None, size: int | None = None) -> Iterator[list[int]]:
    """Household ids to assess for ``year``, in pages ordered by id (``id > last``, never OFFSET)."""
    size = size or page_size()
    queryset = _assessable(year)
    if county_code:
        queryset = queryset.filter(village__county__code=county_code)
    last = 0
    while True:
        page = list(queryset.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:size])
        if not page:
            return
        yield page
        last = page[-1]


def assessable_count(*, year: int, county_code: str | None = None) -> int:
    queryset = _assessable(year)
    if county_code:
        queryset = queryset.filter(village__county__code=county_code)
    return queryset.count()
