"""The world the procedure tests play in (DOMAIN.md §5): two counties, named users whose roles everyone
remembers, households ready to be identified or to exit, and a clock the services read "today" from.

The places and most people are the shared cast's (testing/cast.py): 栾川县 (410324): 城关镇 with 庄子村 (V1,
where everything happens) and 协心村 (V2), 潭头镇 with 汤营村. 嵩县 (410325): 城关镇 with 龙王村.

Every user is a cadre whose role was granted by the city's administrator through ``role_assign``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.utils import timezone

from assessments.models import Assessment
from assessments.services import household_assess
from households.choices import HouseholdStatus
from households.models import Household
from procedures import services, workflow
from procedures.choices import Action, Kind, Signatory, State
from procedures.models import Application, Objection, Signature
from procedures.workflow import transition_for
from testing.cast import cast_member
from testing.factories import HouseholdFactory, IncomeRecordFactory, MemberFactory, id_number_for

YEAR = 2020  # the latest year with a national poverty line (4,000 yuan): the year the daily job assesses

# Who takes which step on the happy path. Maker-checker needs a different village user for each review step.
# A rejection or an objection is taken by whoever takes the state's forward step (``step_actor``).
STEP_ACTORS = {
    Action.REVIEW: "team_a",
    Action.CONFIRM: "team_b",
    Action.APPRAISE: "team_a",
    Action.VERIFY: "team_b",
    Action.ACKNOWLEDGE: "secretary",
    Action.PUBLISH_NOTICE: "secretary",
    Action.TOWNSHIP_REVIEW: "township",
    Action.PUBLISH_TOWNSHIP_NOTICE: "township",
    Action.COUNTY_APPROVE: "county",
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


def step_actor(kind: str, state: str, action: str) -> str:
    """The world's user who takes ``action`` in ``state``: only the roles of the state's forward step may also
    reject or object there (DOMAIN.md §5 "Who may act"), so those go to the forward step's user."""
    if action in workflow.SIDE_ACTIONS:
        forward = workflow.forward_transitions(kind, state)
        action = forward[0].action if forward else Action.COUNTY_APPROVE  # closed: any role is refused alike
    return STEP_ACTORS[action]


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
    _numbers: int = 100  # the world's households are numbered from 0101: the cast's household is 0001

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
        if actor is None:
            state = Application.objects.values_list("state", flat=True).get(pk=application.pk)
            actor = step_actor(application.kind, state, action)
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


@pytest.fixture
def world(cast, clock) -> World:
    """The cast (testing/cast.py) with the procedure's extra people: a third work-team member, a second county
    clerk, a township clerk seconded to the county, and the first secretary of the next village."""
    world = World(cast.city_admin, cast.counties, cast.townships, cast.villages)
    v1, t1, luanchuan = {"village": cast.village}, {"township": cast.chengguan}, {"county": cast.luanchuan}
    world.users = {
        "secretary": cast.secretary,
        "team_a": cast.work_team,
        "team_b": cast.work_team_2,
        "team_c": cast_member("v1_team_c", "庄子村工作队员刘梓涵", ("work_team", v1)),
        "township": cast.township_clerk,
        "county": cast.luanchuan_clerk,
        "county2": cast_member("lc_clerk2", "栾川县扶贫办孙科员", ("county_staff", luanchuan)),
        # A township clerk who is also seconded to the county office: maker-checker must still hold.
        "township_and_county": cast_member(
            "t1_lc_clerk", "城关镇兼县扶贫办何干部", ("township_staff", t1), ("county_staff", luanchuan)
        ),
        "supervisor": cast.supervisor,
        "other_secretary": cast_member(
            "v2_secretary", "协心村第一书记高建国", ("first_secretary", {"village": cast.neighbour_village})
        ),
        "songxian": cast.songxian_clerk,
        "nobody": cast.nobody,
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
