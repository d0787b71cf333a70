"""Who may act at each step of the procedures (DOMAIN.md §5 "Who may act", issue 11).

The rule, written out by hand below (``WHO_MAY_ACT``) and checked against the transition table: at every state,
the roles of that state's forward step, and only they, may take it, reject, or record an objection (which sends
the application back). County approval belongs to county staff and to a supervisor whose jurisdiction covers the
household. Then the services, role by role in every state: the allowed are let through and recorded in their
role, the others are refused with PermissionDenied naming who may act, and nothing is written; the "待我办理"
queue offers each user exactly the applications whose state is theirs.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from assistance.choices import Role
from assistance.services import household_assign_helper
from households.choices import HouseholdStatus
from households.models import Household
from procedures import services, workflow
from procedures.choices import Action, Kind, State
from procedures.filtersets import waiting_for_user_q
from procedures.models import Application, Step
from procedures.tests.conftest import snapshot
from testing.cast import cast_member

VILLAGE = frozenset({"first_secretary", "work_team"})
TOWNSHIP = frozenset({"township_staff"})
COUNTY = frozenset({"county_staff", "supervisor"})

# (kind, state) → the roles that may move the application on, reject it or send it back there (DOMAIN.md §5).
WHO_MAY_ACT = {
    (Kind.IDENTIFICATION, State.APPLIED): VILLAGE,
    (Kind.IDENTIFICATION, State.VILLAGER_REVIEW): VILLAGE,
    (Kind.IDENTIFICATION, State.COMMITTEE_CONFIRMED): VILLAGE,
    (Kind.IDENTIFICATION, State.VILLAGE_NOTICE): TOWNSHIP,
    # The second notice is posted in the village after the township's review: the township or the village posts it.
    (Kind.IDENTIFICATION, State.TOWNSHIP_REVIEWED): TOWNSHIP | VILLAGE,
    (Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE): COUNTY,
    (Kind.EXIT, State.PROPOSED): VILLAGE,
    (Kind.EXIT, State.APPRAISED): VILLAGE,
    (Kind.EXIT, State.VERIFIED): VILLAGE,
    (Kind.EXIT, State.ACKNOWLEDGED): VILLAGE,
    (Kind.EXIT, State.VILLAGE_NOTICE): TOWNSHIP,
    (Kind.EXIT, State.TOWNSHIP_REVIEWED): COUNTY,
}
# Where an objection sends the application back; only notice states take objections.
SENT_BACK_TO = {
    (Kind.IDENTIFICATION, State.VILLAGE_NOTICE): State.COMMITTEE_CONFIRMED,
    (Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE): State.TOWNSHIP_REVIEWED,
    (Kind.EXIT, State.VILLAGE_NOTICE): State.VERIFIED,
}
CLOSED = (State.COUNTY_APPROVED, State.REJECTED)
ROLE_LABELS = {role.value: role.label for role in Role}


def actions_at(kind: str, state: str) -> list[str]:
    """The actions that exist at ``state``: its forward step, the rejection, the objection at a notice."""
    return [t.action for t in workflow.actions_from(kind, state)]


# --- the table (pure) ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "state"), list(WHO_MAY_ACT), ids=lambda v: str(v))
def test_the_forward_step_the_rejection_and_the_objection_of_a_state_belong_to_the_same_roles(kind, state):
    transitions = workflow.actions_from(kind, state)
    forward = workflow.forward_transitions(kind, state)

    assert len(forward) == 1
    assert {t.action: t.roles for t in transitions} == {
        forward[0].action: WHO_MAY_ACT[kind, state],
        Action.REJECT: WHO_MAY_ACT[kind, state],
        **({Action.OBJECT: WHO_MAY_ACT[kind, state]} if (kind, state) in SENT_BACK_TO else {}),
    }
    assert workflow.roles_for_state(kind, state) == WHO_MAY_ACT[kind, state]


def test_every_open_state_is_in_the_table_and_closed_states_take_no_action():
    table_states = {kind: {state for k, state in WHO_MAY_ACT if k == kind} for kind in workflow.TRANSITIONS}
    for kind, transitions in workflow.TRANSITIONS.items():
        sources = {state for t in transitions for state in t.source}
        assert sources == table_states[kind], kind
        for state in CLOSED:
            assert workflow.actions_from(kind, state) == []
            assert workflow.roles_for_state(kind, state) == frozenset()


def test_objections_are_taken_only_during_a_notice_and_send_the_application_back():
    objections = {
        (kind, state): t.target
        for kind, transitions in workflow.TRANSITIONS.items()
        for t in transitions
        if t.action == Action.OBJECT
        for state in t.source
    }

    assert objections == SENT_BACK_TO
    assert {state for _, state in objections} == workflow.NOTICE_STATES


def test_county_approval_belongs_to_county_staff_and_supervisors_and_nobody_else():
    approvals = [t for ts in workflow.TRANSITIONS.values() for t in ts if t.action == Action.COUNTY_APPROVE]

    assert len(approvals) == 2
    assert all(t.roles == {"county_staff", "supervisor"} for t in approvals)
    assert {"county_staff", "supervisor"} == workflow.COUNTY_ROLES
    assert workflow.ANY_REVIEWER == VILLAGE | TOWNSHIP | COUNTY


def test_rejections_and_objections_are_not_review_steps():
    side = [t for ts in workflow.TRANSITIONS.values() for t in ts if t.action in workflow.SIDE_ACTIONS]

    assert side and not any(t.review_step for t in side)


# --- the services, role by role ------------------------------------------------------------------------------

# One fresh user per role, holding it where it reaches 庄子村 (V1): none has acted on any application before, so
# maker-checker never stands in the way and only the role decides.
ROLE_PLACES = {
    "county_staff": "county",
    "supervisor": "county",  # a supervisor bound to 栾川县: covers the household
    "township_staff": "township",
    "first_secretary": "village",
    "work_team": "village",
    "village_leader": "village",
    "helper": None,  # no place; assigned to the application's household below
}


@pytest.fixture
def role_users(world, cast) -> dict[str, object]:
    places = {"county": {"county": cast.luanchuan}, "township": {"township": cast.chengguan}}
    places["village"] = {"village": cast.village}
    users = {
        role: cast_member(f"role_{role}", f"庄子村{ROLE_LABELS[role]}吴", (role, places[place] if place else {}))
        for role, place in ROLE_PLACES.items()
    }
    world.users |= {f"role_{role}": user for role, user in users.items()}
    return users


def ready(world, application: Application, action: str) -> None:
    """Satisfy every guard but the role: notice over, six signatures before an identification's approval."""
    transition = workflow.transition_for(application.kind, action, application.state)
    if transition.needs_notice_over or application.state in workflow.NOTICE_STATES:
        world.end_notice(application)
    if action == Action.COUNTY_APPROVE and application.kind == Kind.IDENTIFICATION:
        world.sign_all(application)


