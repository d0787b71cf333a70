"""Demo data that tells the truth (issue 11): exited households that meet the exit standard except the deliberate
return candidates, cadres with real names, a demo village with a first secretary and two work-team members, a
decision log with a valid chain, applications in every state taken through the services by distinct users, and
the daily alerts raised once at set-up (also by ``--if-empty``)."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from assessments.models import Assessment
from assessments.selectors import current_assessment_year
from assessments.services import household_assess
from assistance.models import Cadre, RoleAssignment
from demo.generator import generate
from demo.logins import DEMO_LOGINS, assign_demo_roles, demo_login, demo_places, ensure_demo_logins
from demo.names import SURNAMES
from demo.procedures import DEMO_VILLAGE_HOUSEHOLDS, SCRIPT, run_demo_procedures
from demo.setup import finish_demo
from households.choices import HouseholdStatus
from households.models import Household
from procedures import services
from procedures.choices import Action, AlertKind, DecisionKind, DecisionSource, Kind, State
from procedures.models import Alert, Application, Decision, Step
from villages.models import County

pytestmark = pytest.mark.django_db

YEARS = (2019, 2020)


def run(*args: str) -> str:
    out = StringIO()
    call_command("generate_demo_data", *args, stdout=out)
    return out.getvalue()


def build(households: int = 300, seed: int = 2015):
    """What ``generate_demo_data`` does, keeping the generator's result (which households fail on purpose)."""
    ensure_demo_logins()
    with transaction.atomic():
        result = generate(households=households, seed=seed, years=YEARS)
        assign_demo_roles()
    finish_demo(years=YEARS)
    return result


def demo_village():
    return demo_places(County.objects.get(code=demo_login("secretary").county_code))[1]


def user(username: str):
    return get_user_model().objects.get(username=username)


def open_alerts(kind: str) -> set[int]:
    return set(Alert.objects.filter(kind=kind, resolved_at__isnull=True).values_list("household_id", flat=True))


# --- 1. exited households meet the standard, except the deliberate return candidates ------------------------


def test_exited_households_pass_except_the_deliberate_return_candidates_which_are_alerts():
    result = build(households=600, seed=4)
    year = current_assessment_year()
    assert year == YEARS[-1]
    candidates = set(
        Household.objects.filter(household_number__in=result.return_candidates).values_list("pk", flat=True)
    )
    exited = Household.objects.filter(status=HouseholdStatus.EXITED)
    current = Assessment.objects.filter(household__in=exited, year=year, is_current=True)
    failing = set(current.filter(eligible=False).values_list("household_id", flat=True))

    assert current.count() == exited.count()  # every exited household has its current assessment
    assert failing == candidates
    # About one in a hundred, at least one, and the demo village's own (the first scripted household).
    assert 1 <= len(candidates) <= exited.count() // 50 + 1
    first = Household.objects.filter(village=demo_village()).order_by("household_number").first()
    assert SCRIPT[0].role == "return_candidate" and first.pk in candidates
    # They fail on income only, and passed in their exit year.
    for assessment in current.filter(household__in=candidates):
        assert [c["criterion"] for c in assessment.criteria if not c["passed"]] == ["income"]
    for household in Household.objects.filter(pk__in=candidates):
        assert household.exit_year < year
        if household.exit_year in YEARS:
            assert Assessment.objects.get(household=household, year=household.exit_year, is_current=True).eligible
    assert open_alerts(AlertKind.RETURN_CANDIDATE) == candidates


def test_exited_households_passed_in_their_exit_year_too():
    build(households=400, seed=8)
    exited = list(Household.objects.filter(status=HouseholdStatus.EXITED).order_by("pk"))
    in_demo_years = [h for h in exited if h.exit_year in YEARS]
    assert in_demo_years
    for household in in_demo_years:
        assert Assessment.objects.get(household=household, year=household.exit_year, is_current=True).eligible
    # Before the demo years there is no income record, but every other criterion held in the exit year.
    earlier = [h for h in exited if h.exit_year < YEARS[0]][:40]
    assert earlier
    for household in earlier:
        assessment = household_assess(household=household, year=household.exit_year)
        failed = [c["criterion"] for c in assessment.criteria if not c["passed"]]
        assert failed == ["income"], (household.household_number, household.exit_year, assessment.criteria)


def test_other_households_still_fail_every_criterion_somewhere():
    build(households=400, seed=8)
    failed = Assessment.objects.filter(year=YEARS[-1], is_current=True, eligible=False).exclude(
        household__status=HouseholdStatus.EXITED
    )
    criteria = {c["criterion"] for a in failed for c in a.criteria if not c["passed"]}
    assert criteria >= {"income", "housing", "water", "medical"}


# --- 2. people with real names -----------------------------------------------------------------------------

ROLE_WORDS = ("扶贫办", "书记", "科员", "专干", "督查", "工作队", "帮扶", "干部", "县", "乡", "镇", "村", "市")


