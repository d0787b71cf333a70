"""The world the procedure tests play in (DOMAIN.md §5): two counties, named users whose roles everyone
remembers, households ready to be identified or to exit, and a clock the services read "today" from.

栾川县 (410324): 城关镇 with 庄子村 (V1, where everything happens) and 协心村 (V2), 潭头镇 with 汤营村.
嵩县 (410325): 城关镇 with 龙王村.

Every user is a cadre whose role was granted by the city's administrator through ``role_assign``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from assessments.models import Assessment
from assessments.services import household_assess
from assistance.models import Cadre
from assistance.services import role_assign
from households.choices import HouseholdStatus
from households.models import Household
from procedures import services
from procedures.choices import Action, Kind, Signatory, State
from procedures.models import Application, Objection, Signature
from procedures.workflow import transition_for
from tests.factories import (
    CountyFactory,
    HouseholdFactory,
    IncomeRecordFactory,
    MemberFactory,
    TownshipFactory,
    VillageFactory,
    id_number_for,
)

YEAR = 2020  # the latest year with a national poverty line (4,000 yuan): the year the daily job assesses

# Who takes which step on the happy path. Maker-checker needs a different village user for each review step.
STEP_ACTORS = {
    Action.REVIEW: "team_a",
    Action.CONFIRM: "team_b",
    Action.APPRAISE: "team_a",
    Action.VERIFY: "team_b",
    Action.ACKNOWLEDGE: "secretary",
    Action.PUBLISH_NOTICE: "secretary",
    Action.OBJECT: "secretary",
    Action.TOWNSHIP_REVIEW: "township",
    Action.PUBLISH_TOWNSHIP_NOTICE: "township",
    Action.COUNTY_APPROVE: "county",
    Action.REJECT: "township",
}
# The role recorded on the step for each of those users.
USER_ROLES = {
    "secretary": "first_secretary",
    "team_a": "work_team",
    "team_b": "work_team",
    "township": "township_staff",
    "county": "county_staff",
    "county2": "county_staff",
}
HAPPY_PATH = {
    Kind.IDENTIFICATION: (
        Action.REVIEW,
        Action.CONFIRM,
        Action.PUBLISH_NOTICE,
        Action.TOWNSHIP_REVIEW,
        Action.PUBLISH_TOWNSHIP_NOTICE,
        Action.COUNTY_APPROVE,
    ),
    Kind.EXIT: (
        Action.APPRAISE,
        Action.VERIFY,
        Action.ACKNOWLEDGE,
        Action.PUBLISH_NOTICE,
        Action.TOWNSHIP_REVIEW,
        Action.COUNTY_APPROVE,
    ),
}
SIGNATORY_NAMES = {
    Signatory.FIRST_SECRETARY: "陈志强",
    Signatory.HELPER: "杨海峰",
    Signatory.VILLAGE_PARTY_SECRETARY: "王国庆",
    Signatory.VILLAGE_COMMITTEE_DIRECTOR: "李建国",
    Signatory.TOWNSHIP_PARTY_SECRETARY: "赵玉梅",
    Signatory.TOWNSHIP_HEAD: "周红霞",
}


class Clock:
    """What ``procedures.services`` believes today is (notice periods, objection and signature dates)."""

    def __init__(self) -> None:
        self.today = timezone.localdate()

    def __call__(self) -> dt.date:
        return self.today

    def advance(self, days: int) -> None:
        self.today += dt.timedelta(days=days)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(services, "_today", clock)
    return clock


@dataclass
class World:
    root: object
    counties: dict
    townships: dict
    villages: dict
    users: dict = field(default_factory=dict)
    _numbers: int = 0

    def user(self, key: str):
        return self.users[key]

    # --- households ----------------------------------------------------------------------------------------

    def household(self, *, village: str = "V1", net: str | None = "9500.00", assess: bool = True, **fields):
        """A one-person household in ``village`` with an income record for YEAR (net income ``net``) and,
        when ``assess``, its current assessment for YEAR."""
        self._numbers += 1
        place = self.villages[village]
        home = HouseholdFactory(village=place, household_number=f"{place.code}{self._numbers:04d}", **fields)
        MemberFactory(
            household=home,
            name="王建国",
            id_number=id_number_for(3000 + self._numbers, area_code=place.county.code),
        )
        if net is not None:
            IncomeRecordFactory(
                household=home, year=YEAR, wage_income=Decimal(net), business_income=0, business_expenses=0
            )
        if assess:
            household_assess(household=home, year=YEAR)
        return home

    # --- applications --------------------------------------------------------------------------------------

    def open(self, kind: str, household: Household, *, actor: str = "secretary", year: int = YEAR) -> Application:
        return services.application_open(actor=self.user(actor), household=household, kind=kind, year=year)

    def act(self, application: Application, action: str, *, actor: str | None = None, **kwargs) -> Application:
        actor = actor or STEP_ACTORS[action]
        if action == Action.OBJECT and "objection" not in kwargs:
            kwargs["objection"] = services.ObjectionInput(text="该户家中有小汽车一辆。", raised_by="村民张秀英")
        if action == Action.REJECT and "comment" not in kwargs:
            kwargs["comment"] = "经核实，该户不符合条件。"
        return services.application_transition(actor=self.user(actor), application=application, action=action, **kwargs)

    def end_notice(self, application: Application) -> None:
        """Let the notice period lie in the past (the application's notice ended yesterday)."""
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        Application.objects.filter(pk=application.pk).update(
            notice_started_on=yesterday - dt.timedelta(days=6), notice_ends_on=yesterday
        )

    def sign_all(self, application: Application, *, leave_out: tuple[str, ...] = ()) -> None:
        for signatory, name in SIGNATORY_NAMES.items():
            if signatory not in leave_out:
                services.signature_record(
                    actor=self.user("secretary"),
                    application=application,
                    signatory=signatory,
                    name=name,
                    signed_on=timezone.localdate(),
                )

    def advance(self, application: Application, state: str) -> Application:
        """Take the happy path's steps, each with its own user, until ``application`` is in ``state``."""
        application.refresh_from_db()
        while application.state != state:
            action = next(
                (a for a in HAPPY_PATH[application.kind] if transition_for(application.kind, a, application.state)),
                None,
            )
            assert action is not None, f"{state} is not on the happy path"
            if action in (Action.TOWNSHIP_REVIEW, Action.COUNTY_APPROVE):
                self.end_notice(application)
            if action == Action.COUNTY_APPROVE and application.kind == Kind.IDENTIFICATION:
                self.sign_all(application)
            application = self.act(application, action)
        return application

    def application(
        self, kind: str, state: str, household: Household | None = None, *, year: int = YEAR
    ) -> Application:
        """An application of ``kind`` brought through the services to ``state`` (rejected: rejected at once)."""
        if household is None:
            household = (
                self.household(status=HouseholdStatus.MARGINAL, identified_year=2016, assess=False)
                if kind == Kind.IDENTIFICATION
                else self.household()
            )
        application = self.open(kind, household, year=year)
        if state == State.REJECTED:
            return self.act(application, Action.REJECT)
        return self.advance(application, state)


def make_user(root, username: str, *roles: tuple[str, dict], name: str | None = None):
    """A login with a cadre profile and the given roles, granted by the city's administrator."""
    user = get_user_model().objects.create_user(username=username, password="x")
    cadre = Cadre.objects.create(user=user, name=name or username, position="干部")
    for role, place in roles:
        role_assign(actor=root, cadre=cadre, role=role, **place)
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: no cached jurisdiction


@pytest.fixture
def world(db, clock) -> World:
    root = get_user_model().objects.create_superuser(username="luoyang_admin", password="x")
    counties = {
        "luanchuan": CountyFactory(code="410324", name="栾川县"),
        "songxian": CountyFactory(code="410325", name="嵩县"),
    }
    townships = {
        "T1": TownshipFactory(county=counties["luanchuan"], code="410324100", name="城关镇"),
        "T2": TownshipFactory(county=counties["luanchuan"], code="410324101", name="潭头镇"),
        "T3": TownshipFactory(county=counties["songxian"], code="410325100", name="城关镇"),
    }
    villages = {
        "V1": VillageFactory(township=townships["T1"], code="410324100201", name="庄子村"),
        "V2": VillageFactory(township=townships["T1"], code="410324100202", name="协心村"),
        "V3": VillageFactory(township=townships["T2"], code="410324101201", name="汤营村"),
        "V4": VillageFactory(township=townships["T3"], code="410325100201", name="龙王村"),
    }
    world = World(root, counties, townships, villages)
    v1, t1, luanchuan = {"village": villages["V1"]}, {"township": townships["T1"]}, {"county": counties["luanchuan"]}
    world.users = {
        "secretary": make_user(root, "v1_secretary", ("first_secretary", v1), name="庄子村第一书记陈志强"),
        "team_a": make_user(root, "v1_team_a", ("work_team", v1), name="庄子村工作队员李红霞"),
        "team_b": make_user(root, "v1_team_b", ("work_team", v1), name="庄子村工作队员张宇轩"),
        "team_c": make_user(root, "v1_team_c", ("work_team", v1), name="庄子村工作队员刘梓涵"),
        "township": make_user(root, "t1_clerk", ("township_staff", t1), name="城关镇扶贫专干赵玉梅"),
        "county": make_user(root, "lc_clerk", ("county_staff", luanchuan), name="栾川县扶贫办王科员"),
        "county2": make_user(root, "lc_clerk2", ("county_staff", luanchuan), name="栾川县扶贫办孙科员"),
        # A township clerk who is also seconded to the county office: maker-checker must still hold.
        "township_and_county": make_user(
            root, "t1_lc_clerk", ("township_staff", t1), ("county_staff", luanchuan), name="城关镇兼县扶贫办何干部"
        ),
        "supervisor": make_user(root, "city_supervisor", ("supervisor", {}), name="市督查员周海峰"),
        "other_secretary": make_user(
            root, "v2_secretary", ("first_secretary", {"village": villages["V2"]}), name="协心村第一书记高建国"
        ),
        "songxian": make_user(
            root, "sx_clerk", ("county_staff", {"county": counties["songxian"]}), name="嵩县扶贫办郭科员"
        ),
        "nobody": make_user(root, "nobody", name="无角色用户"),
    }
    return world


def snapshot(application: Application | None = None, household: Household | None = None) -> dict:
    """Everything a refused step must leave as it was."""
    result = {
        "applications": Application.objects.count(),
        "objections": Objection.objects.count(),
        "signatures": Signature.objects.count(),
        "assessments": Assessment.objects.count(),
    }
    if application is not None:
        application = Application.objects.get(pk=application.pk)
        household = household or application.household
        result["application"] = Application.objects.filter(pk=application.pk).values().get()
        result["steps"] = list(application.steps.values())
    if household is not None:
        result["household"] = Household.objects.filter(pk=household.pk).values().get()
        result["household_history"] = Household.history.filter(id=household.pk).count()
    return result
