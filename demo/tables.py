"""The weighted tables the demo generator draws from, and the small pure helpers it computes with.

``WeightedTable`` makes one weighted choice per ``random()``. The tables are the shares of DOMAIN.md: primary
causes after the Jiaozuo 2016 figures (§2), household compositions by cause, household statuses, house safety
grades, places of work, and the income buckets around the poverty line that make every exit criterion (§4)
fail for a visible share of households. Also the schooling tables, ``age_on``, ``yuan`` and ``split_evenly``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterable, Sequence
from decimal import Decimal

from demo.names import SURNAMES
from households import choices


class WeightedTable:
    """Fast weighted choice with one ``random()`` per draw."""

    def __init__(self, items: Iterable[tuple[object, float]]) -> None:
        pairs = list(items)
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def _table(mapping: dict) -> WeightedTable:
    return WeightedTable(mapping.items())


C = choices.Cause
# Jiaozuo 2016 (DOMAIN.md §2): illness + disability 53.5%, lack of skills 18.1%, lack of capital 10.2%,
# education 6.3%, lack of labour 6.2%, other 5.7% (spread over the remaining causes).
CAUSE_WEIGHTS = {
    C.ILLNESS: 33.0,
    C.DISABILITY: 20.5,
    C.LACK_SKILLS: 18.1,
    C.LACK_CAPITAL: 10.2,
    C.EDUCATION: 6.3,
    C.LACK_LABOR: 6.2,
    C.DISASTER: 1.2,
    C.LACK_LAND: 1.0,
    C.LACK_WATER: 0.6,
    C.POOR_TRANSPORT: 1.0,
    C.LACK_MOTIVATION: 1.4,
    C.OTHER: 0.5,
}
CAUSES = _table({cause.value: weight for cause, weight in CAUSE_WEIGHTS.items()})

# Household compositions (see DemoGenerator.compose); the weights depend on the primary cause.
_BASE_COMPOSITION = {  # about three people per household, as Luoyang's 316,700 people in 108,000 households
    "single_elder": 16,
    "elder_couple": 20,
    "nuclear": 34,
    "three_gen": 14,
    "single_adult": 10,
    "skip_gen": 6,
}
COMPOSITION_BY_CAUSE = {
    C.EDUCATION.value: _table({"nuclear": 70, "three_gen": 30}),
    C.LACK_LABOR.value: _table({"single_elder": 35, "elder_couple": 30, "single_adult": 20, "skip_gen": 15}),
}
COMPOSITION_DEFAULT = _table(_BASE_COMPOSITION)

HS = choices.HouseholdStatus
STATUSES = _table({HS.EXITED: 62, HS.IN_POVERTY: 22, HS.UNSTABLE: 6, HS.MARGINAL: 5, HS.RETURNED: 3, HS.REMOVED: 2})
IDENTIFIED_YEARS = _table({2014: 60, 2015: 25, 2016: 15})
HOUSE_GRADES = _table({"A": 40, "B": 46, "C": 6, "D": 3, "unknown": 5})
WORK_PLACES = _table({"in_township": 18, "in_county": 25, "in_province": 25, "out_of_province": 32})
WORK_MONTHS = {"in_township": (2, 10), "in_county": (3, 12), "in_province": (5, 12), "out_of_province": (6, 12)}
SURNAME_TABLE = WeightedTable(SURNAMES)
PHONE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "155", "156", "158")
PHONE_PREFIXES += ("159", "176", "177", "180", "183", "185", "186", "187", "188", "189", "199")

# Income buckets: where a household's per-capita net income falls relative to the poverty line of a year.
#   none: no income record; below: 45–99.99% of the line; exact: exactly the line (fails: must be above);
#   fragile: just above (≤ 10% above); above: 1.1–2.6×; modest: 1.1–1.5× (monitoring range); high: 3–6×.
# "passing" (a file that must meet the standard: exited, or proposed for exit) only passes; "falling" (a return
# candidate's latest year) only fails.
_INCOME_PROFILES = {
    "passing": {"fragile": 14, "above": 86},
    "falling": {"below": 90, "exact": 10},
    "poor": {"none": 6, "below": 50, "exact": 4, "fragile": 14, "above": 26},
    "unstable": {"none": 3, "below": 20, "exact": 4, "fragile": 40, "above": 33},
    "returned": {"none": 4, "below": 65, "exact": 5, "fragile": 12, "above": 14},
    "marginal": {"none": 4, "below": 10, "exact": 2, "fragile": 30, "modest": 54},
    "removed": {"none": 10, "high": 90},
}
INCOME_PROFILES = {name: _table(weights) for name, weights in _INCOME_PROFILES.items()}
INCOME_RANGES = {"below": (0.45, 0.9999), "fragile": (1.0001, 1.0999), "above": (1.1, 2.6)}
INCOME_RANGES |= {"modest": (1.1, 1.5), "high": (3.0, 6.0)}

SCHOOLED = frozenset({"preschool", "primary", "junior", "senior", "vocational", "college", "home_schooling"})
EDUCATION_FOR_SCHOOL = {
    "preschool": "preschool",
    "primary": "primary",
    "junior": "junior",
    "senior": "senior",
    "vocational": "senior",
    "college": "college",
    "home_schooling": "primary",
}


def age_on(birth_date: dt.date, day: dt.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def yuan(fen: int) -> Decimal:
    """An integer number of fen as a 2-place Decimal (exact)."""
    return Decimal(fen).scaleb(-2)


def split_evenly(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder, deterministic)."""
    if not weights:
        return []
    weight_sum = sum(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts
