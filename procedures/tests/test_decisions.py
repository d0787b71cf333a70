"""The decision log (DOMAIN.md §5 "Decisions"): every change of a household's status, identified year or exit year
is a decision kept forever in a hash chain per county, and nothing else writes those fields."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, connections

from assessments.models import Assessment
from households import services as household_services
from households.choices import HouseholdStatus
from households.models import Household
from procedures import decisions, services
from procedures.choices import DecisionKind, DecisionSource, Kind, State
from procedures.models import Decision
from procedures.tests.conftest import YEAR
from testing.factories import id_number_for

pytestmark = pytest.mark.django_db


def registered(world, **fields) -> Household:
    return household_services.household_create(
        user=world.user("county"),
        village=world.villages["V1"],
        members=[{"name": "赵春生", "id_number": id_number_for(4242), "relation": "head"}],
        household_number=f"{world.villages['V1'].code}9001",
        identified_year=2016,
        primary_cause="illness",
        **fields,
    )


# --- registered, identified, exited, returned, removed ----------------------------------------------------


def test_registering_a_household_records_its_registered_decision(world):
    household = registered(world, status=HouseholdStatus.IN_POVERTY)

    decision = Decision.objects.get(household=household)
    assert decision.kind == DecisionKind.REGISTERED
    assert decision.source == DecisionSource.API
    assert (decision.status, decision.identified_year, decision.exit_year) == ("in_poverty", 2016, None)
    assert decision.decided_by == world.user("county")
    assert decision.county == world.villages["V1"].county


def test_a_refused_registration_records_no_decision(world):
    before = Decision.objects.count()
    with pytest.raises(ValidationError):
        household_services.household_create(
            user=world.user("county"),
            village=world.villages["V1"],
            members=[],  # no head
            household_number=f"{world.villages['V1'].code}9002",
            identified_year=2016,
            primary_cause="illness",
        )
    assert Decision.objects.count() == before


def test_county_approval_of_an_exit_records_the_approved_assessment(world):
    application = world.application(Kind.EXIT, State.COUNTY_APPROVED)

    decision = Decision.objects.get(application=application)
    assessment = Assessment.objects.get(household=application.household, year=YEAR, is_current=True)
    assert decision.kind == DecisionKind.EXITED
    assert (decision.status, decision.exit_year, decision.year) == ("exited", YEAR, YEAR)
    assert decision.decided_by == world.user("county")
    assert decision.content["assessment"] == assessment.pk
    assert decision.content["assessment_fingerprint"] == assessment.fingerprint
    assert decision.content["rules_version"] == assessment.rules_version
    assert Decimal(decision.content["poverty_line"]) == assessment.poverty_line
    steps = decision.content["steps"]
    assert [step["to_state"] for step in steps][:2] == [State.PROPOSED, State.APPRAISED]
    assert {step["actor"] for step in steps} >= {world.user("team_a").pk, world.user("township").pk}
    assert decision.content["notice_ends_on"] == application.notice_ends_on.isoformat()


def test_county_approval_of_an_identification_records_its_steps_and_signatures(world):
    application = world.application(Kind.IDENTIFICATION, State.COUNTY_APPROVED)

    decision = Decision.objects.get(application=application)
    assert decision.kind == DecisionKind.IDENTIFIED
    assert (decision.status, decision.identified_year) == ("in_poverty", YEAR)
    assert len(decision.content["signatures"]) == 6
    application.household.refresh_from_db()
    assert application.household.status == HouseholdStatus.IN_POVERTY


def test_return_to_poverty_is_a_county_decision_with_its_reason(world):
    household = world.application(Kind.EXIT, State.COUNTY_APPROVED).household

    services.household_return_to_poverty(actor=world.user("county"), household=household, comment="因病返贫，经核实。")

    decision = Decision.objects.filter(household=household).latest("sequence")
    assert (decision.kind, decision.status, decision.reason) == ("returned", "returned", "因病返贫，经核实。")
    household.refresh_from_db()
    assert household.status == HouseholdStatus.RETURNED


def test_removal_needs_the_county_and_a_reason_and_changes_nothing_otherwise(world):
    household = world.household()
    before = Decision.objects.count()

    with pytest.raises(PermissionDenied):
        services.household_remove(actor=world.user("secretary"), household=household, reason="识别不准")
    with pytest.raises(ValidationError) as refused:
        services.household_remove(actor=world.user("county"), household=household, reason="  ")

    assert "reason" in refused.value.message_dict
    assert Decision.objects.count() == before
    household.refresh_from_db()
    assert household.status == HouseholdStatus.IN_POVERTY

    services.household_remove(actor=world.user("county"), household=household, reason="家有财政供养人员，识别不准。")

    household.refresh_from_db()
    assert household.status == HouseholdStatus.REMOVED
    assert Decision.objects.filter(household=household, kind=DecisionKind.REMOVED).get().reason.startswith("家有")


def test_decisions_are_append_only(world):
    decision = Decision.objects.get(application=world.application(Kind.EXIT, State.COUNTY_APPROVED))
    decision.reason = "改过"
    with pytest.raises(TypeError):
        decision.save()
    with pytest.raises(TypeError):
        decision.delete()
    with pytest.raises(TypeError):
        Decision.objects.filter(pk=decision.pk).update(reason="改过")


# --- the chain ----------------------------------------------------------------------------------------------


def test_each_county_chain_is_numbered_and_linked(world):
    world.application(Kind.EXIT, State.COUNTY_APPROVED)
    world.application(Kind.EXIT, State.COUNTY_APPROVED)
    registered(world)

    rows = list(Decision.objects.filter(county=world.villages["V1"].county).order_by("sequence"))
    assert [row.sequence for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == decisions.GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    assert decisions.verify_chain().intact
    assert decisions.chain_head(world.villages["V1"].county) == rows[-1]


def test_a_decision_changed_in_the_database_is_reported_with_its_id(world, capsys):
    first = Decision.objects.get(application=world.application(Kind.EXIT, State.COUNTY_APPROVED))
    world.application(Kind.EXIT, State.COUNTY_APPROVED)
    call_command("verify_decisions")
    assert "完整" in capsys.readouterr().out

    with connection.cursor() as cursor:  # what a tamperer with database access would do
        cursor.execute("UPDATE procedures_decision SET exit_year = %s WHERE id = %s", [YEAR - 1, first.pk])

    report = decisions.verify_chain(county_code=first.county.code)
    assert [(b.decision_id, b.reason) for b in report.breaks] == [(first.pk, "内容与哈希不符（记录被改动）")]
    with pytest.raises(SystemExit) as exited:
        call_command("verify_decisions", "--county", first.county.code)
    assert exited.value.code == 1
    assert f"决定记录 #{first.pk}" in capsys.readouterr().err


def test_a_deleted_decision_breaks_the_link_of_the_next(world):
    first = Decision.objects.get(application=world.application(Kind.EXIT, State.COUNTY_APPROVED))
    second = Decision.objects.get(application=world.application(Kind.EXIT, State.COUNTY_APPROVED))

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procedures_decision WHERE id = %s", [first.pk])

    (broken,) = decisions.verify_chain().breaks
    assert broken.decision_id == second.pk


def test_the_daily_check_raises_an_alert_for_a_broken_chain(world):
    from procedures.models import Alert
    from procedures.tasks import daily_verify_decisions

    decision = Decision.objects.get(application=world.application(Kind.EXIT, State.COUNTY_APPROVED))
    assert daily_verify_decisions()["breaks"] == 0
    assert not Alert.objects.filter(kind="decisions_tampered").exists()

    with connection.cursor() as cursor:
        cursor.execute("UPDATE procedures_decision SET reason = %s WHERE id = %s", ["改过", decision.pk])

    assert daily_verify_decisions()["breaks"] == 1
    alert = Alert.objects.get(kind="decisions_tampered")
    assert alert.household_id == decision.household_id and str(decision.pk) in alert.message


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("migrated_data_restored")
def test_two_concurrent_decisions_in_one_county_leave_one_valid_chain(require_services, cast):
    if connection.vendor != "postgresql":
        require_services("concurrent transactions need PostgreSQL")
    homes = [
        household_services.household_create(
            user=cast.luanchuan_clerk,
            village=cast.village,
            members=[{"name": f"赵{n}", "id_number": id_number_for(5000 + n), "relation": "head"}],
            household_number=f"{cast.village.code}95{n:02d}",
            identified_year=2016,
            primary_cause="illness",
        )
        for n in range(6)
    ]
    barrier = threading.Barrier(len(homes))
    errors: list[Exception] = []

    def remove(household: Household) -> None:
        try:
            barrier.wait()
            services.household_remove(actor=cast.luanchuan_clerk, household=household, reason="识别不准。")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=remove, args=(home,)) for home in homes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    report = decisions.verify_chain(county_code=cast.luanchuan.code)
    assert report.intact
    sequences = list(
        Decision.objects.filter(county=cast.luanchuan).order_by("sequence").values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, len(sequences) + 1))
    assert Decision.objects.filter(kind=DecisionKind.REMOVED).count() == len(homes)


def test_the_household_history_links_the_status_change_to_its_decision(client, world):
    from django.urls import reverse

    application = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    decision = Decision.objects.get(application=application)
    client.force_login(world.user("county"))

    page = client.get(reverse("admin:households_household_history", args=[application.household_id])).content.decode()

    assert reverse("admin:procedures_decision_change", args=[decision.pk]) in page
    assert "决定：脱贫退出" in page
    detail = client.get(reverse("admin:procedures_decision_change", args=[decision.pk]))
    assert detail.status_code == 200 and decision.hash in detail.content.decode()
