"""``manage.py bench_eligibility --households N``: how fast is the eligibility engine on this database?

Prints: a full recompute (every current assessment removed first, so every household is computed and
written), a nightly pass with nothing changed, an incremental recompute of 1% changed households, and a
reference: one hand-written SQL statement computing the same per-household income verdict and criteria into
a temporary table (the floor for this database). Run it on PostgreSQL with realistic demo data.
"""

from __future__ import annotations

import time
from decimal import Decimal

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from assessments import selectors, services
from assessments.models import Assessment, LineKind, PovertyLine
from assessments.store import RecomputeSummary
from households.models import Household, IncomeRecord

REFERENCE_SQL = """
CREATE TEMP TABLE bench_reference AS
WITH size AS (
    SELECT m.household_id, count(*) AS people
    FROM households_member m
    WHERE m.birth_date <= %(year_end)s AND (m.is_active OR m.left_on > %(year_end)s)
    GROUP BY m.household_id
), flags AS (
    SELECT m.household_id,
           bool_or(m.school_status IN ('dropout', 'not_applicable') AND m.health IN ('healthy', 'chronic')
                   AND m.birth_date > %(sept1)s::date - interval '16 years'
                   AND m.birth_date <= %(sept1)s::date - interval '6 years') AS out_of_school,
           bool_or(NOT m.medical_insurance OR NOT m.serious_illness_insurance) AS uninsured
    FROM households_member m
    WHERE m.birth_date <= %(year_end)s AND (m.is_active OR m.left_on > %(year_end)s)
    GROUP BY m.household_id
), verdict AS (
    SELECT h.id AS household_id,
           coalesce(round((i.wage_income + i.business_income + i.property_income + i.family_planning_income
                 + i.dibao_income + i.tekun_income + i.pension_income + i.eco_compensation_income
                 + i.other_transfer_income - i.business_expenses) / nullif(s.people, 0), 2) > %(line)s, false)
               AS income_passed,
           h.food_secure AS food_passed,
           h.clothing_secure AS clothing_passed,
           NOT coalesce(f.out_of_school, false) AS education_passed,
           NOT coalesce(f.uninsured, false) AS medical_passed,
           (h.relocated OR h.house_safety_grade IN ('A', 'B')) AS housing_passed,
           (h.water_quantity_ok AND h.water_quality_ok AND h.water_convenient AND h.water_guaranteed) AS water_passed
    FROM households_household h
    LEFT JOIN households_incomerecord i ON i.household_id = h.id AND i.year = %(year)s
    LEFT JOIN size s ON s.household_id = h.id
    LEFT JOIN flags f ON f.household_id = h.id
    WHERE h.identified_year <= %(year)s AND h.status <> 'removed'
)
SELECT *, (income_passed AND food_passed AND clothing_passed AND education_passed AND medical_passed
           AND housing_passed AND water_passed) AS eligible
FROM verdict
"""


class Command(BaseCommand):
    help = "性能基准：全量重算、增量重算（1%的户变化）与一条手写SQL参考语句的用时对比。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--households", type=int, default=100_000, help="户数（不足时用演示数据生成器补足）")
        parser.add_argument("--year", type=int, default=2020)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--changed-share", type=float, default=0.01, help="增量重算时变化的户的比例")

    def handle(self, *args, households: int, year: int, seed: int, changed_share: float, **options) -> None:
        if Household.objects.count() < households:
            self.stdout.write(f"生成 {households} 户演示数据…")
            call_command(
                "generate_demo_data", households=households, seed=seed, reset=True, assess=False, stdout=self.stdout
            )
        total = selectors.assessable_count(year=year)
        self.stdout.write(f"数据库: {connection.vendor}; {year}年待评估 {total} 户")

        Assessment.objects.filter(year=year).delete()
        self._vacuum_and_analyze()
        full = self._timed_recompute(year)
        self._report("full recompute (all written)", full, total)
        self._vacuum_and_analyze()  # the written assessments: statistics, visibility map

        nightly = self._timed_recompute(year)
        self._report("nightly pass, nothing changed", nightly, total)

        changed_ids = self._change_incomes(year, share=changed_share)
        started = time.perf_counter()
        summary = RecomputeSummary()
        page = selectors.page_size()
        for offset in range(0, len(changed_ids), page):
            summary.add(services.assess_households(household_ids=changed_ids[offset : offset + page], year=year))
        incremental = time.perf_counter() - started
        self._report(
            f"incremental, {len(changed_ids)} changed households ({summary.changed} rewritten)",
            incremental,
            len(changed_ids),
        )

        reference = self._reference(year)
        self._report("reference SQL (same verdicts into a temp table)", reference, total)
        if reference > 0:
            self.stdout.write(f"ratio full recompute / reference: {full / reference:.2f}x")

    def _vacuum_and_analyze(self) -> None:
        """What autovacuum would have done by now (it may be off on a benchmark server): planner statistics for
        freshly generated data, and the deleted assessments cleared, so that no timing depends on leftovers."""
        if connection.vendor != "postgresql":
            return
        tables = ("households_household", "households_member", "households_incomerecord", "villages_village")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE assessments_assessment")
            cursor.execute(f"ANALYZE {', '.join(tables)}")

    def _timed_recompute(self, year: int) -> float:
        started = time.perf_counter()
        for page in selectors.keyset_pages(year=year):
            services.assess_households(household_ids=page, year=year)
        return time.perf_counter() - started

    def _change_incomes(self, year: int, *, share: float) -> list[int]:
        """Raise the wage income of every n-th household by one yuan (a real input change)."""
        step = max(1, round(1 / share))
        ids = list(selectors.assessable_households(year=year).order_by("id").values_list("id", flat=True)[::step])
        with transaction.atomic():
            records = list(IncomeRecord.objects.filter(household_id__in=ids, year=year))
            for record in records:
                record.wage_income += Decimal("1.00")
            IncomeRecord.objects.bulk_update(records, ["wage_income"], batch_size=1000)
        return ids

    def _reference(self, year: int) -> float:
        if connection.vendor != "postgresql":
            self.stdout.write("reference SQL: PostgreSQL only, skipped")
            return 0.0
        line = PovertyLine.objects.get(year=year, kind=LineKind.POVERTY, region_code="").amount
        params = {"year": year, "year_end": f"{year}-12-31", "sept1": f"{year}-09-01", "line": line}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_reference")
            started = time.perf_counter()
            cursor.execute(REFERENCE_SQL, params)
            elapsed = time.perf_counter() - started
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE eligible) FROM bench_reference")
            rows, eligible = cursor.fetchone()
            ours = Assessment.objects.filter(year=year, is_current=True, eligible=True).count()
            self.stdout.write(f"reference: {rows} households, {eligible} eligible (engine: {ours} eligible)")
            cursor.execute("DROP TABLE bench_reference")
        return elapsed

    def _report(self, label: str, seconds: float, count: int) -> None:
        rate = count / seconds if seconds else 0
        self.stdout.write(f"{label:<60} {seconds:8.2f} s  {rate:10.0f} households/s")
