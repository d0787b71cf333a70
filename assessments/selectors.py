"""Reads of poverty lines (DOMAIN.md §3)."""

from __future__ import annotations

from decimal import Decimal

from assessments.models import LineKind, PovertyLine


def poverty_line_for(*, year: int, division_code: str, kind: str = LineKind.POVERTY) -> PovertyLine | None:
    """The line that applies in ``year`` to a place: the most specific region row whose code prefixes
    ``division_code`` (a county, township or village code), else the national row, else None."""
    candidates = PovertyLine.objects.filter(year=year, kind=kind)
    best: PovertyLine | None = None
    for line in candidates:
        if division_code.startswith(line.region_code) and (
            best is None or len(line.region_code) > len(best.region_code)
        ):
            best = line
    return best


def poverty_line_amount(*, year: int, division_code: str = "") -> Decimal | None:
    line = poverty_line_for(year=year, division_code=division_code)
    return line.amount if line else None
