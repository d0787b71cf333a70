"""``manage.py recompute_eligibility [--year Y] [--county CODE] [--sync]``: the operator's recompute."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from assessments import rules, selectors, services
from assessments.store import RecomputeSummary
from assessments.tasks import recompute_household_page
from villages.models import County


class Command(BaseCommand):
    help = (
        "重新计算贫困户退出评估（两不愁三保障+收入）。默认当前评估年度、全部县，分页交给 Celery 工作进程；"
        "--sync 在本进程内逐页计算并显示进度与汇总。可重复运行：输入未变的户不会重写。"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--year", type=int, help="评估年度（默认：当前评估年度）")
        parser.add_argument("--county", help="只计算该县（6位行政区划代码）")
        parser.add_argument("--sync", action="store_true", help="在本进程内同步计算，显示进度条和汇总")
        parser.add_argument(
            "--batch-size",
            type=int,
            help=(
                f"每页户数（默认：PostgreSQL 上用 SQL 批量路径，每页 {selectors.SQL_PAGE_SIZE} 户；"
                f"其他数据库 {selectors.PYTHON_PAGE_SIZE} 户）"
            ),
        )

    def handle(
        self, *args, year: int | None, county: str | None, sync: bool, batch_size: int | None, **options
    ) -> None:
        year = year or selectors.current_assessment_year()
        batch_size = selectors.page_size() if batch_size is None else batch_size
        if county and not County.objects.filter(code=county).exists():
            raise CommandError(f"没有代码为 {county} 的县。")
        if batch_size < 1:
            raise CommandError("--batch-size 须为正整数。")
        total = selectors.assessable_count(year=year, county_code=county)
        scope = f"{county} " if county else ""
        self.stdout.write(f"{year}年 {scope}待评估 {total} 户")
        started = time.perf_counter()
        pages = selectors.keyset_pages(year=year, county_code=county, size=batch_size)
        if not sync:
            dispatched = 0
            for page in pages:
                recompute_household_page.delay(page, year)
                dispatched += 1
            self.stdout.write(self.style.SUCCESS(f"已分派 {dispatched} 个计算任务（每页 {batch_size} 户）。"))
            return
        summary = RecomputeSummary()
        with tqdm(total=total, unit="户", disable=options["verbosity"] < 1, file=self.stderr) as bar:
            for page in pages:
                summary.add(services.assess_households(household_ids=page, year=year))
                bar.update(len(page))
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"评估 {summary.assessed} 户，结果变化 {summary.changed} 户，达到退出标准 {summary.eligible} 户，"
            f"用时 {elapsed:.1f} 秒。"
        )
        for criterion in rules.CRITERIA:
            label = rules.CRITERION_LABELS[criterion]
            self.stdout.write(f"  未达标 {criterion:<10} {label}: {summary.failing.get(criterion, 0)}")
        for code, count in sorted(summary.warnings.items()):
            self.stdout.write(f"  预警 {code}: {count}")
