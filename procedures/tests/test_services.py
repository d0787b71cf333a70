"""The identification and exit procedures as services (DOMAIN.md §5, issue 5): every legal step is taken and
recorded, every illegal one is refused with a clear message and changes nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from assessments.models import Assessment
from assessments.rules import CRITERION_LABELS
from assessments.services import household_assess
from households import services as household_services
from households.choices import HouseholdStatus, HouseSafetyGrade
from households.models import Household
from procedures import services, workflow
from procedures.choices import Action, Kind, Signatory, State
from procedures.models import Application, Objection, Signature, Step
from procedures.tests.conftest import (
    HAPPY_PATH,
    SIGNATORY_NAMES,
    USER_ROLES,
    YEAR,
    snapshot,
    step_actor,
)
from testing.factories import IncomeRecordFactory

pytestmark = pytest.mark.django_db

CHINESE = re.compile(r"[\u4e00-\u9fff]")
STATES = {
    Kind.IDENTIFICATION: (
        State.APPLIED,
        State.VILLAGER_REVIEW,
        State.COMMITTEE_CONFIRMED,
        State.VILLAGE_NOTICE,
        State.TOWNSHIP_REVIEWED,
        State.TOWNSHIP_NOTICE,
        State.COUNTY_APPROVED,
        State.REJECTED,
    ),
    Kind.EXIT: (
        State.PROPOSED,
        State.APPRAISED,
        State.VERIFIED,
        State.ACKNOWLEDGED,
        State.VILLAGE_NOTICE,
        State.TOWNSHIP_REVIEWED,
        State.COUNTY_APPROVED,
        State.REJECTED,
    ),
}
LEGAL_TRANSITIONS = [
    pytest.param(kind, t.action, source, t.target, id=f"{kind}-{source}-{t.action}")
    for kind, transitions in workflow.TRANSITIONS.items()
    for t in transitions
    for source in sorted(t.source)
]


def messages(excinfo) -> str:
    exc = excinfo.value
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def prepare(world, application: Application, action: str) -> None:
    """Satisfy every guard but the one under test: notice over, six signatures before county approval."""
    transition = workflow.transition_for(application.kind, action, application.state)
    if transition is not None and transition.needs_notice_over:
        world.end_notice(application)
    if action == Action.COUNTY_APPROVE and application.kind == Kind.IDENTIFICATION:
        world.sign_all(application)


# --- opening ---------------------------------------------------------------------------------------------


def test_opening_an_identification_records_the_applicant_step(world):
    household = world.household(status=HouseholdStatus.MARGINAL, identified_year=2016, assess=False)
    started = timezone.now()

    application = services.application_open(
        actor=world.user("secretary"), household=household, kind=Kind.IDENTIFICATION, year=YEAR, comment="本人申请"
    )

    assert (application.kind, application.state, application.year) == (Kind.IDENTIFICATION, State.APPLIED, YEAR)
    assert application.created_by == world.user("secretary")
    step = application.steps.get()
    assert (step.action, step.from_state, step.to_state) == ("open", "", State.APPLIED)
    assert (step.actor, step.role, step.comment, step.review_step) == (
        world.user("secretary"),
        "first_secretary",
        "本人申请",
        True,
    )
    assert started <= step.at <= timezone.now()


def test_opening_an_exit_for_an_eligible_household_records_the_proposal(world):
    household = world.household()
    assert Assessment.objects.get(household=household, year=YEAR, is_current=True).eligible

    application = world.open(Kind.EXIT, household, actor="team_c")

    assert application.state == State.PROPOSED
    step = application.steps.get()
    assert (step.action, step.to_state, step.actor, step.role) == (
        "open",
        State.PROPOSED,
        world.user("team_c"),
        "work_team",
    )


def test_a_township_clerk_cannot_open_an_application(world):
    household = world.household()
    before = snapshot(household=household)

    with pytest.raises(PermissionDenied) as excinfo:
        world.open(Kind.EXIT, household, actor="township")

    assert "驻村第一书记" in messages(excinfo)
    assert snapshot(household=household) == before


@pytest.mark.parametrize("outsider", ["songxian", "other_secretary", "nobody"])
def test_an_outsider_cannot_open_an_application_and_gets_404(world, outsider):
    household = world.household()
    before = snapshot(household=household)

    with pytest.raises(Http404):
        world.open(Kind.EXIT, household, actor=outsider)

    assert snapshot(household=household) == before


def test_an_exit_cannot_be_opened_without_an_assessment_for_the_year(world):
    household = world.household(assess=False)
    before = snapshot(household=household)

    with pytest.raises(ValidationError) as excinfo:
        world.open(Kind.EXIT, household)

    assert f"尚无{YEAR}年的退出评估结果" in messages(excinfo)
    assert snapshot(household=household) == before


def test_an_exit_cannot_be_opened_for_an_ineligible_household_and_the_message_lists_the_failing_criteria(world):
    household = world.household(net="3000.00", house_safety_grade=HouseSafetyGrade.D)
    assert not Assessment.objects.get(household=household, year=YEAR, is_current=True).eligible
    before = snapshot(household=household)

    with pytest.raises(ValidationError) as excinfo:
        world.open(Kind.EXIT, household)

    text = messages(excinfo)
    assert "未达到退出标准" in text
    assert CRITERION_LABELS["income"] in text and "3,000.00元" in text
    assert CRITERION_LABELS["housing"] in text and "D级" in text
    assert CRITERION_LABELS["water"] not in text  # only the failing criteria are listed
    assert snapshot(household=household) == before


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (Kind.IDENTIFICATION, HouseholdStatus.IN_POVERTY),
        (Kind.IDENTIFICATION, HouseholdStatus.EXITED),
        (Kind.EXIT, HouseholdStatus.MARGINAL),
        (Kind.EXIT, HouseholdStatus.EXITED),
    ],
)
def test_an_application_is_refused_for_a_household_in_the_wrong_status(world, kind, status):
    household = world.household(status=status, exit_year=YEAR if status == HouseholdStatus.EXITED else None)
    before = snapshot(household=household)

    with pytest.raises(ValidationError) as excinfo:
        world.open(kind, household)

    assert household.get_status_display() in messages(excinfo)
    assert snapshot(household=household) == before


@pytest.mark.parametrize("kind", [Kind.IDENTIFICATION, Kind.EXIT])
def test_an_application_cannot_be_opened_twice_for_the_same_household_and_year(world, kind):
    application = world.application(kind, workflow.OPENING_STATE[kind])
    before = snapshot(application)

    with pytest.raises(ValidationError) as excinfo:
        world.open(kind, application.household, actor="team_c")

    assert f"该户{YEAR}年已有{Kind(kind).label}申请" in messages(excinfo)
    assert snapshot(application) == before


@pytest.mark.parametrize("kind", [Kind.IDENTIFICATION, Kind.EXIT])
def test_an_application_can_be_opened_again_after_the_first_was_rejected(world, kind):
    rejected = world.application(kind, State.REJECTED)

    again = world.open(kind, rejected.household, actor="team_c")

    assert again.pk != rejected.pk
    assert again.state == workflow.OPENING_STATE[kind]
    assert Application.objects.filter(household=rejected.household, kind=kind, year=YEAR).count() == 2


# --- every legal transition --------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "action", "source", "target"), LEGAL_TRANSITIONS)
def test_every_legal_transition_moves_the_application_and_records_who_when_and_why(
    world, clock, kind, action, source, target
):
    application = world.application(kind, source)
    prepare(world, application, action)
    steps_before = application.steps.count()
    actor = step_actor(kind, source, action)
    comment = "经核实，情况属实。"
    started = timezone.now()

    done = world.act(application, action, comment=comment)

    done.refresh_from_db()
    assert done.state == target
    assert started <= done.state_entered_at <= timezone.now()
    assert done.steps.count() == steps_before + 1
    step = done.steps.last()
    assert (step.action, step.from_state, step.to_state) == (action, source, target)
    assert (step.actor, step.role, step.comment) == (world.user(actor), USER_ROLES[actor], comment)
    assert started <= step.at <= timezone.now()
    assert step.review_step == workflow.transition_for(kind, action, source).review_step
    if target in workflow.NOTICE_STATES:
        assert done.notice_started_on == clock.today
        assert done.notice_ends_on == clock.today + dt.timedelta(days=6)


def test_the_step_history_of_an_application_is_kept_in_order(world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)

    steps = list(application.steps.values_list("action", "from_state", "to_state", "actor__username"))

    assert steps == [
        ("open", "", State.PROPOSED, "v1_secretary"),
        (Action.APPRAISE, State.PROPOSED, State.APPRAISED, "v1_team_a"),
        (Action.VERIFY, State.APPRAISED, State.VERIFIED, "v1_team_b"),
        (Action.ACKNOWLEDGE, State.VERIFIED, State.ACKNOWLEDGED, "v1_secretary"),
        (Action.PUBLISH_NOTICE, State.ACKNOWLEDGED, State.VILLAGE_NOTICE, "v1_secretary"),
    ]


# --- wrong state -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "state"), [pytest.param(kind, state, id=f"{kind}-{state}") for kind in STATES for state in STATES[kind]]
)
def test_every_action_not_available_in_a_state_is_refused_and_changes_nothing(world, kind, state):
    application = world.application(kind, state)
    if state in workflow.NOTICE_STATES:
        world.end_notice(application)
    available = {t.action for t in workflow.actions_from(kind, state)}
    refused = [action for action in Action if action not in available]
    assert refused
    before = snapshot(application)

    for action in refused:
        # The city's administrator holds every role: only the state can be the reason.
        with pytest.raises(ValidationError) as excinfo:
            services.application_transition(
                actor=world.root,
                application=application,
                action=action,
                comment="理由",
                objection=services.ObjectionInput(text="异议", raised_by="村民"),
            )
        assert f"申请处于“{State(state).label}”环节，不能执行“{Action(action).label}”" in messages(excinfo), action
        assert snapshot(application) == before, action


def test_an_unknown_action_is_refused(world):
    application = world.application(Kind.EXIT, State.PROPOSED)
    before = snapshot(application)

    with pytest.raises(ValidationError) as excinfo:
        services.application_transition(actor=world.root, application=application, action="approve_everything")

    assert "未知的操作" in messages(excinfo)
    assert snapshot(application) == before


# --- wrong role --------------------------------------------------------------------------------------------

WRONG_ROLES = [
    # (kind, state, action, actor, a role the message names)
    (Kind.IDENTIFICATION, State.APPLIED, Action.REVIEW, "township", "驻村工作队员"),
    (Kind.IDENTIFICATION, State.VILLAGER_REVIEW, Action.CONFIRM, "county", "驻村第一书记"),
    (Kind.IDENTIFICATION, State.COMMITTEE_CONFIRMED, Action.PUBLISH_NOTICE, "township", "驻村第一书记"),
    (Kind.IDENTIFICATION, State.VILLAGE_NOTICE, Action.TOWNSHIP_REVIEW, "team_c", "乡镇扶贫专干"),
    (Kind.IDENTIFICATION, State.VILLAGE_NOTICE, Action.TOWNSHIP_REVIEW, "county", "乡镇扶贫专干"),
    (Kind.IDENTIFICATION, State.TOWNSHIP_REVIEWED, Action.PUBLISH_TOWNSHIP_NOTICE, "county", "乡镇扶贫专干"),
    (Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE, Action.COUNTY_APPROVE, "team_c", "县扶贫办"),
    (Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE, Action.COUNTY_APPROVE, "township", "县扶贫办"),
    (Kind.EXIT, State.PROPOSED, Action.APPRAISE, "township", "驻村工作队员"),
    (Kind.EXIT, State.APPRAISED, Action.VERIFY, "county", "驻村工作队员"),
    (Kind.EXIT, State.VERIFIED, Action.ACKNOWLEDGE, "township", "驻村第一书记"),
    (Kind.EXIT, State.ACKNOWLEDGED, Action.PUBLISH_NOTICE, "county", "驻村第一书记"),
    (Kind.EXIT, State.VILLAGE_NOTICE, Action.TOWNSHIP_REVIEW, "team_c", "乡镇扶贫专干"),
    (Kind.EXIT, State.VILLAGE_NOTICE, Action.TOWNSHIP_REVIEW, "supervisor", "乡镇扶贫专干"),
    (Kind.EXIT, State.TOWNSHIP_REVIEWED, Action.COUNTY_APPROVE, "team_c", "县扶贫办"),
    (Kind.EXIT, State.TOWNSHIP_REVIEWED, Action.COUNTY_APPROVE, "township", "县扶贫办"),
]


@pytest.mark.parametrize(
    ("kind", "state", "action", "actor", "wanted"),
    [pytest.param(*row, id=f"{row[0]}-{row[2]}-by-{row[3]}") for row in WRONG_ROLES],
)
def test_a_step_taken_in_the_wrong_role_is_refused_and_changes_nothing(world, kind, state, action, actor, wanted):
    application = world.application(kind, state)
    prepare(world, application, action)
    before = snapshot(application)

    with pytest.raises(PermissionDenied) as excinfo:
        world.act(application, action, actor=actor)

    assert f"“{Action(action).label}”须由" in messages(excinfo)
    assert wanted in messages(excinfo)
    assert snapshot(application) == before


def test_a_user_without_any_role_is_told_the_application_does_not_exist(world):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)
    before = snapshot(application)

    with pytest.raises(Http404):
        world.act(application, Action.REVIEW, actor="nobody")

    assert snapshot(application) == before


# --- out of jurisdiction -----------------------------------------------------------------------------------

OUT_OF_JURISDICTION = [
    # Another county's clerk, and another village's first secretary (same township): both get 404, not 403,
    # so that an outsider cannot even learn that the application exists.
    (Kind.IDENTIFICATION, State.APPLIED, Action.REVIEW, "other_secretary"),
    (Kind.IDENTIFICATION, State.APPLIED, Action.REJECT, "songxian"),
    (Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE, Action.COUNTY_APPROVE, "songxian"),
    (Kind.IDENTIFICATION, State.VILLAGE_NOTICE, Action.OBJECT, "other_secretary"),
    (Kind.EXIT, State.PROPOSED, Action.APPRAISE, "other_secretary"),
    (Kind.EXIT, State.TOWNSHIP_REVIEWED, Action.COUNTY_APPROVE, "songxian"),
    (Kind.EXIT, State.VILLAGE_NOTICE, Action.OBJECT, "songxian"),
]


@pytest.mark.parametrize(
    ("kind", "state", "action", "actor"),
    [pytest.param(*row, id=f"{row[0]}-{row[2]}-by-{row[3]}") for row in OUT_OF_JURISDICTION],
)
def test_a_step_outside_the_actors_jurisdiction_gets_404_and_changes_nothing(world, kind, state, action, actor):
    application = world.application(kind, state)
    prepare(world, application, action)
    before = snapshot(application)

    with pytest.raises(Http404):
        world.act(application, action, actor=actor)

    assert snapshot(application) == before


def test_a_city_wide_supervisor_may_approve_at_county_level(world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)

    done = world.act(application, Action.COUNTY_APPROVE, actor="supervisor")

    assert done.state == State.COUNTY_APPROVED
    assert done.steps.last().role == "supervisor"


# --- notice period -----------------------------------------------------------------------------------------

NOTICE_STEPS = [
    pytest.param(Kind.IDENTIFICATION, State.VILLAGE_NOTICE, Action.TOWNSHIP_REVIEW, id="identification-first"),
    pytest.param(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE, Action.COUNTY_APPROVE, id="identification-second"),
    pytest.param(Kind.EXIT, State.VILLAGE_NOTICE, Action.TOWNSHIP_REVIEW, id="exit"),
]


@pytest.mark.parametrize(("kind", "state", "action"), NOTICE_STEPS)
def test_a_notice_cannot_advance_on_any_of_its_seven_days_but_can_the_day_after(world, clock, kind, state, action):
    application = world.application(kind, state)  # the notice was published today
    published_on = clock.today
    assert application.notice_started_on == published_on
    assert application.notice_ends_on == published_on + dt.timedelta(days=6)
    if action == Action.COUNTY_APPROVE:
        world.sign_all(application)
    before = snapshot(application)

    for day in range(7):
        clock.today = published_on + dt.timedelta(days=day)
        with pytest.raises(ValidationError) as excinfo:
            world.act(application, action)
        assert f"公示期至{application.notice_ends_on:%Y年%m月%d日}止" in messages(excinfo)
        assert snapshot(application) == before

    clock.today = published_on + dt.timedelta(days=7)
    done = world.act(application, action)

    assert done.state == workflow.transition_for(kind, action, state).target


def test_the_notice_period_is_configurable(world, clock, settings):
    settings.NOTICE_PERIOD_DAYS = 10
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)

    assert application.notice_ends_on == clock.today + dt.timedelta(days=9)
    clock.advance(9)
    with pytest.raises(ValidationError) as excinfo:
        world.act(application, Action.TOWNSHIP_REVIEW)
    assert "（10天）" in messages(excinfo)
    clock.advance(1)
    assert world.act(application, Action.TOWNSHIP_REVIEW).state == State.TOWNSHIP_REVIEWED


# --- maker-checker -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "state", "action", "actor", "done_before"),
    [
        pytest.param(Kind.IDENTIFICATION, State.APPLIED, Action.REVIEW, "secretary", "提出申请", id="opener-reviews"),
        pytest.param(
            Kind.IDENTIFICATION, State.VILLAGER_REVIEW, Action.CONFIRM, "secretary", "提出申请", id="opener-confirms"
        ),
        pytest.param(
            Kind.IDENTIFICATION, State.VILLAGER_REVIEW, Action.CONFIRM, "team_a", "民主评议", id="reviewer-confirms"
        ),
        pytest.param(Kind.EXIT, State.PROPOSED, Action.APPRAISE, "secretary", "提出申请", id="proposer-appraises"),
        pytest.param(Kind.EXIT, State.APPRAISED, Action.VERIFY, "team_a", "民主评议", id="appraiser-verifies"),
        pytest.param(Kind.EXIT, State.APPRAISED, Action.VERIFY, "secretary", "提出申请", id="proposer-verifies"),
    ],
)
def test_the_same_user_cannot_take_two_review_steps_of_one_application(world, kind, state, action, actor, done_before):
    application = world.application(kind, state)
    before = snapshot(application)

    with pytest.raises(PermissionDenied) as excinfo:
        world.act(application, action, actor=actor)

    assert f"您已办理“{done_before}”" in messages(excinfo)
    assert snapshot(application) == before


@pytest.mark.parametrize(
    ("kind", "approval_state"),
    [(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE), (Kind.EXIT, State.TOWNSHIP_REVIEWED)],
)
def test_a_township_reviewer_who_also_works_for_the_county_cannot_approve_the_same_application(
    world, kind, approval_state
):
    application = world.application(kind, State.VILLAGE_NOTICE)
    world.end_notice(application)
    application = world.act(application, Action.TOWNSHIP_REVIEW, actor="township_and_county")
    assert application.steps.last().role == "township_staff"
    application = world.advance(application, approval_state)
    prepare(world, application, Action.COUNTY_APPROVE)
    before = snapshot(application)

    with pytest.raises(PermissionDenied) as excinfo:
        world.act(application, Action.COUNTY_APPROVE, actor="township_and_county")

    assert "您已办理“乡镇审核”" in messages(excinfo)
    assert snapshot(application) == before
    assert world.act(application, Action.COUNTY_APPROVE, actor="county2").state == State.COUNTY_APPROVED


def test_a_township_reviewer_who_also_works_for_the_county_may_approve_what_someone_else_reviewed(world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)

    done = world.act(application, Action.COUNTY_APPROVE, actor="township_and_county")

    assert done.state == State.COUNTY_APPROVED
    assert done.steps.last().role == "county_staff"


def test_the_opener_may_publish_the_notice_because_it_is_not_a_review_step(world):
    application = world.application(Kind.IDENTIFICATION, State.COMMITTEE_CONFIRMED)

    done = world.act(application, Action.PUBLISH_NOTICE, actor="secretary")

    assert done.state == State.VILLAGE_NOTICE


def test_the_township_reviewer_may_review_again_after_an_objection_sent_the_application_back(world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_REVIEWED)
    application = world.act(application, Action.PUBLISH_TOWNSHIP_NOTICE)
    application = world.act(application, Action.OBJECT)
    assert application.state == State.TOWNSHIP_REVIEWED
    application = world.act(application, Action.PUBLISH_TOWNSHIP_NOTICE)
    world.end_notice(application)
    world.sign_all(application)

    assert world.act(application, Action.COUNTY_APPROVE).state == State.COUNTY_APPROVED


# --- reject ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("comment", ["", "   "])
def test_a_rejection_without_a_reason_is_refused(world, comment):
    application = world.application(Kind.EXIT, State.VERIFIED)
    before = snapshot(application)

    with pytest.raises(ValidationError) as excinfo:
        world.act(application, Action.REJECT, comment=comment)

    assert "不予通过须填写理由" in messages(excinfo)
    assert snapshot(application) == before


def test_a_rejection_closes_the_application_and_keeps_the_household_as_it_was(world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    household_before = snapshot(household=application.household)["household"]

    done = world.act(application, Action.REJECT, actor="county", comment="  家有经营性货车，不符合识别条件。 ")

    assert done.state == State.REJECTED and done.is_closed
    assert done.steps.last().comment == "家有经营性货车，不符合识别条件。"
    assert snapshot(household=application.household)["household"] == household_before


# --- objections --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "objection",
    [
        pytest.param(None, id="none"),
        pytest.param(services.ObjectionInput(text="  ", raised_by="村民张秀英"), id="no-text"),
        pytest.param(services.ObjectionInput(text="该户有小汽车。", raised_by=" "), id="no-raiser"),
    ],
)
def test_an_objection_without_text_or_raiser_is_refused(world, objection):
    application = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    before = snapshot(application)

    with pytest.raises(ValidationError) as excinfo:
        services.application_transition(
            actor=world.user("township"), application=application, action=Action.OBJECT, objection=objection
        )

    assert "须填写异议内容和提出人" in messages(excinfo)
    assert snapshot(application) == before


@pytest.mark.parametrize(
    ("kind", "state", "back_to"),
    [
        pytest.param(Kind.IDENTIFICATION, State.VILLAGE_NOTICE, State.COMMITTEE_CONFIRMED, id="identification-first"),
        pytest.param(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE, State.TOWNSHIP_REVIEWED, id="identification-second"),
        pytest.param(Kind.EXIT, State.VILLAGE_NOTICE, State.VERIFIED, id="exit"),
    ],
)
def test_an_objection_is_recorded_and_sends_the_application_back(world, clock, kind, state, back_to):
    application = world.application(kind, state)
    clock.advance(3)
    recorder = step_actor(kind, state, Action.OBJECT)  # the reviewer of the step after the notice

    done = world.act(
        application,
        Action.OBJECT,
        actor=recorder,
        objection=services.ObjectionInput(text=" 该户儿子在县城有商品房。 ", raised_by=" 村民刘春花 "),
    )

    assert done.state == back_to
    objection = Objection.objects.get(application=application)
    assert (objection.text, objection.raised_by, objection.raised_on) == (
        "该户儿子在县城有商品房。",
        "村民刘春花",
        clock.today,
    )
    assert (objection.during_state, objection.recorded_by) == (state, world.user(recorder))
    step = done.steps.last()
    assert (step.action, step.from_state, step.to_state) == (Action.OBJECT, state, back_to)
    assert step.comment == "村民刘春花提出异议：该户儿子在县城有商品房。"


def test_after_an_objection_a_new_notice_period_starts_when_the_notice_is_published_again(world, clock):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    application = world.act(application, Action.OBJECT)
    application = world.act(application, Action.ACKNOWLEDGE)
    clock.advance(5)

    application = world.act(application, Action.PUBLISH_NOTICE)

    assert application.notice_started_on == clock.today
    assert application.notice_ends_on == clock.today + dt.timedelta(days=6)
    with pytest.raises(ValidationError):
        world.act(application, Action.TOWNSHIP_REVIEW)


# --- six signatures ----------------------------------------------------------------------------------------


def test_identification_county_approval_is_refused_without_any_signature_and_lists_all_six(world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.end_notice(application)
    before = snapshot(application)

    with pytest.raises(ValidationError) as excinfo:
        world.act(application, Action.COUNTY_APPROVE)

    assert "六签字不全" in messages(excinfo)
    for signatory in Signatory:
        assert signatory.label in messages(excinfo)
    assert snapshot(application) == before
    assert Household.objects.get(pk=application.household_id).status == HouseholdStatus.MARGINAL


def test_identification_county_approval_lists_exactly_the_missing_signatures(world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.end_notice(application)
    missing = (Signatory.HELPER, Signatory.TOWNSHIP_HEAD)
    world.sign_all(application, leave_out=missing)
    before = snapshot(application)

    with pytest.raises(ValidationError) as excinfo:
        world.act(application, Action.COUNTY_APPROVE)

    assert "缺少：帮扶责任人、乡镇长" in messages(excinfo)
    assert snapshot(application) == before
    for signatory in missing:
        services.signature_record(
            actor=world.user("township"),
            application=application,
            signatory=signatory,
            name=SIGNATORY_NAMES[signatory],
            signed_on=timezone.localdate(),
        )
    assert world.act(application, Action.COUNTY_APPROVE).state == State.COUNTY_APPROVED


def test_a_signature_is_recorded_once_per_signatory(world):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)
    world.sign_all(application, leave_out=tuple(s for s in Signatory if s != Signatory.HELPER))

    with pytest.raises(ValidationError) as excinfo:
        services.signature_record(
            actor=world.user("team_a"),
            application=application,
            signatory=Signatory.HELPER,
            name="杨志强",
            signed_on=timezone.localdate(),
        )

    assert "该身份的签字已记录" in messages(excinfo)
    assert list(application.signatures.values_list("name", flat=True)) == [SIGNATORY_NAMES[Signatory.HELPER]]


@pytest.mark.parametrize("case", ["exit", "closed", "future", "unknown-signatory"])
def test_a_signature_is_refused_where_it_does_not_belong(world, clock, case):
    kind = Kind.EXIT if case == "exit" else Kind.IDENTIFICATION
    application = world.application(kind, State.REJECTED if case == "closed" else workflow.OPENING_STATE[kind])
    signed_on = clock.today + dt.timedelta(days=1) if case == "future" else clock.today
    signatory = "village_accountant" if case == "unknown-signatory" else Signatory.HELPER
    before = snapshot(application)

    with pytest.raises(ValidationError):
        services.signature_record(
            actor=world.user("secretary"),
            application=application,
            signatory=signatory,
            name="杨海峰",
            signed_on=signed_on,
        )

    assert snapshot(application) == before


@pytest.mark.parametrize(("actor", "error"), [("songxian", Http404), ("other_secretary", Http404)])
def test_a_signature_cannot_be_recorded_from_outside_the_jurisdiction(world, actor, error):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)
    before = snapshot(application)

    with pytest.raises(error):
        services.signature_record(
            actor=world.user(actor),
            application=application,
            signatory=Signatory.HELPER,
            name="杨海峰",
            signed_on=timezone.localdate(),
        )

    assert snapshot(application) == before


# --- eligibility at county approval ------------------------------------------------------------------------


def test_exit_approval_rechecks_eligibility_on_current_data_and_refuses_when_it_no_longer_passes(world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    household = application.household
    # After the proposal the household's income for the year turns out lower than first recorded.
    household_services.income_record_save(
        user=world.user("secretary"), household=household, year=YEAR, wage_income=Decimal("3200.00")
    )
    assert Assessment.objects.get(household=household, year=YEAR, is_current=True).eligible  # not yet recomputed
    before = snapshot(application)

    with pytest.raises(ValidationError) as excinfo:
        world.act(application, Action.COUNTY_APPROVE)

    text = messages(excinfo)
    assert "已不再达到退出标准" in text
    assert CRITERION_LABELS["income"] in text and "3,200.00元" in text
    assert snapshot(application) == before
    assert Household.objects.get(pk=household.pk).status == HouseholdStatus.IN_POVERTY


def test_an_identification_is_not_approved_for_a_household_registered_meanwhile_by_another_years_application(world):
    household = world.household(status=HouseholdStatus.MARGINAL, identified_year=2016, assess=False)
    earlier = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE, household, year=YEAR - 1)
    world.application(Kind.IDENTIFICATION, State.COUNTY_APPROVED, household)
    world.end_notice(earlier)
    world.sign_all(earlier)
    before = snapshot(earlier)

    with pytest.raises(ValidationError) as excinfo:
        world.act(earlier, Action.COUNTY_APPROVE, actor="county2")

    assert "该户当前状态为“未脱贫”，不能再办理识别" in messages(excinfo)
    assert snapshot(earlier) == before
    assert Household.objects.get(pk=household.pk).identified_year == YEAR


def test_an_exit_is_not_approved_for_a_household_that_exited_meanwhile_by_another_years_application(world):
    household = world.household()
    IncomeRecordFactory(household=household, year=YEAR - 1, wage_income=Decimal("9000.00"))
    assert household_assess(household=household, year=YEAR - 1).eligible
    earlier = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED, household, year=YEAR - 1)
    world.application(Kind.EXIT, State.COUNTY_APPROVED, household)
    before = snapshot(earlier)

    with pytest.raises(ValidationError) as excinfo:
        world.act(earlier, Action.COUNTY_APPROVE, actor="county2")

    assert "该户当前状态为“已脱贫”，不能再办理退出" in messages(excinfo)
    assert snapshot(earlier) == before
    assert Household.objects.get(pk=household.pk).exit_year == YEAR


# --- full happy paths --------------------------------------------------------------------------------------


def test_identification_from_application_to_county_approval_registers_the_household(world, clock):
    household = world.household(status=HouseholdStatus.MARGINAL, identified_year=2016, assess=False)
    application = world.open(Kind.IDENTIFICATION, household)
    for action in HAPPY_PATH[Kind.IDENTIFICATION]:
        if action in (Action.TOWNSHIP_REVIEW, Action.COUNTY_APPROVE):
            clock.advance(7)  # the notice period runs its course
        if action == Action.COUNTY_APPROVE:
            world.sign_all(application)
        application = world.act(application, action)

    assert application.state == State.COUNTY_APPROVED
    assert list(application.steps.values_list("to_state", flat=True)) == [
        State.APPLIED,
        State.VILLAGER_REVIEW,
        State.COMMITTEE_CONFIRMED,
        State.VILLAGE_NOTICE,
        State.TOWNSHIP_REVIEWED,
        State.TOWNSHIP_NOTICE,
        State.COUNTY_APPROVED,
    ]
    assert application.signatures.count() == 6
    household.refresh_from_db()
    assert (household.status, household.identified_year, household.exit_year) == (
        HouseholdStatus.IN_POVERTY,
        YEAR,
        None,
    )
    latest, previous = household.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_user == world.user("county")
    assert (latest.status, latest.identified_year) == (HouseholdStatus.IN_POVERTY, YEAR)
    assert previous.status == HouseholdStatus.MARGINAL


def test_exit_from_proposal_to_county_approval_exits_the_household(world, clock):
    household = world.household()
    application = world.open(Kind.EXIT, household)
    for action in HAPPY_PATH[Kind.EXIT]:
        if action == Action.TOWNSHIP_REVIEW:
            clock.advance(7)
        application = world.act(application, action)

    assert application.state == State.COUNTY_APPROVED
    assert list(application.steps.values_list("to_state", flat=True)) == [
        State.PROPOSED,
        State.APPRAISED,
        State.VERIFIED,
        State.ACKNOWLEDGED,
        State.VILLAGE_NOTICE,
        State.TOWNSHIP_REVIEWED,
        State.COUNTY_APPROVED,
    ]
    household.refresh_from_db()
    assert (household.status, household.exit_year) == (HouseholdStatus.EXITED, YEAR)
    latest, previous = household.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_user == world.user("county")
    assert (latest.status, latest.exit_year) == (HouseholdStatus.EXITED, YEAR)
    assert (previous.status, previous.exit_year) == (HouseholdStatus.IN_POVERTY, None)


def test_a_closed_application_takes_no_further_step(world):
    application = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    before = snapshot(application)

    with pytest.raises(ValidationError):
        world.act(application, Action.REJECT, actor="county2")

    assert snapshot(application) == before


# --- bulk --------------------------------------------------------------------------------------------------


def test_a_bulk_approval_does_each_application_on_its_own_and_says_why_each_refusal_was_refused(world):
    exit_ok = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    identification_ok = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.end_notice(identification_ok)
    world.sign_all(identification_ok)
    in_notice = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)  # published today
    world.sign_all(in_notice)
    stale = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    household_services.income_record_save(
        user=world.user("secretary"), household=stale.household, year=YEAR, wage_income=Decimal("2000.00")
    )
    unsigned = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.end_notice(unsigned)
    elsewhere = Application.objects.create(  # an exit in 嵩县, ready for its county's approval
        kind=Kind.EXIT,
        household=world.household(village="V4"),
        year=YEAR,
        state=State.TOWNSHIP_REVIEWED,
        state_entered_at=timezone.now(),
        created_by=world.root,
    )
    refused = [in_notice, stale, unsigned, elsewhere]
    before = {a.pk: snapshot(a) for a in refused}

    outcomes = services.applications_bulk_transition(
        actor=world.user("county"),
        applications=[exit_ok, in_notice, identification_ok, stale, unsigned, elsewhere],
        action=Action.COUNTY_APPROVE,
        comment="经县扶贫开发领导小组审定，同意。",
    )

    by_pk = {o.application.pk: o for o in outcomes}
    assert [o.application.pk for o in outcomes] == [
        exit_ok.pk,
        in_notice.pk,
        identification_ok.pk,
        stale.pk,
        unsigned.pk,
        elsewhere.pk,
    ]
    assert {pk for pk, o in by_pk.items() if o.passed} == {exit_ok.pk, identification_ok.pk}
    assert "公示期" in by_pk[in_notice.pk].reason
    assert CRITERION_LABELS["income"] in by_pk[stale.pk].reason
    assert "六签字不全" in by_pk[unsigned.pk].reason
    assert by_pk[elsewhere.pk].reason == "不在您的辖区内。"
    for application in refused:
        assert CHINESE.search(by_pk[application.pk].reason)
        assert snapshot(application) == before[application.pk]
    for application, status in ((exit_ok, HouseholdStatus.EXITED), (identification_ok, HouseholdStatus.IN_POVERTY)):
        application.refresh_from_db()
        assert application.state == State.COUNTY_APPROVED
        assert application.steps.last().comment == "经县扶贫开发领导小组审定，同意。"
        assert Household.objects.get(pk=application.household_id).status == status
        assert by_pk[application.pk].reason == ""


def test_a_bulk_rejection_without_a_reason_refuses_every_application(world):
    applications = [world.application(Kind.EXIT, State.PROPOSED) for _ in range(2)]
    before = [snapshot(a) for a in applications]

    outcomes = services.applications_bulk_transition(
        actor=world.user("team_c"), applications=applications, action=Action.REJECT, comment=""
    )

    assert [o.passed for o in outcomes] == [False, False]
    assert all("不予通过须填写理由" in o.reason for o in outcomes)
    assert [snapshot(a) for a in applications] == before


# --- return to poverty -------------------------------------------------------------------------------------


@pytest.fixture
def exited(world):
    """An exited household whose new assessment fails: income fell under the line after its exit."""
    return world.household(status=HouseholdStatus.EXITED, identified_year=2015, exit_year=2019, net="3000.00")


def test_a_county_clerk_records_a_return_to_poverty_with_its_reason_in_the_history(world, exited):
    household = services.household_return_to_poverty(
        actor=world.user("county"), household=exited, comment="  户主突发重病，收入骤降。 "
    )

    household.refresh_from_db()
    assert household.status == HouseholdStatus.RETURNED
    latest = household.history.order_by("-history_date", "-history_id").first()
    assert latest.status == HouseholdStatus.RETURNED
    assert latest.history_user == world.user("county")
    assert "户主突发重病，收入骤降。" in latest.history_change_reason


@pytest.mark.parametrize(
    ("actor", "error"),
    [
        ("township", PermissionDenied),
        ("secretary", PermissionDenied),
        ("supervisor", PermissionDenied),
        ("songxian", Http404),
        ("other_secretary", Http404),
        ("nobody", Http404),
    ],
)
def test_only_the_county_clerk_may_record_a_return_to_poverty(world, exited, actor, error):
    before = snapshot(household=exited)

    with pytest.raises(error):
        services.household_return_to_poverty(actor=world.user(actor), household=exited, comment="收入骤降")

    assert snapshot(household=exited) == before


@pytest.mark.parametrize("status", [HouseholdStatus.IN_POVERTY, HouseholdStatus.RETURNED, HouseholdStatus.MARGINAL])
def test_only_an_exited_household_can_return_to_poverty(world, status):
    household = world.household(status=status, exit_year=2019 if status == HouseholdStatus.RETURNED else None)
    before = snapshot(household=household)

    with pytest.raises(ValidationError) as excinfo:
        services.household_return_to_poverty(actor=world.user("county"), household=household, comment="收入骤降")

    assert "只有已脱贫户可以认定返贫" in messages(excinfo)
    assert snapshot(household=household) == before


@pytest.mark.parametrize("comment", ["", "  "])
def test_a_return_to_poverty_needs_a_reason(world, exited, comment):
    before = snapshot(household=exited)

    with pytest.raises(ValidationError) as excinfo:
        services.household_return_to_poverty(actor=world.user("county"), household=exited, comment=comment)

    assert "须填写依据" in messages(excinfo)
    assert snapshot(household=exited) == before


# --- roles covering a household ----------------------------------------------------------------------------


def test_actor_roles_are_the_roles_whose_place_covers_the_household(world):
    household = world.household()
    elsewhere = world.household(village="V4")

    assert services.actor_roles(world.user("township_and_county"), household) == {"township_staff", "county_staff"}
    assert services.actor_roles(world.user("township_and_county"), elsewhere) == set()
    assert services.actor_roles(world.user("supervisor"), elsewhere) == {"supervisor"}
    assert services.actor_roles(world.user("other_secretary"), household) == set()
    assert services.actor_roles(world.root, household) == {services.SUPERUSER_ROLE}


def test_steps_objections_and_signatures_are_only_added_never_rewritten_by_a_step(world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    first_steps = list(Step.objects.filter(application=application).values())
    world.act(application, Action.OBJECT)

    assert list(Step.objects.filter(application=application).values())[: len(first_steps)] == first_steps
    assert Signature.objects.filter(application=application).count() == 0
