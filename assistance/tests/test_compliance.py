"""The "九个一" compliance of villages and households (DOMAIN.md §7, issue 6): every gap found when it is there,
and not found when it is not; edges of the visit interval; scoping to the user's jurisdiction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assistance import services
from assistance.models import HouseholdAssignment, RoleAssignment
from assistance.selectors import compliance_gaps
from assistance.tests import FieldWorld, member_born, today
from households.models import Household
from testing.factories import HouseholdFactory
from villages.models import Village

pytestmark = pytest.mark.django_db

V1 = "410324100201"
V2 = "410324100202"
V4 = "410325100201"
H1 = "4103241002010001"


def make_compliant(world: FieldWorld, household: Household, *, visited_days_ago: int = 10) -> None:
    """Give ``household`` everything "九个一" asks of it: a helper, a measure this year, a clarity card and a
    recent visit."""
    if not HouseholdAssignment.objects.active_on().filter(household=household).exists():
        services.household_assign_helper(actor=world.root, household=household, cadre=world.cadre("helper"))
    services.measure_save(
        actor=world.root,
        household=household,
        year=today().year,
        category="industry",
        description="发放核桃苗200株",
        cadre=world.cadre("helper"),
    )
    Household.objects.filter(pk=household.pk).update(clarity_card_issued_on=today() - dt.timedelta(days=100))
    if visited_days_ago is not None:
        services.visit_log(
            actor=world.root,
            household=household,
            cadre=world.cadre("helper"),
            visited_on=today() - dt.timedelta(days=visited_days_ago),
            purpose="入户走访",
            findings="家中一切正常。",
        )


@pytest.fixture
def compliant(world: FieldWorld) -> FieldWorld:
    """V1 (a poverty village) with a leader, a first secretary, a work team, an exit plan and a notice board;
    its one household H1 with a helper, a measure this year, a clarity card and a visit ten days ago."""
    Village.objects.filter(pk=world.villages["V1"].pk).update(has_exit_plan=True, has_notice_board=True)
    make_compliant(world, world.households["H1"])
    return world


def gaps_of(world: FieldWorld, role: str = "county_staff", **filters) -> list[tuple[str, str, str, str]]:
    return [
        (gap.level, gap.code, gap.village_code, gap.household_number)
        for gap in compliance_gaps(user=world.user(role), **filters)
    ]


def test_a_fully_compliant_village_has_no_gaps(compliant):
    assert gaps_of(compliant, village_code=V1) == []


# --- village gaps -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "code", "message"),
    [
        ("first_secretary", "no_first_secretary", "庄子村没有驻村第一书记。"),
        ("plain_cadre", "no_leader", "庄子村没有包村领导。"),
        ("work_team", "no_work_team", "庄子村没有驻村工作队。"),
    ],
)
def test_a_poverty_village_whose_role_has_ended_has_that_gap(compliant, role, code, message):
    assignment = RoleAssignment.objects.get(cadre=compliant.cadre(role))
    services.role_end(actor=compliant.root, assignment=assignment, ends_on=today() - dt.timedelta(days=1))
    gaps = compliance_gaps(user=compliant.users["county_staff"], village_code=V1)
    assert [(g.level, g.code, g.village_code, g.village_name, g.household_number, g.message) for g in gaps] == [
        ("village", code, V1, "庄子村", "", message)
    ]


def test_a_role_ending_today_still_counts(compliant):
    assignment = RoleAssignment.objects.get(cadre=compliant.cadre("first_secretary"))
    services.role_end(actor=compliant.root, assignment=assignment, ends_on=today())
    assert gaps_of(compliant, village_code=V1) == []


def test_a_role_starting_tomorrow_does_not_count_yet(compliant):
    RoleAssignment.objects.filter(cadre=compliant.cadre("work_team")).update(starts_on=today() + dt.timedelta(days=1))
    assert gaps_of(compliant, village_code=V1) == [("village", "no_work_team", V1, "")]


@pytest.mark.parametrize(
    ("field", "code", "message"),
    [
        ("has_exit_plan", "no_exit_plan", "庄子村没有脱贫方案。"),
        ("has_notice_board", "no_notice_board", "庄子村没有公示栏。"),
    ],
)
def test_a_poverty_village_without_its_plan_or_notice_board_has_that_gap(compliant, field, code, message):
    Village.objects.filter(code=V1).update(**{field: False})
    gaps = compliance_gaps(user=compliant.users["county_staff"], village_code=V1)
    assert [(g.code, g.message) for g in gaps] == [(code, message)]


def test_a_poverty_village_with_nothing_has_every_village_gap(world):
    RoleAssignment.objects.filter(village__code=V1).delete()
    codes = [code for level, code, *_ in gaps_of(world, village_code=V1) if level == "village"]
    assert codes == ["no_leader", "no_first_secretary", "no_work_team", "no_exit_plan", "no_notice_board"]


def test_a_village_that_is_not_a_poverty_village_has_no_village_gaps(world):
    v2 = world.villages["V2"]
    assert not v2.is_poverty_village and not v2.has_exit_plan and not v2.has_notice_board
    assert not RoleAssignment.objects.filter(village=v2).exists()
    assert [gap for gap in gaps_of(world, village_code=V2) if gap[0] == "village"] == []


# --- household gaps -----------------------------------------------------------------------------------------


def household_codes(world: FieldWorld, number: str = H1, **filters) -> list[str]:
    return [code for level, code, _, household in gaps_of(world, **filters) if household == number]


def test_a_household_without_a_helper_has_that_gap_and_no_visit_gap(compliant):
    HouseholdAssignment.objects.filter(household__household_number=H1).update(ends_on=today() - dt.timedelta(days=1))
    gaps = compliance_gaps(user=compliant.users["county_staff"], village_code=V1)
    assert [(g.level, g.code, g.household_number, g.message) for g in gaps] == [
        ("household", "no_helper", H1, f"{H1}没有帮扶责任人。")
    ]


def test_a_household_with_a_measure_only_last_year_has_no_measure_this_year(compliant):
    compliant.households["H1"].measures.update(year=today().year - 1)
    gaps = compliance_gaps(user=compliant.users["county_staff"], village_code=V1)
    assert [(g.code, g.message) for g in gaps] == [("no_measure", f"{H1}{today().year}年没有帮扶措施。")]
    assert household_codes(compliant, village_code=V1, year=today().year - 1) == []


def test_a_household_without_a_clarity_card_has_that_gap(compliant):
    Household.objects.filter(household_number=H1).update(clarity_card_issued_on=None)
    assert household_codes(compliant, village_code=V1) == ["no_clarity_card"]


@pytest.mark.parametrize(("days_ago", "gap"), [(0, False), (89, False), (90, False), (91, True), (400, True)])
def test_an_assigned_household_not_visited_within_90_days_has_that_gap(world, days_ago, gap):
    Village.objects.filter(code=V1).update(has_exit_plan=True, has_notice_board=True)
    make_compliant(world, world.households["H1"], visited_days_ago=days_ago)
    gaps = compliance_gaps(user=world.users["county_staff"], village_code=V1)
    assert [g.code for g in gaps] == (["no_recent_visit"] if gap else [])
    if gap:
        last = today() - dt.timedelta(days=days_ago)
        assert gaps[0].message == f"{H1}已90天以上无走访记录（最近走访为{last:%Y-%m-%d}）。"


def test_an_assigned_household_never_visited_has_the_visit_gap(world):
    make_compliant(world, world.households["H1"], visited_days_ago=None)
    gaps = [g for g in compliance_gaps(user=world.users["county_staff"], village_code=V1) if g.level == "household"]
    assert [(g.code, g.message) for g in gaps] == [("no_recent_visit", f"{H1}已90天以上无走访记录（从未走访）。")]


def test_the_visit_interval_is_configurable(compliant, settings):
    settings.VISIT_GAP_DAYS = 7
    assert household_codes(compliant, village_code=V1) == ["no_recent_visit"]
    settings.VISIT_GAP_DAYS = 10
    assert household_codes(compliant, village_code=V1) == []


def test_a_household_with_nothing_has_every_household_gap_but_the_visit_one(world):
    assert household_codes(world, "4103241002020001", village_code=V2) == ["no_helper", "no_measure", "no_clarity_card"]


@pytest.mark.parametrize("status", ["marginal", "removed"])
def test_households_outside_the_register_are_not_checked(compliant, status):
    HouseholdFactory(village=compliant.villages["V1"], household_number="4103241002010099", status=status)
    assert gaps_of(compliant, village_code=V1) == []


@pytest.mark.parametrize("status", ["in_poverty", "returned", "exited", "unstable"])
def test_households_in_the_register_are_checked(compliant, status):
    HouseholdFactory(village=compliant.villages["V1"], household_number="4103241002010099", status=status)
    assert household_codes(compliant, "4103241002010099", village_code=V1) == [
        "no_helper",
        "no_measure",
        "no_clarity_card",
    ]


# --- filters and scoping ------------------------------------------------------------------------------------


def test_the_county_staff_sees_the_gaps_of_their_whole_county_only(world):
    villages = {gap[2] for gap in gaps_of(world)}
    assert villages == {V1, V2}


def test_a_first_secretary_sees_only_their_village(world):
    assert {gap[2] for gap in gaps_of(world, "first_secretary")} == {V1}
    # Asking for the county or for another village does not widen the scope.
    assert {gap[2] for gap in gaps_of(world, "first_secretary", county_code="410324")} == {V1}
    assert gaps_of(world, "first_secretary", village_code=V2) == []


def test_a_helper_sees_no_household_but_their_own(world):
    numbers = {gap[3] for gap in gaps_of(world, "helper") if gap[0] == "household"}
    assert numbers == {H1}


def test_the_outsider_sees_only_their_county(world):
    assert {gap[2] for gap in gaps_of(world, "other_county")} == {V4}
    assert gaps_of(world, "other_county", county_code="410324") == []


def test_a_user_without_a_role_sees_no_gap(world):
    assert gaps_of(world, "no_role") == []


def test_township_and_village_filters(world):
    assert {gap[2] for gap in gaps_of(world, township_code="410324100")} == {V1, V2}
    assert {gap[2] for gap in gaps_of(world, "superuser", county_code="410325")} == {V4}
    assert {gap[2] for gap in gaps_of(world, "superuser", village_code=V2)} == {V2}


def test_the_check_reads_a_fixed_number_of_queries_whatever_the_size_of_the_area(world):
    user = world.users["county_staff"]
    compliance_gaps(user=user)  # the jurisdiction is then cached on the user

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            compliance_gaps(user=user)
        return len(captured)

    few = queries()
    for n in range(5):
        household = HouseholdFactory(village=world.villages["V1"], household_number=f"41032410020102{n:02d}")
        member_born(household, dt.date(1980, 1, 1 + n), relation="head")
        make_compliant(world, household, visited_days_ago=100)
    assert queries() == few