def test_cadres_have_real_names_not_their_roles():
    out = run("--households", "120", "--seed", "3")
    surnames = {name for name, _ in SURNAMES}
    cadres = list(Cadre.objects.select_related("user"))
    assert len(cadres) == sum(1 for login in DEMO_LOGINS if login.role)
    for cadre in cadres:
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", cadre.name), cadre.name
        assert cadre.name[0] in surnames or cadre.name[:2] in surnames, cadre.name
        assert not any(word in cadre.name for word in ROLE_WORDS), cadre.name
        assert cadre.name != cadre.user.username and cadre.position
    assert len({c.name for c in cadres}) == len(cadres)
    secretary = Cadre.objects.get(user__username="secretary")
    assert (secretary.name, secretary.position) == ("刘志鹏", "驻村第一书记")
    assert "secretary / secretary12345  刘志鹏，" in out


def test_a_renamed_cadre_is_repaired_by_the_next_run():
    run("--households", "60", "--seed", "3")
    Cadre.objects.filter(user__username="luanchuan").update(name="栾川县扶贫办王科员")
    run("--households", "60", "--seed", "3", "--if-empty")
    assert Cadre.objects.get(user__username="luanchuan").name == "张立新"
    assert Cadre.objects.filter(user__username="luanchuan").count() == 1


# --- 3. a work team in the demo village --------------------------------------------------------------------


def test_the_demo_village_has_a_first_secretary_and_two_work_team_members():
    run("--households", "300", "--seed", "2015")
    village = demo_village()
    roles = RoleAssignment.objects.active_on().filter(village=village)
    assert sorted(roles.values_list("role", "cadre__user__username")) == [
        ("first_secretary", "secretary"),
        ("work_team", "team_a"),
        ("work_team", "team_b"),
    ]
    assert Household.objects.filter(village=village).count() >= DEMO_VILLAGE_HOUSEHOLDS
    township = RoleAssignment.objects.get(cadre__user__username="township").township
    assert village.township == township and village.is_poverty_village


# --- 4. decisions for every household, with a valid chain --------------------------------------------------


def test_every_household_has_its_decisions_and_the_chain_verifies():
    build(households=300, seed=2015)
    households = {h.pk: h for h in Household.objects.all()}
    registered = Decision.objects.filter(kind=DecisionKind.REGISTERED)
    assert sorted(registered.values_list("household_id", flat=True)) == sorted(households)
    migrated_exits = Decision.objects.filter(kind=DecisionKind.EXITED, application__isnull=True)
    exited = {pk for pk, h in households.items() if h.status == HouseholdStatus.EXITED}
    approved = set(
        Decision.objects.filter(kind=DecisionKind.EXITED, application__isnull=False).values_list(
            "household_id", flat=True
        )
    )
    assert len(approved) == 1
    assert set(migrated_exits.values_list("household_id", flat=True)) == exited - approved
    for decision in migrated_exits:
        assert decision.content == {"migrated": True}
        assert decision.source == DecisionSource.PROCEDURE
        assert decision.year == decision.exit_year == households[decision.household_id].exit_year
    for decision in registered.filter(household__status=HouseholdStatus.EXITED)[:20]:
        assert (decision.status, decision.exit_year, decision.content) == ("in_poverty", None, {"migrated": True})
    # Each household's latest decision gives its status and years.
    for household_id, household in households.items():
        latest = Decision.objects.filter(household_id=household_id).order_by("-sequence").first()
        assert (latest.status, latest.identified_year, latest.exit_year) == (
            household.status,
            household.identified_year,
            household.exit_year,
        )
        assert latest.county_id == household.village.county_id

    out = StringIO()
    call_command("verify_decisions", stdout=out)
    assert f"{Decision.objects.count()}条决定记录：链完整" in out.getvalue()

    # The chain really covers the bulk-written rows: one changed row is found.
    victim = migrated_exits.order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procedures_decision SET exit_year = exit_year - 1 WHERE id = %s", [victim.pk])
    err = StringIO()
    with pytest.raises(SystemExit) as exited_with:
        call_command("verify_decisions", stdout=StringIO(), stderr=err)
    assert exited_with.value.code == 1
    assert f"#{victim.pk}" in err.getvalue()


# --- 5. applications in every state, through the services ---------------------------------------------------