class RolledBack(Exception):
    """Raised to undo an allowed step, so that the next action starts from the same state."""


ROLE_CASES = [
    pytest.param(kind, state, role, id=f"{kind}-{state}-{role}") for kind, state in WHO_MAY_ACT for role in ROLE_PLACES
]


@pytest.mark.parametrize(("kind", "state", "role"), ROLE_CASES)
def test_each_role_may_take_reject_and_object_exactly_at_its_own_states(world, role_users, kind, state, role):
    application = world.application(kind, state)
    if role == "helper":
        household_assign_helper(
            actor=world.root,
            household=application.household,
            cadre=role_users[role].cadre,
            starts_on=timezone.localdate() - dt.timedelta(days=1),
        )
    user_key, allowed = f"role_{role}", role in WHO_MAY_ACT[kind, state]
    for action in actions_at(kind, state):
        ready(world, application, action)
    before = snapshot(application)

    in_queue = Application.objects.filter(waiting_for_user_q(role_users[role]), pk=application.pk).exists()
    assert in_queue == allowed

    for action in actions_at(kind, state):
        if allowed:
            with pytest.raises(RolledBack), transaction.atomic():
                done = world.act(application, action, actor=user_key)
                step = done.steps.last()
                assert (step.action, step.actor, step.role) == (action, role_users[role], role)
                assert done.state == workflow.transition_for(kind, action, state).target
                raise RolledBack
        else:
            with pytest.raises(PermissionDenied) as excinfo:
                world.act(application, action, actor=user_key)
            wanted = "、".join(ROLE_LABELS[r] for r in sorted(WHO_MAY_ACT[kind, state]))
            assert str(excinfo.value) == (
                f"申请处于“{State(state).label}”环节，“{Action(action).label}”须由{wanted}办理，"
                "您在该户所在辖区没有这些角色。"
            )
        assert snapshot(application) == before, action


# --- the cases everyone asks about -------------------------------------------------------------------------


