"""``manage.py generate_demo_data --households N --seed S [--reset] [--if-empty] [--years 2019,2020]``: the demo
registry with its decision log, the demo logins, the assessments, the demo village's applications and, once, the
daily jobs' alerts (also with ``--if-empty`` on an existing registry, so that ``dev.py run`` shows them)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from assessments.models import LineKind, PovertyLine
from demo.generator import DEFAULT_YEARS, generate
from demo.logins import DemoLogin, assign_demo_roles, demo_admin, ensure_demo_logins
from demo.procedures import raise_alerts
from demo.reset import registry_counts, registry_has_data, reset_registry
from demo.setup import finish_demo
from households.choices import HouseholdStatus
from procedures.choices import AlertKind, Kind, State
from procedures.models import Alert


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
        "生成洛阳市演示数据：9个县（市）、乡镇、行政村、贫困户、家庭成员、年度收入和决定记录，创建演示登录账号，"
        "在演示村办理各环节的识别/退出申请，并运行一次每日提醒。同一 --seed 总是生成完全相同的数据。"
        "已有数据时须加 --reset（清空后重建）或 --if-empty（有数据则跳过生成，只刷新账号和提醒）。"
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
            self._print_alerts(raise_alerts())
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
        self.stdout.write(f"  决定记录     {result.decisions}（建档登记；已脱贫户另有脱贫退出，均注明由原档案迁移）")
        if result.households:
            statuses = sorted(result.statuses.items(), key=lambda x: -x[1])
            self.stdout.write("  户状态       " + "，".join(f"{HouseholdStatus(s).label} {n}" for s, n in statuses))
        self.stdout.write(
            f"  返贫风险户   {len(result.return_candidates)}（有意设置：已脱贫户最新年度收入低于扶贫标准）"
        )
        finished = finish_demo(years=year_list, assess=assess)
        if finished.assess_seconds is not None:
            self.stdout.write(f"  退出评估     已计算（{finished.assess_seconds:.1f} 秒）")
        else:
            self.stdout.write("提示：运行 manage.py recompute_eligibility --sync 计算退出评估。")
        applications = finished.procedures.applications
        if applications:
            order = list(State.values)
            states = "，".join(
                f"{Kind(kind).label}·{State(state).label} {n}"
                for (kind, state), n in sorted(applications.items(), key=lambda x: (x[0][0], order.index(x[0][1])))
            )
            self.stdout.write(f"  演示村申请   {sum(applications.values())} 件：{states}")
        self._print_alerts(finished.alerts)
        self._print_logins(logins)

    def _print_alerts(self, alerts: dict) -> None:
        chain = alerts["decisions"]
        verdict = "完整" if not chain["breaks"] else f"有 {chain['breaks']} 个县不符，请运行 manage.py verify_decisions"
        self.stdout.write(f"  决定记录链   已校验 {chain['counties']} 个县的 {chain['decisions']} 条，{verdict}")
        open_alerts = Alert.objects.filter(resolved_at__isnull=True)
        counts = {kind: open_alerts.filter(kind=kind).count() for kind in AlertKind.values}
        listed = "，".join(f"{AlertKind(k).label} {n}" for k, n in counts.items() if n)
        self.stdout.write(f"  待办提醒     {listed or '无'}")

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        self.stdout.write("演示登录账号（仅供演示，勿用于生产环境）：")
        for login in logins:
            who = f"{login.name}，{login.description}" if login.name else login.description
            self.stdout.write(f"  {login.username} / {login.password}  {who}")
