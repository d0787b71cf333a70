"""Reads with logic of the assistance app: where a user holds which role today (the one place that answers it,
for the procedures' step checks and their "待我办理" queue), and "九个一" compliance (DOMAIN.md §7)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from assistance.choices import Role
from assistance.models import HouseholdAssignment, HouseholdMeasure, RoleAssignment, Visit
from households.choices import HouseholdStatus
from households.models import Household
from povertycase.jurisdiction import scope_to
from villages.models import Village


@dataclass(frozen=True)
class RolePlace:
    """One active role of a user and the place it is held at (none: a city-wide supervisor)."""

    role: str
    county_id: int | None
    township_id: int | None
    village_id: int | None

    @property
    def everywhere(self) -> bool:
        return self.role == Role.SUPERVISOR and not (self.county_id or self.township_id or self.village_id)

    def covers(self, village: Village) -> bool:
        """Whether the role reaches ``village`` (a role at a county covers its townships and villages)."""
        return (
            self.everywhere
            or (self.village_id is not None and self.village_id == village.pk)
            or (self.township_id is not None and self.township_id == village.township_id)
            or (self.county_id is not None and self.county_id == village.county_id)
        )

    def village_q(self, village_path: str) -> Q | None:
        """The rows whose village (lookup ``village_path``) the role reaches; None: everywhere; an empty
        ``Q(pk__in=[])`` for a role held at no place."""
        if self.everywhere:
            return None
        if self.village_id:
            return Q(**{f"{village_path}_id": self.village_id})
        if self.township_id:
            return Q(**{f"{village_path}__township_id": self.township_id})
        if self.county_id:
            return Q(**{f"{village_path}__county_id": self.county_id})
        return Q(pk__in=[])


def role_places(user, *, roles: tuple[str, ...] | None = None, on: dt.date | None = None) -> list[RolePlace]:
    """The user's active role assignments on ``on`` (today), optionally only ``roles``."""
    assignments = RoleAssignment.objects.active_on(on).filter(cadre__user=user)
    if roles is not None:
        assignments = assignments.filter(role__in=roles)
    return [RolePlace(*row) for row in assignments.values_list("role", "county_id", "township_id", "village_id")]


# Households "in the register" that "九个一" applies to: the poor, and (policies continue after exit,
# "摘帽不摘帮扶") the exited ones still under assistance in the campaign period.
REGISTERED_STATUSES = (
    HouseholdStatus.IN_POVERTY,
    HouseholdStatus.RETURNED,
    HouseholdStatus.EXITED,
    HouseholdStatus.UNSTABLE,
)

VILLAGE_ROLE_GAPS = (
    (Role.VILLAGE_LEADER, "no_leader", "没有包村领导"),
    (Role.FIRST_SECRETARY, "no_first_secretary", "没有驻村第一书记"),
    (Role.WORK_TEAM, "no_work_team", "没有驻村工作队"),
)


# Every gap code with its label, in the order the check reports them (the API counts gaps per code).
GAP_LABELS: dict[str, str] = {
    **{code: label for _, code, label in VILLAGE_ROLE_GAPS},
    "no_exit_plan": "没有脱贫方案",
    "no_notice_board": "没有公示栏",
    "no_helper": "没有帮扶责任人",
    "no_measure": "本年度没有帮扶措施",
    "no_clarity_card": "没有发放明白卡",
    "no_recent_visit": "长期无走访记录",
}


@dataclass(frozen=True)
class Gap:
    level: str  # "village" or "household"
    code: str
    village_code: str
    village_name: str
    household_number: str
    message: str


def compliance_gaps(
    *,
    user,
    county_code: str | None = None,
    township_code: str | None = None,
    village_code: str | None = None,
    year: int | None = None,
    today: dt.date | None = None,
) -> list[Gap]:
    """The "九个一" gaps in the user's jurisdiction (optionally one county, township or village), one by one:
    a poverty village with no first secretary, leader, work team, exit plan or notice board; a household with
    no helper, no measure this year or no clarity card; an assigned household not visited within
    ``VISIT_GAP_DAYS``. A fixed number of queries, whatever the size of the area."""
    today = today or timezone.localdate()
    year = year or today.year
    villages = scope_to(user, Village.objects.all())
    households = scope_to(user, Household.objects.filter(status__in=REGISTERED_STATUSES))
    if county_code:
        villages = villages.filter(county__code=county_code)
        households = households.filter(village__county__code=county_code)
    if township_code:
        villages = villages.filter(township__code=township_code)
        households = households.filter(village__township__code=township_code)
    if village_code:
        villages = villages.filter(code=village_code)
        households = households.filter(village__code=village_code)

    gaps: list[Gap] = []
    active_roles = RoleAssignment.objects.active_on(today).filter(village=OuterRef("pk"))
    village_rows = (
        villages.filter(is_poverty_village=True)
        .annotate(**{code: ~Exists(active_roles.filter(role=role)) for role, code, _ in VILLAGE_ROLE_GAPS})
        .order_by("code")
    )
    for village in village_rows:
        for _, code, message in VILLAGE_ROLE_GAPS:
            if getattr(village, code):
                gaps.append(Gap("village", code, village.code, village.name, "", f"{village.name}{message}。"))
        if not village.has_exit_plan:
            gaps.append(Gap("village", "no_exit_plan", village.code, village.name, "", f"{village.name}没有脱贫方案。"))
        if not village.has_notice_board:
            gaps.append(
                Gap("village", "no_notice_board", village.code, village.name, "", f"{village.name}没有公示栏。")
            )

    helpers = HouseholdAssignment.objects.active_on(today).filter(household=OuterRef("pk"))
    measures = HouseholdMeasure.objects.filter(household=OuterRef("pk"), year=year)
    rows = (
        households.annotate(
            has_helper=Exists(helpers),
            has_measure=Exists(measures),
            last_visit=Max("visits__visited_on"),
        )
        .values(
            "household_number",
            "village__code",
            "village__name",
            "has_helper",
            "has_measure",
            "clarity_card_issued_on",
            "last_visit",
        )
        .order_by("village__code", "household_number")
    )
    visit_cutoff = today - dt.timedelta(days=settings.VISIT_GAP_DAYS)
    for row in rows.iterator(chunk_size=5000):
        number, code, name = row["household_number"], row["village__code"], row["village__name"]
        if not row["has_helper"]:
            gaps.append(Gap("household", "no_helper", code, name, number, f"{number}没有帮扶责任人。"))
        if not row["has_measure"]:
            gaps.append(Gap("household", "no_measure", code, name, number, f"{number}{year}年没有帮扶措施。"))
        if not row["clarity_card_issued_on"]:
            gaps.append(Gap("household", "no_clarity_card", code, name, number, f"{number}没有发放明白卡。"))
        if row["has_helper"] and (row["last_visit"] is None or row["last_visit"] < visit_cutoff):
            since = "从未走访" if row["last_visit"] is None else f"最近走访为{row['last_visit']:%Y-%m-%d}"
            gaps.append(
                Gap(
                    "household",
                    "no_recent_visit",
                    code,
                    name,
                    number,
                    f"{number}已{settings.VISIT_GAP_DAYS}天以上无走访记录（{since}）。",
                )
            )
    return gaps


def days_since_last_visit(household: Household, today: dt.date | None = None) -> int | None:
    today = today or timezone.localdate()
    last = Visit.objects.filter(household=household).aggregate(last=Max("visited_on"))["last"]
    return None if last is None else (today - last).days