def refused_and_unchanged(world, application: Application, action: str, actor: str, error=PermissionDenied) -> str:
    ready(world, application, action)
    application.refresh_from_db()
    before, steps = snapshot(application), Step.objects.count()
    with pytest.raises(error) as excinfo:
        world.act(application, action, actor=actor)
    assert snapshot(application) == before
    assert Step.objects.count() == steps
    return str(excinfo.value)


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        pytest.param(Kind.IDENTIFICATION, State.VILLAGE_NOTICE, id="identification-township-review"),
        pytest.param(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE, id="identification-county-approval"),
        pytest.param(Kind.EXIT, State.VILLAGE_NOTICE, id="exit-township-review"),
        pytest.param(Kind.EXIT, State.TOWNSHIP_REVIEWED, id="exit-county-approval"),
    ],
)
@pytest.mark.parametrize("actor", ["secretary", "team_c"])
def test_a_village_cadre_cannot_reject_or_send_back_at_township_or_county_review(world, kind, state, actor):
    application = world.application(kind, state)

    for action in actions_at(kind, state):
        message = refused_and_unchanged(world, application, action, actor)
        assert f"“{Action(action).label}”须由" in message
        assert "驻村第一书记" not in message.split("办理")[0]


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        pytest.param(Kind.IDENTIFICATION, State.APPLIED, id="identification-applied"),
        pytest.param(Kind.IDENTIFICATION, State.VILLAGER_REVIEW, id="identification-villager-review"),
        pytest.param(Kind.IDENTIFICATION, State.COMMITTEE_CONFIRMED, id="identification-confirmed"),
        pytest.param(Kind.EXIT, State.PROPOSED, id="exit-proposed"),
        pytest.param(Kind.EXIT, State.APPRAISED, id="exit-appraised"),
        pytest.param(Kind.EXIT, State.VERIFIED, id="exit-verified"),
        pytest.param(Kind.EXIT, State.ACKNOWLEDGED, id="exit-acknowledged"),
    ],
)
@pytest.mark.parametrize("actor", ["county", "supervisor"])
def test_county_staff_and_supervisors_cannot_reject_at_a_village_stage(world, kind, state, actor):
    application = world.application(kind, state)

    message = refused_and_unchanged(world, application, Action.REJECT, actor)

    assert message == (
        f"申请处于“{State(state).label}”环节，“不予通过”须由驻村第一书记、驻村工作队员办理，"
        "您在该户所在辖区没有这些角色。"
    )


def test_the_county_clerk_rejects_at_county_review_with_a_reason(world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)

    done = world.act(application, Action.REJECT, actor="county", comment="抽查发现该户收入核算有误。")

    assert done.state == State.REJECTED
    step = done.steps.last()
    assert (step.action, step.actor, step.role) == (Action.REJECT, world.user("county"), "county_staff")
    assert Household.objects.get(pk=application.household_id).status == HouseholdStatus.IN_POVERTY


@pytest.fixture
def county_supervisor(world, cast):
    """A supervisor (审核人员) bound to 栾川县, whose jurisdiction covers 庄子村."""
    user = cast_member("lc_supervisor", "栾川县审核人员钱立新", ("supervisor", {"county": cast.luanchuan}))
    world.users["lc_supervisor"] = user
    return user


@pytest.mark.parametrize("kind", [Kind.IDENTIFICATION, Kind.EXIT])
def test_a_supervisor_whose_county_covers_the_household_approves_it(world, county_supervisor, kind):
    state = State.TOWNSHIP_NOTICE if kind == Kind.IDENTIFICATION else State.TOWNSHIP_REVIEWED
    application = world.application(kind, state)
    ready(world, application, Action.COUNTY_APPROVE)

    assert services.actor_roles(county_supervisor, application.household) == {"supervisor"}
    done = world.act(application, Action.COUNTY_APPROVE, actor="lc_supervisor")

    assert done.state == State.COUNTY_APPROVED
    step = done.steps.last()
    assert (step.action, step.actor, step.role) == (Action.COUNTY_APPROVE, county_supervisor, "supervisor")
    household = Household.objects.get(pk=application.household_id)
    expected = HouseholdStatus.IN_POVERTY if kind == Kind.IDENTIFICATION else HouseholdStatus.EXITED
    assert household.status == expected


def test_a_supervisor_bound_to_another_county_is_refused_as_if_the_application_did_not_exist(world, cast):
    world.users["sx_supervisor"] = cast_member(
        "sx_supervisor", "嵩县审核人员冯晓东", ("supervisor", {"county": cast.songxian})
    )
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)

    refused_and_unchanged(world, application, Action.COUNTY_APPROVE, "sx_supervisor", error=Http404)

    assert Household.objects.get(pk=application.household_id).status == HouseholdStatus.IN_POVERTY


def test_a_supervisor_of_another_county_who_works_in_the_village_cannot_approve_there(world, cast):
    """In the household's jurisdiction through a village role, but the supervisor role does not reach it: the
    approval needs a county role that covers the household, not any supervisor role anywhere."""
    world.users["sx_supervisor_v1"] = cast_member(
        "sx_supervisor_v1",
        "嵩县审核人员兼庄子村工作队员沈宏",
        ("supervisor", {"county": cast.songxian}),
        ("work_team", {"village": cast.village}),
    )
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)

    message = refused_and_unchanged(world, application, Action.COUNTY_APPROVE, "sx_supervisor_v1")

    assert services.actor_roles(world.user("sx_supervisor_v1"), application.household) == {"work_team"}
    assert "“县级审批”须由县扶贫办、督查/审核人员办理" in message
    assert Household.objects.get(pk=application.household_id).status == HouseholdStatus.IN_POVERTY


def test_a_city_wide_supervisor_may_reject_at_county_review_but_not_at_the_township_review(world):
    at_county = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    at_township = world.application(Kind.EXIT, State.VILLAGE_NOTICE)

    message = refused_and_unchanged(world, at_township, Action.REJECT, "supervisor")
    done = world.act(at_county, Action.REJECT, actor="supervisor", comment="该户人均纯收入计算有误。")

    assert "“不予通过”须由乡镇扶贫专干办理" in message
    assert (done.state, done.steps.last().role) == (State.REJECTED, "supervisor")
