"""The fingerprint of an assessment's inputs: one canonical text, written identically in Python and in SQL.

A result is stored only when its fingerprint differs from the current assessment's, so running a recompute
twice writes nothing the second time (DOMAIN.md §4).

fingerprint = md5 (hex) of
    header # household columns # poverty line # income amounts # members
header = rules version | year | rule settings (built in Python, a parameter of the SQL);
household = ``facts.HOUSEHOLD_COLUMNS`` values; income = ``IncomeRecord.AMOUNT_FIELDS`` values (all empty
without a record); members = every member (not only the year's), ordered by id, ``facts.MEMBER_COLUMNS``
values, joined by ';'. Fields are joined by '|' and written by kind: NULL → '', bool → t/f, date → YYYY-MM-DD,
money → 1234.50 (numeric(…,2)::text), int → digits, text as is, a name as '<length>:<name>' (so that a '|' or
';' in a name cannot shift the fields). ``canonical_text`` writes it in Python, the ``*_CANONICAL_SQL``
expressions below in SQL (used by batch.py): change the two columns of ``_CANONICAL_WRITERS`` together; the
property test compares the fingerprints stored by both paths.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal

from assessments import rules
from assessments.facts import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from households.models import IncomeRecord

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


def fingerprint(
    *, year: int, line: Decimal | None, household: dict, members: list[dict], income: dict | None, rule_config
) -> str:
    """md5 of ``canonical_text``: equal inputs (and rules) give an equal fingerprint, so nothing is rewritten."""
    text = canonical_text(
        year=year, line=line, household=household, members=members, income=income, rule_config=rule_config
    )
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


# The same text in SQL over households_household h, villages_village v, households_incomerecord i (LEFT
# JOIN), households_member m and the line (an expression given by batch.py).
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
