"""The demo registry: ``generate`` and ``DemoGenerator``, which plans Luoyang's counties, townships and villages,
then the poor households with their members (through ``FamilyGenerator``) and yearly incomes, and writes them.

Used by ``manage.py generate_demo_data``. Everything is drawn from one ``random.Random(seed)`` in a fixed
order and every date is a fixed date (no "today"), so the same seed and the same arguments always give the
same households, names, ID numbers and incomes. Rows are written in chunks inside the caller's transaction,
with ``bulk_create`` (``OrmWriter``) or, on PostgreSQL, with ``COPY`` (``CopyWriter``: 100,000 households in
under a minute). Bulk writes bypass ``full_clean()`` and ``save()``, so every derived field is set here
(``Member.gender``/``birth_date`` from the ID number, ``Village.county`` from the township), and the history
rows (django-simple-history) are inserted directly, one "+" row per row, with the demo admin as
``history_user`` and the change reason "演示数据生成". Signals are not sent: run ``recompute_eligibility``
afterwards to compute the assessments.

The distributions (``demo.tables``) are chosen so that every exit criterion of DOMAIN.md §4 fails for a
visible share of the households while most pass, and the primary causes follow the Jiaozuo 2016 shares of
DOMAIN.md §2. The file tells the truth: an exited household meets the exit standard from its exit year to the
latest year (``demo.standard``), except about one in a hundred left to fail the latest year on purpose (return
candidates, listed in ``GenerationResult.return_candidates``). Each household has its ``registered`` decision and
each exited one its ``exited`` decision in the county's hash-chained log (``demo.decisions``). The first households
of the demo village (``demo_village_plan``) are scripted for the demo's applications (``demo.procedures.SCRIPT``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from assessments.models import LineKind, PovertyLine
from demo.decisions import append_migrated, migrated_decisions
from demo.logins import DEMO_LOGINS
from demo.names import CITY_NAME, COUNTIES, CountySpec, township_code, village_name
from demo.people import FamilyGenerator
from demo.procedures import DEMO_VILLAGE_HOUSEHOLDS, PART_STATUSES, RETURN_CANDIDATE, SCRIPT
from demo.procedures import EXIT as EXIT_PART
from demo.standard import is_return_candidate, meet_exit_standard
from demo.tables import (
    CAUSES,
    COMPOSITION_BY_CAUSE,
    COMPOSITION_DEFAULT,
    HOUSE_GRADES,
    HS,
    IDENTIFIED_YEARS,
    INCOME_PROFILES,
    INCOME_RANGES,
    PHONE_PREFIXES,
    STATUSES,
    C,
    age_on,
    split_evenly,
    yuan,
)
from demo.writers import BATCH_SIZE, CopyWriter, OrmWriter, default_writer_class
from households.models import Household, IncomeRecord, Member
from villages.models import County, Township, Village

DEFAULT_YEARS = (2019, 2020)
CHUNK_HOUSEHOLDS = 2500  # households generated and written per round trip
HOUSEHOLDS_PER_VILLAGE = 150
MIN_VILLAGES_PER_COUNTY = 3
MAX_HOUSEHOLDS_PER_VILLAGE = 9999  # household_number = village code + 4-digit sequence
REFERENCE_DAY = (9, 1)  # ages are taken on 1 September of the latest demo year (school-year start)
# The counties with a demo village: where a demo login works in a village (the secretary and the work team).
DEMO_VILLAGE_COUNTIES = frozenset(login.county_code for login in DEMO_LOGINS if login.place == "village")


@dataclass
class VillagePlan:
    code: str
    name: str
    township_code: str
    township_name: str
    county: CountySpec
    households: int
    is_poverty_village: bool
    exit_year: int | None
    registered_population: int
    indicators: dict[str, bool]
    collective_income_fen: int
    people: int = 0
    scripted: bool = False  # the demo village: its first households play the parts of demo.procedures.SCRIPT


@dataclass
class GenerationResult:
    counties: int = 0
    townships: int = 0
    villages: int = 0
    households: int = 0
    members: int = 0
    inactive_members: int = 0
    income_records: int = 0
    history_rows: int = 0
    decisions: int = 0
    seconds: float = 0.0
    years: tuple[int, ...] = ()
    statuses: Counter = field(default_factory=Counter)
    causes: Counter = field(default_factory=Counter)
    return_candidates: list[str] = field(default_factory=list)  # household numbers failing the latest year on purpose


class DemoGenerator:
    """Plans and writes the demo registry. One instance per run; all randomness from ``self.rng``."""

    def __init__(
        self,
        *,
        households: int,
        seed: int,
        years: Sequence[int] = DEFAULT_YEARS,
        history_user=None,
        chunk_size: int = CHUNK_HOUSEHOLDS,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
        writer_class: type[OrmWriter | CopyWriter] | None = None,
    ) -> None:
        if households < 0:
            raise ValueError("households must not be negative")
        self.total_households = households
        self.rng = random.Random(seed)
        self.years = tuple(sorted(set(years)))
        if not self.years:
            raise ValueError("at least one year is needed")
        self.last_year = self.years[-1]
        self.reference = dt.date(self.last_year, *REFERENCE_DAY)
        self.history_user_id = getattr(history_user, "pk", None)
        self.chunk_size = chunk_size
        self.batch_size = batch_size
        self.progress = progress
        self.writer_class = writer_class  # None: the fastest for the database (see default_writer_class)
        self.family = FamilyGenerator(rng=self.rng, reference=self.reference, last_year=self.last_year)
        self.result = GenerationResult(years=self.years)
        self.lines_fen = self._poverty_lines()
        self.exited_before_latest = 0  # counts the exited households that may be return candidates
        self.when = timezone.now()  # the history date is when the rows were written, not part of the data
        self.county_of_village: dict[int, int] = {}

    def _poverty_lines(self) -> dict[int, int]:
        rows = dict(
            PovertyLine.objects.filter(kind=LineKind.POVERTY, region_code="", year__in=self.years).values_list(
                "year", "amount"
            )
        )
        missing = [year for year in self.years if year not in rows]
        if missing:
            raise ValueError(f"no national poverty line for {missing}")
        return {year: int(amount * 100) for year, amount in rows.items()}

    # -- plan ------------------------------------------------------------------------------------------

    def plan_villages(self) -> tuple[list[tuple[CountySpec, list[tuple[str, str]]]], list[VillagePlan]]:
        rng = self.rng
        total_weight = sum(c.weight for c in COUNTIES)
        per_county = split_evenly(self.total_households, [c.weight for c in COUNTIES])
        townships: list[tuple[CountySpec, list[tuple[str, str]]]] = []
        villages: list[VillagePlan] = []
        for county, county_households in zip(COUNTIES, per_county, strict=True):
            index_by_kind: Counter = Counter()
            county_townships = [(township_code(county.code, name, index_by_kind), name) for name in county.townships]
            townships.append((county, county_townships))
            wanted = round(self.total_households * county.weight / total_weight / HOUSEHOLDS_PER_VILLAGE)
            count = max(MIN_VILLAGES_PER_COUNTY, wanted)
            # Spread villages over townships (the seat town gets fewer poor villages).
            township_weights = [0.5 if i == 0 else rng.uniform(0.7, 1.3) for i in range(len(county_townships))]
            per_township = split_evenly(count, township_weights)
            county_villages: list[VillagePlan] = []
            for (t_code, t_name), n in zip(county_townships, per_township, strict=True):
                taken: set[str] = set()
                for k in range(n):
                    county_villages.append(self._plan_village(county, t_code, t_name, 201 + k, taken))
            weights = [rng.uniform(0.5, 1.5) * (1.6 if v.is_poverty_village else 1.0) for v in county_villages]
            for village, n in zip(county_villages, split_evenly(county_households, weights), strict=True):
                village.households = n
            if county.code in DEMO_VILLAGE_COUNTIES:
                self._script_demo_village(county_villages)
            if any(v.households > MAX_HOUSEHOLDS_PER_VILLAGE for v in county_villages):
                raise ValueError("too many households per village; this should not happen")
            villages.extend(county_villages)
        return townships, villages

    def _script_demo_village(self, villages: list[VillagePlan]) -> None:
        """Mark the county's demo village and give it at least ``DEMO_VILLAGE_HOUSEHOLDS`` households, taken one
        by one from the county's largest other village (each keeps one, so the demo village stays the same)."""
        demo = demo_village_plan(villages)
        if demo is None:
            return
        demo.scripted = True
        others = [v for v in villages if v is not demo]
        while demo.households < DEMO_VILLAGE_HOUSEHOLDS and others:
            donor = max(others, key=lambda v: (v.households, v.code))
            if donor.households <= 1:
                break
            donor.households -= 1
            demo.households += 1

    def _plan_village(self, county: CountySpec, t_code: str, t_name: str, number: int, taken: set) -> VillagePlan:
        rng = self.rng
        poor = rng.random() < (0.55 if county.is_poverty_county else 0.2)
        exit_year = None
        if poor and rng.random() < 0.75:
            exit_year = rng.randint(min(2017, self.last_year), self.last_year)
        lagging = poor and exit_year is None
        odds = {
            "has_hardened_road": 0.96,
            "has_safe_water": 0.94,
            "has_power": 0.99,
            "has_radio_tv": 0.95,
            "has_cultural_venue": 0.86,
            "has_clinic": 0.9,
            "has_broadband": 0.88,
        }
        indicators = {name: rng.random() < (p - 0.12 if lagging else p) for name, p in odds.items()}
        if poor:
            income = 0 if (lagging and rng.random() < 0.3) else rng.randint(10_000, 150_000)
        else:
            income = rng.randint(30_000, 600_000)
        return VillagePlan(
            code=f"{t_code}{number:03d}",
            name=village_name(rng, taken),
            township_code=t_code,
            township_name=t_name,
            county=county,
            households=0,
            is_poverty_village=poor,
            exit_year=exit_year,
            registered_population=rng.randint(800, 3000),
            indicators=indicators,
            collective_income_fen=income * 100,
        )

    # -- households ----------------------------------------------------------------------------------------

    def household(self, village: VillagePlan, sequence: int) -> tuple[dict, list[dict], list[dict]]:
        """One household with its members and income records, as plain field dicts."""
        rng = self.rng
        county = village.county
        cause = CAUSES.pick(rng)
        composition = COMPOSITION_BY_CAUSE.get(cause, COMPOSITION_DEFAULT).pick(rng)
        people = self.family.compose(composition, cause)
        self.family.assign_health(people, cause)
        members = [self.family.member_row(person, county.code) for person in people]
        active = [m for m in members if m["is_active"]]
        size = len(active)

        attribute = "general"
        roll = rng.random()
        able = any(
            16 <= age_on(m["birth_date"], self.reference) <= 65 and m["labor_ability"] in ("skilled", "ordinary")
            for m in active
        )
        if composition in ("single_elder", "single_adult") and not able:
            attribute = "tekun" if roll < 0.4 else "dibao" if roll < 0.75 else "general"
        elif roll < 0.15:
            attribute = "dibao"

        part = SCRIPT[sequence - 1].role if village.scripted and sequence <= len(SCRIPT) else ""
        status = PART_STATUSES.get(part, STATUSES.pick(rng))  # drawn for every household: the stream stays the same
        identified_year = min(IDENTIFIED_YEARS.pick(rng), self.last_year)
        exit_year = None
        if status in (HS.EXITED, HS.UNSTABLE, HS.RETURNED):
            first = max(identified_year, 2015)
            last = max(first, self.last_year - 1 if status == HS.RETURNED else self.last_year)
            exit_year = rng.randint(first, last)
        # From which year the file must meet the exit standard, and the year a return candidate falls back.
        passing_from = falling_in = None
        if status == HS.EXITED:
            if part == RETURN_CANDIDATE and identified_year < self.last_year:
                exit_year = self.last_year - 1
                falling_in = self.last_year
            elif not part and exit_year < self.last_year:
                self.exited_before_latest += 1
                if is_return_candidate(self.exited_before_latest):
                    falling_in = self.last_year
            passing_from = exit_year
        elif part == EXIT_PART:
            passing_from = self.last_year

        other_causes: list[str] = []
        roll = rng.random()
        if roll < 0.45:
            for _ in range(1 if roll < 0.35 else 2):
                extra = CAUSES.pick(rng)
                if extra != cause and extra not in other_causes:
                    other_causes.append(extra)

        grade = HOUSE_GRADES.pick(rng)
        relocated = rng.random() < 0.08
        if relocated and rng.random() < 0.7:
            grade = "A"  # the new flat; the rest keep the old house's grade on file
        water = [True, True, True, True]
        if rng.random() < 0.06:
            for index in rng.sample(range(4), rng.choice((1, 1, 2))):
                water[index] = False

        per_person_land = rng.uniform(0.6, 1.5) if county.mountainous else rng.uniform(1.0, 2.2)
        if cause == C.LACK_LAND or rng.random() < 0.04:
            per_person_land = rng.uniform(0.0, 0.3)
        cultivated = round(per_person_land * max(size, 1), 1)
        forest = 0.0
        if rng.random() < (0.6 if county.mountainous else 0.1):
            forest = round(rng.uniform(1, 30) if county.mountainous else rng.uniform(0.5, 5), 1)

        phone = ""
        if rng.random() < 0.95:
            phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        clarity = None
        if rng.random() < 0.92:
            start = dt.date(max(identified_year, 2016), 3, 1)
            end = dt.date(max(2016, min(2019, self.last_year)), 12, 31)
            clarity = start + dt.timedelta(days=rng.randrange((end - start).days + 1))

        group, door = rng.randint(1, 12), rng.randint(1, 80)
        household = {
            "household_number": f"{village.code}{sequence:04d}",
            "address": f"{county.name}{village.township_name}{village.name}{group}组{door}号",
            "phone": phone,
            "identification_standard": "provincial" if rng.random() < 0.05 else "national",
            "attribute": attribute,
            "status": status,
            "identified_year": identified_year,
            "exit_year": exit_year,
            "primary_cause": cause,
            "other_causes": other_causes,
            "food_secure": rng.random() >= 0.035,
            "clothing_secure": rng.random() >= 0.025,
            "house_safety_grade": grade,
            "relocated": relocated,
            "water_quantity_ok": water[0],
            "water_quality_ok": water[1],
            "water_convenient": water[2],
            "water_guaranteed": water[3],
            "cultivated_land_mu": Decimal(f"{cultivated:.1f}"),
            "forest_land_mu": Decimal(f"{forest:.1f}"),
            "clarity_card_issued_on": clarity,
        }
        if passing_from is not None:
            meet_exit_standard(
                rng, household, members, since=passing_from, until=self.last_year, reference=self.reference
            )
        if falling_in is not None:
            self.result.return_candidates.append(household["household_number"])
        incomes = []
        for year in self.years:
            profile = self._profile(status, exit_year, year, passing_from=passing_from, falling_in=falling_in)
            record = self.income(household, members, year, cultivated, forest, profile)
            if record is not None:
                incomes.append(record)
        village.people += len(active)
        return household, members, incomes

    def _profile(
        self, status: str, exit_year: int | None, year: int, *, passing_from: int | None, falling_in: int | None
    ) -> str:
        """The income bucket table of a household-year: passing from the year the file must meet the standard
        (an exited household from its exit year), falling in a return candidate's latest year."""
        if year == falling_in:
            return "falling"
        if passing_from is not None and year >= passing_from:
            return "passing"
        if status == HS.REMOVED:
            return "removed"
        if status == HS.MARGINAL:
            return "marginal"
        if status == HS.RETURNED:
            return "returned" if exit_year is None or year > exit_year else "passing"
        if status == HS.UNSTABLE:
            return "unstable" if exit_year is not None and year >= exit_year else "poor"
        return "poor"

    def income(self, household: dict, members: list[dict], year: int, cultivated: float, forest: float, profile: str):
        """An income record whose per-capita net income lands in a bucket of ``profile``, or None (no record)."""
        rng = self.rng
        bucket = INCOME_PROFILES[profile].pick(rng)
        if bucket == "none":
            return None
        year_end = dt.date(year, 12, 31)
        present = [
            m
            for m in members
            if m["birth_date"] <= year_end
            and (m["is_active"] or (m["left_on"] is not None and m["left_on"] > year_end))
        ]
        size = len(present)
        line = self.lines_fen[year]
        if bucket == "exact":
            per_capita = line
        else:
            low, high = INCOME_RANGES[bucket]
            per_capita = int(line * rng.uniform(low, high))
            if bucket == "below":
                per_capita = min(per_capita, line - 1)
            elif bucket == "fragile":
                per_capita = min(max(per_capita, line + 1), line * 11 // 10 - 1)
        net = per_capita * size  # exact: net ÷ size gives back per_capita to the fen

        # Transfers and property income follow policy, then earned income makes up the rest.
        ages = [age_on(m["birth_date"], year_end) for m in present]
        amounts = dict.fromkeys(IncomeRecord.AMOUNT_FIELDS, 0)
        monthly_pension = 9800 + 400 * max(0, year - 2014)  # fen; Henan basic pension ≈ 98–122 yuan/month
        amounts["pension_income"] = sum(
            12 * monthly_pension for m, a in zip(present, ages, strict=True) if a >= 60 and m["pension_insurance"]
        )
        if household["attribute"] == "dibao":
            amounts["dibao_income"] = size * 12 * rng.randint(12000, 22000)
        elif household["attribute"] == "tekun":
            amounts["tekun_income"] = size * rng.randint(400_000, 600_000)
        if ages and max(ages) >= 60 and rng.random() < 0.08:
            amounts["family_planning_income"] = 96000 * rng.choice((1, 2))
        amounts["eco_compensation_income"] = int(forest * 1500)
        disabled = sum(1 for m in present if m["health"] == "disabled")
        other = disabled * rng.randint(60000, 120000)
        if rng.random() < 0.2:
            other += rng.randint(20000, 80000)
        amounts["other_transfer_income"] = other
        if rng.random() < 0.35:
            amounts["property_income"] = rng.randint(50000, 150000)
        policy = (*IncomeRecord.TRANSFER_FIELDS, "property_income")
        fixed = sum(amounts[name] for name in policy)
        rest = net - fixed
        if rest >= 0:
            workers = [m for m in present if m["work_status"] != "none"]
            wage = 0
            if workers:
                share = 1.0 if cultivated <= 0 else rng.uniform(0.55, 0.95)
                wage = int(rest * share)
            business_net = rest - wage
            expenses = int(business_net * rng.uniform(0.25, 0.9)) if business_net > 0 else 0
            amounts["wage_income"] = wage
            amounts["business_income"] = business_net + expenses
            amounts["business_expenses"] = expenses
        else:  # policy income alone exceeds the target: scale it down, the largest item takes the rounding
            scaled = {name: amounts[name] * net // fixed for name in policy}
            largest = max(policy, key=lambda name: (amounts[name], name))
            scaled[largest] += net - sum(scaled.values())
            amounts.update(scaled)
        record = {name: yuan(value) for name, value in amounts.items()}
        record["year"] = year
        return record

    # -- writing -------------------------------------------------------------------------------------------

    def run(self) -> GenerationResult:
        """Write everything (call inside ``transaction.atomic``)."""
        started = time.perf_counter()
        when = self.when
        result = self.result
        township_plan, village_plan = self.plan_villages()
        geography = OrmWriter(when=when, user_id=self.history_user_id, batch_size=self.batch_size)
        writer_class = self.writer_class or default_writer_class()
        writer = writer_class(when=when, user_id=self.history_user_id, batch_size=self.batch_size)

        counties = County.objects.bulk_create(
            [
                County(code=c.code, name=c.name, city_name=CITY_NAME, is_poverty_county=c.is_poverty_county)
                for c in COUNTIES
            ],
            batch_size=self.batch_size,
        )
        geography.write_history(County, counties)
        county_ids = {c.code: c.pk for c in counties}
        townships = Township.objects.bulk_create(
            [
                Township(code=code, name=name, county_id=county_ids[county.code])
                for county, items in township_plan
                for code, name in items
            ],
            batch_size=self.batch_size,
        )
        geography.write_history(Township, townships)
        township_ids = {t.code: (t.pk, t.county_id) for t in townships}
        villages = Village.objects.bulk_create(
            [
                Village(
                    code=v.code,
                    name=v.name,
                    township_id=township_ids[v.township_code][0],
                    county_id=township_ids[v.township_code][1],  # derived: save() is bypassed
                    is_poverty_village=v.is_poverty_village,
                    exit_year=v.exit_year,
                    registered_population=v.registered_population,
                    collective_income_yuan=yuan(v.collective_income_fen),
                    **v.indicators,
                )
                for v in village_plan
            ],
            batch_size=self.batch_size,
        )
        village_ids = {v.code: v.pk for v in villages}
        self.county_of_village = {v.pk: v.county_id for v in villages}
        result.counties, result.townships, result.villages = len(counties), len(townships), len(villages)

        def work():
            for village in village_plan:
                for sequence in range(1, village.households + 1):
                    yield village, sequence

        stream = work()
        done = 0
        while True:
            chunk = list(itertools.islice(stream, self.chunk_size))
            if not chunk:
                break
            self._write_chunk(writer, [(village_ids[v.code], *self.household(v, s)) for v, s in chunk])
            done += len(chunk)
            if self.progress:
                self.progress(done)

        # Registered population is at least the people placed in the village's households.
        changed = []
        for village, plan in zip(villages, village_plan, strict=True):
            if plan.people > village.registered_population:
                village.registered_population = plan.people + self.rng.randint(50, 400)
                changed.append(village)
        Village.objects.bulk_update(changed, ["registered_population"], batch_size=self.batch_size)
        geography.write_history(Village, villages)  # after the update: the history shows the final rows
        result.history_rows = geography.history_rows + writer.history_rows
        result.seconds = time.perf_counter() - started
        return result

    def _write_chunk(self, writer: OrmWriter | CopyWriter, rows: list[tuple[int, dict, list[dict], list[dict]]]):
        result = self.result
        households = []
        for village_id, fields, _, _ in rows:
            fields["village_id"] = village_id
            households.append(fields)
            result.statuses[fields["status"]] += 1
            result.causes[fields["primary_cause"]] += 1
        household_ids = writer.insert(Household, households)
        decisions = migrated_decisions(
            zip(household_ids, households, strict=True),
            county_of_village=self.county_of_village,
            decided_by_id=self.history_user_id,
            decided_at=self.when,
        )
        result.decisions += append_migrated(decisions)
        members: list[dict] = []
        incomes: list[dict] = []
        for household_id, (_, _, member_rows, income_rows) in zip(household_ids, rows, strict=True):
            for member in member_rows:
                member["household_id"] = household_id
                members.append(member)
            for income in income_rows:
                income["household_id"] = household_id
                incomes.append(income)
        writer.insert(Member, members)
        writer.insert(IncomeRecord, incomes)
        result.households += len(households)
        result.members += len(members)
        result.inactive_members += sum(1 for m in members if not m["is_active"])
        result.income_records += len(incomes)


def generate(*, households: int, seed: int, years: Sequence[int] = DEFAULT_YEARS, **options) -> GenerationResult:
    """Generate the demo registry (call inside ``transaction.atomic``; the registry must be empty)."""
    if "history_user" not in options:
        options["history_user"] = get_user_model().objects.filter(username=DEMO_LOGINS[0].username).first()
    return DemoGenerator(households=households, seed=seed, years=years, **options).run()


def demo_village_plan(villages: list[VillagePlan]) -> VillagePlan | None:
    """The county's demo village in the plan, as ``demo.logins.demo_places`` finds it in the database: in the first
    township (by code) that has households, its first poverty village with households (else its first village)."""
    planned = [v for v in villages if v.households > 0]
    if not planned:
        return None
    township = min(v.township_code for v in planned)
    return min((v for v in planned if v.township_code == township), key=lambda v: (not v.is_poverty_village, v.code))
