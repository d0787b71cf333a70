"""The daily job that lists for supervisors what waits on them (DOMAIN.md §5, issue 5): applications whose
notice period ended, applications stalled on one step, and exited households whose new assessment fails."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from assessments.selectors import current_assessment_year
from assessments.services import household_assess
from households import services as household_services
from households.choices import HouseholdStatus
from procedures import services
from procedures.choices import Action, AlertKind, Kind, State
from procedures.models import Alert, Application
from procedures.tasks import daily_procedure_alerts
from procedures.tests.conftest import YEAR

pytestmark = pytest.mark.django_db


def run() -> dict:
    """The job as Celery runs it (eagerly in tests)."""
    return daily_procedure_alerts.delay().get()


def open_alerts(kind: str | None = None) -> dict[int, Alert]:
    alerts = Alert.objects.filter(resolved_at__isnull=True)
    if kind is not None:
        alerts = alerts.filter(kind=kind)
    return {alert.household_id: alert for alert in alerts}


def wait(application: Application, days: int) -> None:
    """Let ``application`` have entered its current step ``days`` days ago."""
    Application.objects.filter(pk=application.pk).update(state_entered_at=timezone.now() - dt.timedelta(days=days))


def test_the_job_assesses_the_year_the_procedure_tests_use():
    assert current_assessment_year() == YEAR


# --- notice ended ------------------------------------------------------------------------------------------


def test_an_application_whose_notice_ended_is_listed(world):
    ended = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    world.end_notice(ended)
    still_running = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)  # published today
    ended.refresh_from_db()

    result = run()

    alerts = open_alerts(AlertKind.NOTICE_ENDED)
    assert set(alerts) == {ended.household_id}
    alert = alerts[ended.household_id]
    assert (alert.application_id, alert.year) == (ended.pk, YEAR)
    assert f"公示期已于{ended.notice_ends_on:%Y-%m-%d}届满" in alert.message
    assert still_running.household_id not in alerts
    assert result[AlertKind.NOTICE_ENDED] == {"added": 1, "resolved": 0}


def test_an_application_is_listed_the_day_after_its_notice_ends_not_on_the_last_day(world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    today = timezone.localdate()
    Application.objects.filter(pk=application.pk).update(notice_ends_on=today)
    run()
    assert application.household_id not in open_alerts(AlertKind.NOTICE_ENDED)

    Application.objects.filter(pk=application.pk).update(notice_ends_on=today - dt.timedelta(days=1))
    run()
    assert open_alerts(AlertKind.NOTICE_ENDED)[application.household_id].application_id == application.pk


def test_a_notice_ended_alert_is_resolved_once_the_application_moves_on(world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    world.end_notice(application)
    run()
    alert = open_alerts(AlertKind.NOTICE_ENDED)[application.household_id]

    world.act(application, Action.TOWNSHIP_REVIEW)
    result = run()

    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert open_alerts(AlertKind.NOTICE_ENDED) == {}
    assert result[AlertKind.NOTICE_ENDED] == {"added": 0, "resolved": 1}


# --- stalled -----------------------------------------------------------------------------------------------


def test_an_application_waiting_on_one_step_longer_than_the_limit_is_listed(world, settings):
    settings.STALLED_STEP_DAYS = 15
    stalled = world.application(Kind.EXIT, State.APPRAISED)
    wait(stalled, 16)
    waiting = world.application(Kind.IDENTIFICATION, State.VILLAGER_REVIEW)
    wait(waiting, 14)
    finished = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    wait(finished, 100)
    rejected = world.application(Kind.IDENTIFICATION, State.REJECTED)
    wait(rejected, 100)

    result = run()

    alerts = open_alerts(AlertKind.STALLED)
    assert set(alerts) == {stalled.household_id}
    assert alerts[stalled.household_id].application_id == stalled.pk
    assert "在“民主评议”环节已停留16天" in alerts[stalled.household_id].message
    assert result[AlertKind.STALLED]["added"] == 1


def test_the_stalled_limit_is_configurable(world, settings):
    application = world.application(Kind.EXIT, State.VERIFIED)
    wait(application, 5)
    settings.STALLED_STEP_DAYS = 15
    run()
    assert open_alerts(AlertKind.STALLED) == {}

    settings.STALLED_STEP_DAYS = 4
    run()
    assert set(open_alerts(AlertKind.STALLED)) == {application.household_id}


def test_a_stalled_alert_is_resolved_once_the_application_takes_its_next_step(world, settings):
    settings.STALLED_STEP_DAYS = 15
    application = world.application(Kind.EXIT, State.PROPOSED)
    wait(application, 20)
    run()
    assert set(open_alerts(AlertKind.STALLED)) == {application.household_id}

    world.act(application, Action.APPRAISE)
    result = run()

    assert open_alerts(AlertKind.STALLED) == {}
    assert result[AlertKind.STALLED] == {"added": 0, "resolved": 1}
    assert Alert.objects.get(kind=AlertKind.STALLED).resolved_at is not None


# --- return-to-poverty candidates --------------------------------------------------------------------------


def test_an_exited_household_whose_current_assessment_fails_is_a_return_candidate(world):
    failing = world.household(status=HouseholdStatus.EXITED, exit_year=2019, net="3000.00")
    passing = world.household(status=HouseholdStatus.EXITED, exit_year=2019)
    poor_and_failing = world.household(net="3000.00")  # not exited: nothing to return from

    result = run()

    alerts = open_alerts(AlertKind.RETURN_CANDIDATE)
    assert set(alerts) == {failing.pk}
    alert = alerts[failing.pk]
    assert (alert.year, alert.application_id) == (YEAR, None)
    assert alert.message.startswith("已脱贫户最新评估未达标：")
    assert "3,000.00元" in alert.message
    assert passing.pk not in alerts and poor_and_failing.pk not in alerts
    assert result[AlertKind.RETURN_CANDIDATE] == {"added": 1, "resolved": 0}


def test_a_return_candidate_alert_is_resolved_once_the_county_decides_the_return(world):
    household = world.household(status=HouseholdStatus.EXITED, exit_year=2019, net="3000.00")
    run()
    assert set(open_alerts(AlertKind.RETURN_CANDIDATE)) == {household.pk}

    services.household_return_to_poverty(actor=world.user("county"), household=household, comment="收入骤降")
    result = run()

    assert open_alerts(AlertKind.RETURN_CANDIDATE) == {}
    assert result[AlertKind.RETURN_CANDIDATE] == {"added": 0, "resolved": 1}


def test_a_return_candidate_alert_is_resolved_when_the_new_assessment_passes_again(world):
    household = world.household(status=HouseholdStatus.EXITED, exit_year=2019, net="3000.00")
    run()

    household_services.income_record_save(
        user=world.user("county"), household=household, year=YEAR, wage_income=Decimal("9000.00")
    )
    assert household_assess(household=household, year=YEAR).eligible
    run()

    assert open_alerts(AlertKind.RETURN_CANDIDATE) == {}


# --- idempotence -------------------------------------------------------------------------------------------


def test_running_the_job_twice_adds_nothing_the_second_time(world, settings):
    settings.STALLED_STEP_DAYS = 15
    ended = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    world.end_notice(ended)
    stalled = world.application(Kind.EXIT, State.ACKNOWLEDGED)
    wait(stalled, 30)
    world.household(status=HouseholdStatus.EXITED, exit_year=2019, net="3000.00")

    first = run()
    alerts = list(Alert.objects.order_by("pk").values())
    second = run()

    assert {kind: counts["added"] for kind, counts in first.items()} == {
        AlertKind.NOTICE_ENDED: 1,
        AlertKind.STALLED: 1,
        AlertKind.RETURN_CANDIDATE: 1,
    }
    daily_kinds = (AlertKind.NOTICE_ENDED, AlertKind.STALLED, AlertKind.RETURN_CANDIDATE)
    assert second == {kind: {"added": 0, "resolved": 0} for kind in daily_kinds}
    assert list(Alert.objects.order_by("pk").values()) == alerts


def test_an_alert_listed_again_after_being_resolved_is_a_new_alert(world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    world.end_notice(application)
    run()
    application = world.act(application, Action.OBJECT)  # back to 核实
    run()
    application = world.act(application, Action.ACKNOWLEDGE)
    application = world.act(application, Action.PUBLISH_NOTICE)
    world.end_notice(application)

    run()

    alerts = Alert.objects.filter(kind=AlertKind.NOTICE_ENDED, household=application.household)
    assert alerts.count() == 2
    assert alerts.filter(resolved_at__isnull=True).count() == 1
