"""Reads of the assessments app: poverty lines (DOMAIN.md §3), what to assess (§4), village and county exit (§6).

Owns the current assessment year and the years a household is assessed for, the households a year assesses
(``assessable_households``) and their keyset pages for the batch path (``keyset_pages``, ``page_size``), and
the village and county exit checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from assessments.models import Assessment, LineKind, PovertyLine
from households.choices import HouseholdStatus
from households.models import Household, IncomeRecord, Member
from villages.models import County, Township, Village

# Households per keyset page of the batch path, by database.
# Python path (SQLite): measured on 2 cores / PostgreSQL 15 with demo data (3.2 members per household),
# 2,000 households per page keeps each page's transaction well under a second.
PYTHON_PAGE_SIZE = 2000
# SQL path (PostgreSQL, batch.py): measured on 2 cores / PostgreSQL 15, 100,000 demo households (3.2 members
# each), a full recompute (every row written) costs the server the same CPU (7.6–7.8 s, under load) with pages
# of 10,000, 20,000 or 50,000; with 20,000 it took 8.7 s in all (about 1.7 s per page's transaction), a
# nightly pass with nothing changed 4.2 s.
SQL_PAGE_SIZE = 20_000

ASSESSED_EXCLUDED_STATUSES = (HouseholdStatus.REMOVED,)


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


# --- What to assess (DOMAIN.md §4) -----------------------------------------------------------------------


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


def household_assessment_years(*, household_id: int) -> list[int]:
    """Years to recompute after a household's inputs changed: the current year, every year it has an income
    record for, and every year it already has an assessment for."""
    years = {current_assessment_year()}
    years.update(IncomeRecord.objects.filter(household_id=household_id).values_list("year", flat=True))
    years.update(Assessment.objects.filter(household_id=household_id, is_current=True).values_list("year", flat=True))
    return sorted(years)


def assessable_households(*, year: int, county_code: str | None = None) -> QuerySet[Household]:
    """The households assessed for ``year``: identified by then and not removed (optionally of one county)."""
    queryset = Household.objects.filter(identified_year__lte=year).exclude(status__in=ASSESSED_EXCLUDED_STATUSES)
    if county_code:
        queryset = queryset.filter(village__county__code=county_code)
    return queryset


def assessable_count(*, year: int, county_code: str | None = None) -> int:
    return assessable_households(year=year, county_code=county_code).count()


def page_size() -> int:
    """Households per batch page on this database: larger pages for the SQL path (``SQL_PAGE_SIZE``)."""
    return SQL_PAGE_SIZE if connection.vendor == "postgresql" else PYTHON_PAGE_SIZE


def keyset_pages(*, year: int, county_code: str | None = None, size: int | None = None) -> Iterator[list[int]]:
    """Household ids to assess for ``year``, in pages ordered by id (``id > last``, never OFFSET)."""
    size = size or page_size()
    queryset = assessable_households(year=year, county_code=county_code)
    last = 0
    while True:
        page = list(queryset.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:size])
        if not page:
            return
        yield page
        last = page[-1]


# --- Village and county exit (DOMAIN.md §6) --------------------------------------------------------------

POOR_STATUSES = ("in_poverty", "returned")


@dataclass(frozen=True)
class ExitCheck:
    """Whether a village or county may exit, and every condition still missing (in Chinese)."""

    poor_people: int
    registered_population: int
    incidence: Decimal | None  # a fraction, e.g. 0.0150 = 1.50%
    eligible: bool
    missing: tuple[str, ...]

    @property
    def incidence_percent(self) -> str:
        return "—" if self.incidence is None else f"{self.incidence * 100:.2f}%"


def _fraction(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def poor_people_by(group_field: str, **filters) -> dict[int, int]:
    """People (active members) in households in poverty or returned to poverty, grouped by
    ``village_id``, ``village__township_id`` or ``village__county_id`` — one aggregate query."""
    rows = (
        Member.objects.filter(is_active=True, household__status__in=POOR_STATUSES, **filters)
        .values(f"household__{group_field}")
        .annotate(people=Count("id"))
        .values_list(f"household__{group_field}", "people")
    )
    return dict(rows)


def village_exit_check(village: Village, *, poor_people: int | None = None) -> ExitCheck:
    """贫困村出列: incidence below the threshold, the seven indicators, and the collective income minimum."""
    if poor_people is None:
        poor_people = poor_people_by("village_id", household__village=village).get(village.pk, 0)
    incidence = _fraction(poor_people, village.registered_population)
    missing: list[str] = []
    threshold = Decimal(str(settings.VILLAGE_EXIT_MAX_INCIDENCE))
    if incidence is None:
        missing.append("未填写户籍人口，无法计算贫困发生率")
    elif incidence >= threshold:
        missing.append(f"贫困发生率{incidence * 100:.2f}%，未低于{threshold * 100:.0f}%")
    for name in Village.INDICATOR_FIELDS:
        if not getattr(village, name):
            missing.append(f"{Village._meta.get_field(name).verbose_name}未达标")
    minimum = settings.VILLAGE_EXIT_MIN_COLLECTIVE_INCOME
    if minimum is not None and village.collective_income_yuan < Decimal(str(minimum)):
        missing.append(f"村集体经济收入{village.collective_income_yuan}元，低于{minimum}元")
    return ExitCheck(poor_people, village.registered_population, incidence, not missing, tuple(missing))


def village_exit_checks(villages: Iterable[Village]) -> dict[int, ExitCheck]:
    """``village_exit_check`` for many villages with one aggregate query."""
    villages = list(villages)
    people = poor_people_by("village_id", household__village__in=[v.pk for v in villages])
    return {v.pk: village_exit_check(v, poor_people=people.get(v.pk, 0)) for v in villages}


def township_incidence(township: Township) -> ExitCheck:
    poor = poor_people_by("village__township_id", household__village__township=township).get(township.pk, 0)
    population = Village.objects.filter(township=township).aggregate(n=Sum("registered_population"))["n"] or 0
    incidence = _fraction(poor, population)
    return ExitCheck(poor, population, incidence, incidence is not None, ())


def county_exit_check(county: County) -> ExitCheck:
    """贫困县摘帽: county incidence below the threshold, at least 90% of its poverty villages exited, and the
    third-party assessment figures (wrong-exit and missed-identification rates, public recognition)."""
    poor = poor_people_by("village__county_id", household__village__county=county).get(county.pk, 0)
    villages = Village.objects.filter(county=county).aggregate(
        population=Sum("registered_population"),
        poverty_villages=Count("id", filter=Q(is_poverty_village=True)),
        exited=Count("id", filter=Q(is_poverty_village=True, exit_year__isnull=False)),
    )
    population = villages["population"] or 0
    incidence = _fraction(poor, population)
    missing: list[str] = []
    threshold = Decimal(str(settings.COUNTY_EXIT_MAX_INCIDENCE))
    if incidence is None:
        missing.append("各村未填写户籍人口，无法计算贫困发生率")
    elif incidence >= threshold:
        missing.append(f"贫困发生率{incidence * 100:.2f}%，未低于{threshold * 100:.0f}%")
    share = _fraction(villages["exited"], villages["poverty_villages"])
    minimum_share = Decimal(str(settings.COUNTY_EXIT_MIN_VILLAGES_EXITED))
    if share is not None and share < minimum_share:
        missing.append(
            f"贫困村出列{villages['exited']}/{villages['poverty_villages']}个（{share * 100:.1f}%），"
            f"未达到{minimum_share * 100:.0f}%"
        )
    max_rate = Decimal(str(settings.COUNTY_EXIT_MAX_ERROR_RATE_PERCENT))
    for field_name, label in (("wrong_exit_rate", "错退率"), ("missed_identification_rate", "漏评率")):
        value = getattr(county, field_name)
        if value is None:
            missing.append(f"未录入第三方评估{label}")
        elif value >= max_rate:
            missing.append(f"{label}{value}%，未低于{max_rate}%")
    min_recognition = Decimal(str(settings.COUNTY_EXIT_MIN_RECOGNITION_PERCENT))
    if county.public_recognition_rate is None:
        missing.append("未录入第三方评估群众认可度")
    elif county.public_recognition_rate < min_recognition:
        missing.append(f"群众认可度{county.public_recognition_rate}%，低于{min_recognition}%")
    return ExitCheck(poor, population, incidence, not missing, tuple(missing))
