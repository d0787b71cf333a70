"""``manage.py bench_import --households 20000 --reset``: how fast are the Excel export and import (issue 7)?

1. generates the demo registry (``generate_demo_data --households N --seed S --reset --no-assess``, in a child
   process so that its memory is not counted here);
2. exports it with ``export_xlsx`` (three sheets, one row per household, member and income record);
3. deletes the households, members and incomes (the villages stay) and imports the file: the dry run, then the
   commit (bulk writes with their history rows), then the assessments of the imported households;
4. imports the same file again over the data (every row an update).

Runs with DEBUG off, as in production. Prints each time (wall clock, and this process's CPU time, which the
machine's other load does not inflate) and the peak memory of this process after each step (``ru_maxrss``,
which only grows: the figure after the commit is the peak of export, dry run and commit). Targets: dry run and
commit at most 60 s each, memory under 500 MB. Destroys the registry: ``--reset`` is required when it has data.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test.utils import override_settings

from assessments.selectors import current_assessment_year, page_size
from assessments.services import assess_households
from demo.logins import DEMO_LOGINS
from demo.reset import registry_has_data, reset_households
from households.exports import export_xlsx
from households.imports.runner import import_workbook
from households.models import Household, IncomeRecord, Member

TARGET_SECONDS = 60
TARGET_MEGABYTES = 500


def peak_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


class Timer:
    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


class Command(BaseCommand):
    help = (
        "Excel导入导出基准测试：生成N户演示数据，导出为Excel，清空户、成员和收入后导入（校验、写入、评估），再导入一次"
        "（全部为更新），打印各步用时和内存峰值。会清空登记库，已有数据时须加 --reset。请在PostgreSQL上运行。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=int, default=20000, help="贫困户数（默认 20000）")
        parser.add_argument("--seed", type=int, default=7, help="演示数据的随机种子（默认 7）")
        parser.add_argument("--reset", action="store_true", help="清空现有登记库（基准测试必须从演示数据开始）")
        parser.add_argument("--keep-file", default="", help="把导出的工作簿保存到此路径（默认用后删除）")
        parser.add_argument("--no-assess", dest="assess", action="store_false", help="导入后不计算退出评估")
        parser.add_argument("--no-reimport", dest="reimport", action="store_false", help="不测第二次导入（更新）")

    def handle(self, *args, **options) -> None:
        # As in production: with DEBUG on, Django keeps the text of every statement (bulk statements of megabytes).
        with override_settings(DEBUG=False):
            self._handle(**options)

    def _handle(self, **options) -> None:
        households, seed, keep_file = options["households"], options["seed"], options["keep_file"]
        if households <= 0:
            raise CommandError("--households 须为正数。")
        if registry_has_data() and not options["reset"]:
            raise CommandError("登记库中已有数据：基准测试会清空并重新生成，请确认后加 --reset。")
        if connection.vendor != "postgresql":
            self.stdout.write(self.style.WARNING(f"注意：当前数据库为 {connection.vendor}，目标值针对 PostgreSQL。"))

        self._generate(households, seed)
        admin = get_user_model().objects.get(username=DEMO_LOGINS[0].username)
        path = keep_file or tempfile.mkstemp(suffix=".xlsx", prefix="bench_import_")[1]
        rows = {m.__name__: m.objects.count() for m in (Household, Member, IncomeRecord)}
        figures: list[tuple[str, Timer, str, float]] = []
        try:
            with Timer() as export:
                export_xlsx(Household.objects.all(), user=admin, path=path)
            size = Path(path).stat().st_size / 1024 / 1024
            figures.append(("导出 export_xlsx", export, f"文件 {size:.1f} MB", peak_megabytes()))

            with transaction.atomic():
                reset_households()
            with Timer() as dry_run:
                result = import_workbook(path, user=admin, commit=False)
            if result.errors:
                raise CommandError(f"导出的文件校验未通过：{result.errors[0]}（共{len(result.errors)}处）")
            counts = f"{result.households}户 {result.members}人 {result.incomes}条收入"
            figures.append(("校验 dry run", dry_run, counts, peak_megabytes()))

            with Timer() as commit:
                result = import_workbook(path, user=admin, commit=True, recompute=False)
            if result.errors:
                raise CommandError(f"写入失败：{result.errors[0]}")
            written = {m.__name__: m.objects.count() for m in (Household, Member, IncomeRecord)}
            if written != rows:
                raise CommandError(f"导入后的行数 {written} 与导出前 {rows} 不同。")
            created = f"新增{result.households_created}户、{result.members_created}人"
            figures.append(("写入 commit", commit, created, peak_megabytes()))

            if options["assess"]:
                with Timer() as assessing:
                    self._assess(result.household_ids, result.years)
                note = "提交后由后台任务执行，不计入写入"
                figures.append(("评估 recompute", assessing, note, peak_megabytes()))

            if options["reimport"]:
                with Timer() as again:
                    result = import_workbook(path, user=admin, commit=True, recompute=False)
                updated = f"更新{result.households_updated}户、{result.members_updated}人"
                figures.append(("再次导入（校验+写入）", again, updated, peak_megabytes()))
        finally:
            if not keep_file:
                Path(path).unlink(missing_ok=True)

        self._report(rows, figures)

    def _generate(self, households: int, seed: int) -> None:
        """The demo registry, generated in a child process (its memory is not this process's peak)."""
        started = time.perf_counter()
        command = [sys.executable, "manage.py", "generate_demo_data", "--households", str(households)]
        command += ["--seed", str(seed), "--reset", "--no-assess", "-v", "0"]
        completed = subprocess.run(
            command, cwd=settings.BASE_DIR, env=os.environ.copy(), capture_output=True, text=True
        )
        if completed.returncode:
            raise CommandError(f"生成演示数据失败：{completed.stderr or completed.stdout}")
        self.stdout.write(
            f"已生成演示数据（{households}户，种子{seed}），用时 {time.perf_counter() - started:.1f} 秒。"
        )

    def _assess(self, household_ids: list[int], years: set[int]) -> None:
        """What the commit's on-commit tasks do, here in this process (pages of the batch path)."""
        for year in sorted(set(years) | {current_assessment_year()}):
            for start in range(0, len(household_ids), page_size()):
                assess_households(household_ids=household_ids[start : start + page_size()], year=year)

    def _report(self, rows: dict, figures: list) -> None:
        self.stdout.write(
            f"Excel导入导出基准（{connection.vendor}，{rows['Household']}户、{rows['Member']}名成员、"
            f"{rows['IncomeRecord']}条收入记录）："
        )
        for label, timer, note, peak_so_far in figures:
            self.stdout.write(
                f"  {label}：{timer.wall:.1f} 秒（CPU {timer.cpu:.1f} 秒），内存峰值 {peak_so_far:.0f} MB；{note}"
            )
        peak = max(peak_so_far for *_, peak_so_far in figures[:3])  # export, dry run, commit
        times = {label: timer.wall for label, timer, *_ in figures}
        within = (
            times.get("校验 dry run", 0) <= TARGET_SECONDS
            and times.get("写入 commit", 0) <= TARGET_SECONDS
            and peak < TARGET_MEGABYTES
        )
        verdict = "达到" if within else "未达到"
        style = self.style.SUCCESS if within else self.style.WARNING
        self.stdout.write(
            style(f"{verdict}目标：校验、写入各不超过{TARGET_SECONDS}秒，内存低于{TARGET_MEGABYTES} MB。")
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        self.stdout.write(f"（机器负载 {load:.1f}，{os.cpu_count()} 核：墙钟时间受其他进程影响，CPU 时间不受。）")