def test_the_demo_village_has_applications_in_every_state_taken_by_distinct_users():
    build(households=300, seed=2015)
    village = demo_village()
    applications = Application.objects.filter(household__village=village)
    exits = applications.filter(kind=Kind.EXIT)
    assert Application.objects.exclude(household__village=village).count() == 0
    assert set(exits.values_list("state", flat=True)) == {
        State.PROPOSED,
        State.APPRAISED,
        State.VERIFIED,
        State.ACKNOWLEDGED,
        State.VILLAGE_NOTICE,
        State.TOWNSHIP_REVIEWED,
        State.REJECTED,
        State.COUNTY_APPROVED,
    }
    assert exits.filter(state=State.TOWNSHIP_REVIEWED).count() == 2  # ready for the county's review
    now = timezone.now()
    for application in applications:
        steps = list(application.steps.order_by("pk"))
        reviewers = [step.actor_id for step in steps if step.review_step]
        assert len(reviewers) == len(set(reviewers)), application  # maker-checker
        times = [step.at for step in steps]
        assert times == sorted(times) and times[-1] <= now
        assert abs(application.state_entered_at - times[-1]) < dt.timedelta(seconds=1)
        assert application.created_by.username == "secretary"
        for step in steps:
            assert step.role in {"first_secretary", "work_team", "township_staff", "county_staff"}

    approved = exits.get(state=State.COUNTY_APPROVED)
    decision = Decision.objects.get(application=approved)
    assert (decision.kind, decision.decided_by.username, decision.exit_year) == ("exited", "luanchuan", YEARS[-1])
    assert (
        decision.content["assessment"]
        == Assessment.objects.get(household=approved.household, year=YEARS[-1], is_current=True).pk
    )
    approved.household.refresh_from_db()
    assert (approved.household.status, approved.household.exit_year) == (HouseholdStatus.EXITED, YEARS[-1])
    review = approved.steps.get(action=Action.TOWNSHIP_REVIEW)
    assert approved.notice_ends_on < timezone.localtime(review.at).date()  # the notice was over

    rejected = exits.get(state=State.REJECTED)
    assert rejected.steps.get(action=Action.REJECT).comment

    objected = exits.get(objections__isnull=False)
    assert objected.state == State.VILLAGE_NOTICE and objected.objections.count() == 1
    assert list(objected.steps.order_by("pk").values_list("to_state", flat=True))[-3:] == [
        State.VERIFIED,
        State.ACKNOWLEDGED,
        State.VILLAGE_NOTICE,
    ]

    identification = applications.get(kind=Kind.IDENTIFICATION)
    assert identification.household.status == HouseholdStatus.MARGINAL
    assert identification.state == State.VILLAGE_NOTICE and identification.signatures.count() == 4


def test_the_demo_application_refuses_the_same_user_for_a_second_review_step():
    build(households=300, seed=2015)
    appraised = Application.objects.get(kind=Kind.EXIT, state=State.APPRAISED)
    steps = appraised.steps.count()

    with pytest.raises(PermissionDenied):
        services.application_transition(actor=user("team_a"), application=appraised, action=Action.VERIFY)
    appraised.refresh_from_db()
    assert (appraised.state, appraised.steps.count()) == (State.APPRAISED, steps)

    services.application_transition(actor=user("team_b"), application=appraised, action=Action.VERIFY)
    appraised.refresh_from_db()
    assert appraised.state == State.VERIFIED


def test_running_the_procedures_twice_adds_nothing():
    build(households=300, seed=2015)
    counts = (Application.objects.count(), Step.objects.count(), Decision.objects.count())

    again = run_demo_procedures(year=YEARS[-1])

    assert not again.applications
    assert (Application.objects.count(), Step.objects.count(), Decision.objects.count()) == counts


def test_no_assess_still_gives_the_demo_village_its_applications():
    out = run("--households", "120", "--seed", "3", "--no-assess")
    assert Application.objects.count() == len(SCRIPT) - 1  # every part but the return candidate
    assert Assessment.objects.filter(household__village=demo_village()).exists()
    assert not Assessment.objects.exclude(household__village=demo_village()).exists()
    assert "演示村申请   12 件" in out


# --- 6. alerts once at set-up -------------------------------------------------------------------------------


def test_alerts_are_raised_at_set_up_and_again_by_if_empty_without_duplicates():
    out = run("--households", "300", "--seed", "2015")
    notice_ended = Application.objects.get(state=State.VILLAGE_NOTICE, notice_ends_on__lt=timezone.localdate())
    stalled = Application.objects.get(state=State.PROPOSED)
    assert open_alerts(AlertKind.NOTICE_ENDED) == {notice_ended.household_id}
    assert open_alerts(AlertKind.STALLED) == {stalled.household_id}
    assert stalled.state_entered_at < timezone.now() - dt.timedelta(days=15)
    assert len(open_alerts(AlertKind.RETURN_CANDIDATE)) >= 1
    assert not open_alerts(AlertKind.DECISIONS_TAMPERED)
    assert "返贫风险" in out and "条，完整" in out
    before = sorted(Alert.objects.values_list("kind", "household_id", "resolved_at"))

    again = run("--households", "300", "--seed", "2015", "--if-empty")  # what every `dev.py run` does

    assert "已有数据" in again and "待办提醒" in again
    assert sorted(Alert.objects.values_list("kind", "household_id", "resolved_at")) == before
    # Alerts resolved meanwhile (say by hand) come back at the next start while still true.
    Alert.objects.update(resolved_at=timezone.now())
    run("--households", "300", "--seed", "2015", "--if-empty")
    assert open_alerts(AlertKind.STALLED) == {stalled.household_id}
    assert Application.objects.count() == len(SCRIPT) - 1
