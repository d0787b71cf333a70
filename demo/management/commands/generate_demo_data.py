"""``manage.py generate_demo_data --households N --seed S [--reset] [--if-empty] [--years 2019,2020]``."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from assessments.models import LineKind, PovertyLine
from assessments.selectors import keyset_pages
from assessments.services import assess_households
from demo.generator import DEFAULT_YEARS, generate
from demo.logins import DemoLogin, assign_demo_roles, demo_admin, ensure_demo_logins
from demo.reset import registry_counts, registry_has_data, reset_registry
from households.choices import HouseholdStatus


def parse_years(raw: str) -> tuple[int, ...]:
    try:
        years = tuple(sorted({int(part) for part in raw.replace("，", ",").split(",") if part.strip()}))
    except ValueError:
        raise CommandError(f"--years 应为逗号分隔的年份，例如 2019,2020；当前为“{raw}”。") from None
    if not years:
        raise CommandError("--years 至少需要一个年份。")
    return years


class Command(BaseCommand):
    help = (
        "生成洛阳市演示数据：9个县（市）、乡镇、行政村、贫困户、家庭成员和年度收入，并创建演示登录账号。"
        "同一 --seed 总是生成完全相同的数据。已有数据时须加 --reset（清空后重建）或 --if-empty（有数据则跳过）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=int, default=1000, help="贫困户数（默认 1000）")
        parser.add_argument("--seed", type=int, default=1, help="随机种子，相同种子生成相同数据（默认 1）")
        parser.add_argument(
            "--years",
            default=",".join(str(y) for y in DEFAULT_YEARS),
            help="生成收入记录的年度，逗号分隔（默认 2019,2020；须已有国家扶贫标准）",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="先删除现有的收入、成员、贫困户、村、乡镇、县数据及其变更历史（以及依赖它们的评估结果）",
        )
        parser.add_argument(
            "--no-assess",
            dest="assess",
            action="store_false",
            help="生成后不计算退出评估（默认按各收入年度计算）",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="登记库中已有数据时不生成（仍会创建演示账号），用于容器启动脚本",
        )

    def handle(
        self, *args, households: int, seed: int, years: str, reset: bool, if_empty: bool, assess: bool, **options
    ) -> None:
        if households < 0:
            raise CommandError("--households 不能为负数。")
        if reset and if_empty:
            raise CommandError("--reset 与 --if-empty 不能同时使用。")
        year_list = parse_years(years)
        known = set(
            PovertyLine.objects.filter(kind=LineKind.POVERTY, region_code="", year__in=year_list).values_list(
                "year", flat=True
            )
        )
        missing = [str(y) for y in year_list if y not in known]
        if missing:
            raise CommandError(f"没有以下年度的国家扶贫标准，无法生成收入：{'、'.join(missing)}。")

        if if_empty and registry_has_data():
            counts = registry_counts()
            self.stdout.write(
                f"登记库中已有数据（{counts['household']} 户，{counts['village']} 个村），跳过演示数据生成。"
            )
            with transaction.atomic():
                logins = ensure_demo_logins()
                assign_demo_roles()
            self._print_logins(logins)
            return
        if not reset and registry_has_data():
            counts = registry_counts()
            raise CommandError(
                f"登记库中已有数据（{counts['household']} 户，{counts['village']} 个村，{counts['county']} 个县）。"
                "如需清空后重新生成演示数据，请加 --reset；如只在空库时生成，请加 --if-empty。"
            )

        started = time.perf_counter()
        with transaction.atomic():
            logins = ensure_demo_logins()
            if reset:
                deleted = reset_registry()
                self.stdout.write(
                    "已清空登记库：{household} 户，{member} 名成员，{incomerecord} 条收入，{village} 个村，"
                    "{township} 个乡镇，{county} 个县（及其变更历史），用时 {seconds:.1f} 秒。".format(
                        **deleted, seconds=time.perf_counter() - started
                    )
                )
                for label, count in deleted.get("dependents", {}).items():
                    self.stdout.write(f"  同时删除依赖数据 {label}: {count} 条")
            verbose = options["verbosity"] >= 2

            def progress(done: int) -> None:
                if verbose:
                    self.stdout.write(f"  已生成 {done}/{households} 户（{time.perf_counter() - started:.1f} 秒）")

            result = generate(
                households=households, seed=seed, years=year_list, history_user=demo_admin(), progress=progress
            )
            assign_demo_roles()
        elapsed = time.perf_counter() - started

        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据生成完成（种子 {seed}），生成用时 {result.seconds:.1f} 秒，总用时 {elapsed:.1f} 秒。"
            )
        )
        self.stdout.write(f"  县（市）     {result.counties}")
        self.stdout.write(f"  乡（镇）     {result.townships}")
        self.stdout.write(f"  行政村       {result.villages}")
        self.stdout.write(f"  贫困户       {result.households}")
        self.stdout.write(f"  家庭成员     {result.members}（其中不在户 {result.inactive_members}）")
        self.stdout.write(f"  收入记录     {result.income_records}（年度 {'、'.join(map(str, result.years))}）")
        self.stdout.write(f"  变更历史     {result.history_rows}")
        if result.households:
            statuses = sorted(result.statuses.items(), key=lambda x: -x[1])
            self.stdout.write("  户状态       " + "，".join(f"{HouseholdStatus(s).label} {n}" for s, n in statuses))
        if assess:
            assess_started = time.perf_counter()
            for year in year_list:
                for page in keyset_pages(year=year):
                    assess_households(household_ids=page, year=year)
            self.stdout.write(f"  退出评估     已计算（{time.perf_counter() - assess_started:.1f} 秒）")
        else:
            self.stdout.write("提示：运行 manage.py recompute_eligibility --sync 计算退出评估。")
        self._print_logins(logins)

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        self.stdout.write("演示登录账号（仅供演示，勿用于生产环境）：")
        for login in logins:
            self.stdout.write(f"  {login.username} / {login.password}  {login.description}")
