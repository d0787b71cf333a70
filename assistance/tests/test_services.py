"""The writes of the assistance app (DOMAIN.md §7, issue 6): one active helper per household, measures, visits,
micro-loans with their limits, maturity warnings, events and the on-time repayment reward.

Every refusal is checked to have saved nothing; every edge is tested exactly at the line and one step beyond.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from PIL import Image

from assessments.models import Assessment, PovertyLine
from assistance import services
from assistance.choices import BorrowerKind, LoanEventKind, LoanStatus, WarningLevel
from assistance.models import HouseholdAssignment, HouseholdMeasure, LoanEvent, MicroLoan, Visit, months_after
from assistance.tests import FieldWorld, issue_loan, make_user, member_born, today
from households.models import Household
from testing.factories import IncomeRecordFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def messages(excinfo, field: str) -> list[str]:
    return excinfo.value.message_dict[field]


# --- one active helper per household ------------------------------------------------------------------------


def helper(world: FieldWorld, username: str, name: str):
    return make_user(world.root, username, "helper", name=name).cadre


def test_the_assigned_helper_is_the_household_s_one_active_helper(world):
    h1 = world.households["H1"]
    active = HouseholdAssignment.objects.active_on().filter(household=h1)
    assert [a.cadre for a in active] == [world.cadre("helper")]


def test_assigning_a_second_helper_ends_the_first_the_day_before(world):
    h1 = world.households["H1"]
    second = helper(world, "h1_helper2", "帮扶人黄")
    starts_on = today() - 5 * DAY

    services.household_assign_helper(actor=world.users["county_staff"], household=h1, cadre=second, starts_on=starts_on)

    first, new = (
        HouseholdAssignment.objects.get(household=h1, cadre=world.cadre("helper")),
        HouseholdAssignment.objects.get(household=h1, cadre=second),
    )
    assert first.ends_on == starts_on - DAY
    assert (new.starts_on, new.ends_on) == (starts_on, None)
    assert [a.cadre for a in HouseholdAssignment.objects.active_on().filter(household=h1)] == [second]
    # The history of who helped whom is kept, with who changed it.
    assert first.history.first().history_user == world.users["county_staff"]


def test_assigning_the_current_helper_again_changes_nothing(world):
    h1 = world.households["H1"]
    before = list(HouseholdAssignment.objects.values_list("pk", "starts_on", "ends_on"))
    again = services.household_assign_helper(actor=world.root, household=h1, cadre=world.cadre("helper"))
    assert list(HouseholdAssignment.objects.values_list("pk", "starts_on", "ends_on")) == before
    assert again.cadre == world.cadre("helper")


def test_a_new_helper_cannot_start_before_the_current_one(world):
    h1 = world.households["H1"]
    second = helper(world, "h1_helper2", "帮扶人黄")
    current = HouseholdAssignment.objects.get(household=h1)
    with pytest.raises(ValidationError) as excinfo:
        services.household_assign_helper(actor=world.root, household=h1, cadre=second, starts_on=current.starts_on)
    assert "晚于原帮扶责任人" in messages(excinfo, "starts_on")[0]
    assert HouseholdAssignment.objects.count() == 1
    current.refresh_from_db()
    assert current.ends_on is None


def test_the_database_refuses_two_open_helper_assignments(world):
    second = helper(world, "h1_helper2", "帮扶人黄")
    with pytest.raises(IntegrityError), transaction.atomic():
        HouseholdAssignment.objects.create(household=world.households["H1"], cadre=second)
    assert HouseholdAssignment.objects.count() == 1


def test_full_clean_refuses_a_second_open_helper_assignment_in_chinese(world):
    second = helper(world, "h1_helper2", "帮扶人黄")
    with pytest.raises(ValidationError) as excinfo:
        HouseholdAssignment(household=world.households["H1"], cadre=second).full_clean()
    assert "已有一名在岗的帮扶责任人" in str(excinfo.value)


def test_a_cadre_without_the_helper_role_is_refused(world):
    h2 = world.households["H2"]
    with pytest.raises(ValidationError) as excinfo:
        services.household_assign_helper(actor=world.root, household=h2, cadre=world.cadre("plain_cadre"))
    assert "没有“帮扶责任人”角色" in messages(excinfo, "cadre")[0]
    assert not HouseholdAssignment.objects.filter(household=h2).exists()


def test_an_actor_outside_the_household_s_jurisdiction_is_refused(world):
    second = helper(world, "h1_helper2", "帮扶人黄")
    with pytest.raises(PermissionDenied):
        services.household_assign_helper(
            actor=world.users["other_county"], household=world.households["H1"], cadre=second
        )
    assert list(HouseholdAssignment.objects.values_list("cadre", "ends_on")) == [(world.cadre("helper").pk, None)]


# --- measures -----------------------------------------------------------------------------------------------


def test_measure_save_creates_then_updates_a_measure_with_history(world):
    actor = world.users["first_secretary"]
    h1 = world.households["H1"]
    measure = services.measure_save(
        actor=actor,
        household=h1,
        year=today().year,
        category="industry",
        description="发放核桃苗200株",
        amount=Decimal("1200.00"),
        cadre=world.cadre("helper"),
    )
    assert (measure.household, measure.status) == (h1, "planned")

    services.measure_save(actor=actor, household=h1, measure=measure, status="done")
    measure.refresh_from_db()
    assert measure.status == "done"
    assert [row.history_user for row in measure.history.all()] == [actor, actor]


def test_measure_save_refuses_a_negative_amount_and_saves_nothing(world):
    with pytest.raises(ValidationError) as excinfo:
        services.measure_save(
            actor=world.users["first_secretary"],
            household=world.households["H1"],
            year=today().year,
            category="health",
            description="大病救助",
            amount=Decimal("-1.00"),
        )
    assert "金额不能为负数" in messages(excinfo, "amount")[0]
    assert not HouseholdMeasure.objects.exists()


def test_measure_save_refuses_a_misspelt_field_instead_of_ignoring_it(world):
    with pytest.raises(ValidationError) as excinfo:
        services.measure_save(
            actor=world.users["first_secretary"],
            household=world.households["H1"],
            year=today().year,
            category="health",
            description="大病救助",
            staus="done",
        )
    assert "staus" in excinfo.value.message_dict
    assert not HouseholdMeasure.objects.exists()


def test_measure_save_cannot_move_a_measure_to_another_household(world):
    actor = world.users["county_staff"]
    measure = services.measure_save(
        actor=actor, household=world.households["H1"], year=2024, category="education", description="雨露计划"
    )
    with pytest.raises(ValidationError):
        services.measure_save(actor=actor, household=world.households["H2"], measure=measure, status="done")
    measure.refresh_from_db()
    assert (measure.household, measure.status) == (world.households["H1"], "planned")


def test_measure_save_outside_the_jurisdiction_is_refused(world):
    with pytest.raises(Http404):
        services.measure_save(
            actor=world.users["first_secretary"],
            household=world.households["H4"],
            year=2024,
            category="health",
            description="大病救助",
        )
    assert not HouseholdMeasure.objects.exists()


# --- visits -------------------------------------------------------------------------------------------------


def log_visit(world: FieldWorld, role: str = "helper", **overrides) -> Visit:
    fields = {
        "actor": world.user(role),
        "household": world.households["H1"],
        "cadre": world.cadre(role),
        "visited_on": today(),
        "purpose": "了解春耕和看病情况",
        "findings": "核桃苗已栽种，户主腰病好转。",
    }
    fields.update(overrides)
    return services.visit_log(**fields)


def test_a_helper_logs_a_visit_to_their_household(world):
    visit = log_visit(world, problems="缺少化肥", follow_up="联系农资店")
    assert visit.pk and visit.cadre == world.cadre("helper")
    assert visit.history.first().history_user == world.users["helper"]


def test_a_visit_dated_tomorrow_is_refused_and_nothing_is_saved(world):
    with pytest.raises(ValidationError) as excinfo:
        log_visit(world, visited_on=today() + DAY, food_secure=False)
    assert messages(excinfo, "visited_on") == ["走访日期不能晚于今天。"]
    assert not Visit.objects.exists()
    assert world.households["H1"].history.count() == 1
    assert Household.objects.get(pk=world.households["H1"].pk).food_secure is True


@pytest.mark.parametrize("findings", ["", "   \n"])
def test_a_visit_without_findings_is_refused_and_nothing_is_saved(world, findings):
    with pytest.raises(ValidationError) as excinfo:
        log_visit(world, findings=findings, clothing_secure=False)
    assert "请填写走访情况。" in messages(excinfo, "findings")
    assert not Visit.objects.exists()
    assert Household.objects.get(pk=world.households["H1"].pk).clothing_secure is True


def test_a_visit_outside_the_jurisdiction_is_refused(world):
    with pytest.raises(Http404):
        log_visit(world, household=world.households["H2"])
    assert not Visit.objects.exists()


def test_a_visit_updates_the_two_no_worries_facts_with_a_history_row(world):
    h1 = world.households["H1"]
    log_visit(world, food_secure=False, clothing_secure=False)
    h1.refresh_from_db()
    assert (h1.food_secure, h1.clothing_secure) == (False, False)
    latest = h1.history.first()
    assert latest.history_user == world.users["helper"]
    assert h1.history.count() == 2


def test_a_visit_confirming_the_current_facts_writes_no_household_history(world):
    log_visit(world, food_secure=True, clothing_secure=True)
    assert world.households["H1"].history.count() == 1


def test_a_visit_that_finds_the_household_short_of_food_recomputes_its_eligibility(
    world, django_capture_on_commit_callbacks
):
    h1 = world.households["H1"]
    assert PovertyLine.objects.filter(year=2015, region_code="").exists()  # the national lines are migrated
    with django_capture_on_commit_callbacks(execute=True):
        IncomeRecordFactory(household=h1, year=2015)
    before = Assessment.objects.get(household=h1, year=2015, is_current=True)
    assert before.food_passed

    with django_capture_on_commit_callbacks(execute=True):
        log_visit(world, food_secure=False)

    after = Assessment.objects.get(household=h1, year=2015, is_current=True)
    assert after.pk != before.pk
    assert not after.food_passed and not after.eligible


def png(size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "green").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_visit_keeps_its_photo(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    visit = log_visit(world, photo=SimpleUploadedFile("dm.png", png(), content_type="image/png"))
    assert visit.photo.name.startswith("visits/")
    assert (tmp_path / visit.photo.name).exists()


def test_a_photo_over_the_size_limit_is_refused_and_nothing_is_saved(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    content = png((64, 64))
    settings.VISIT_PHOTO_MAX_BYTES = len(content) - 1
    with pytest.raises(ValidationError) as excinfo:
        log_visit(world, photo=SimpleUploadedFile("big.png", content, content_type="image/png"))
    assert "照片不能超过" in messages(excinfo, "photo")[0]
    assert not Visit.objects.exists()


# --- micro-loans: limits ------------------------------------------------------------------------------------


def assert_nothing_saved() -> None:
    assert not MicroLoan.objects.exists()
    assert not MicroLoan.history.exists()


@pytest.mark.parametrize("amount", ["50000.00", "0.01", "1"])
def test_a_loan_of_at_most_50000_yuan_is_accepted(world, amount):
    loan = issue_loan(world, amount=Decimal(amount))
    assert loan.amount == Decimal(amount)


@pytest.mark.parametrize("amount", ["50000.01", "0", "0.00", "-100", "NaN"])
def test_a_loan_over_50000_yuan_or_of_nothing_is_refused_and_nothing_is_saved(world, amount):
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, amount=Decimal(amount))
    assert "5" in messages(excinfo, "amount")[0] and "元" in messages(excinfo, "amount")[0]
    assert_nothing_saved()


def test_the_amount_message_says_what_is_allowed(world):
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, amount=Decimal("50000.01"))
    assert messages(excinfo, "amount") == ["扶贫小额信贷金额须大于0且不超过50,000元，当前为50,000.01元。"]


@pytest.mark.parametrize("term_months", [1, 36])
def test_a_term_of_1_to_36_months_is_accepted(world, term_months):
    assert issue_loan(world, term_months=term_months).term_months == term_months


@pytest.mark.parametrize("term_months", [37, 0, -1])
def test_a_term_over_36_months_or_of_none_is_refused_and_nothing_is_saved(world, term_months):
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, term_months=term_months)
    assert messages(excinfo, "term_months") == [f"扶贫小额信贷期限为1至36个月，当前为{term_months}个月。"]
    assert_nothing_saved()


ISSUED_ON = dt.date(2024, 6, 15)


@pytest.mark.parametrize(
    "born",
    [
        dt.date(2006, 6, 15),  # 18 on the issue date
        dt.date(1958, 6, 16),  # 65, turning 66 the next day
    ],
)
def test_a_borrower_aged_18_to_65_on_the_issue_date_is_accepted(world, born):
    borrower = member_born(world.households["H1"], born)
    assert issue_loan(world, borrower=borrower, issued_on=ISSUED_ON).borrower == borrower


@pytest.mark.parametrize(
    ("born", "age"),
    [
        (dt.date(2006, 6, 16), 17),  # turns 18 the day after the issue date
        (dt.date(1958, 6, 15), 66),  # turned 66 on the issue date
    ],
)
def test_a_borrower_younger_than_18_or_older_than_65_is_refused_and_nothing_is_saved(world, born, age):
    borrower = member_born(world.households["H1"], born, name="王小红")
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, borrower=borrower, issued_on=ISSUED_ON)
    assert messages(excinfo, "borrower") == [f"借款人须年满18周岁且不超过65周岁，王小红发放时{age}岁。"]
    assert_nothing_saved()


def test_a_borrower_of_another_household_is_refused_and_nothing_is_saved(world):
    stranger = world.households["H2"].members.get()
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, borrower=stranger)
    assert messages(excinfo, "borrower") == ["借款人须为本户在户成员。"]
    assert_nothing_saved()


def test_a_borrower_who_left_the_household_is_refused(world):
    son = world.households["H1"].members.get(relation="child")
    # Only ``is_active`` matters here, so the member leaves without going through the household services.
    type(son).objects.filter(pk=son.pk).update(is_active=False, left_reason="外嫁", left_on=dt.date(2023, 1, 1))
    son.refresh_from_db()
    with pytest.raises(ValidationError):
        issue_loan(world, borrower=son)
    assert_nothing_saved()


def test_enterprise_use_without_the_enterprise_name_is_refused_and_nothing_is_saved(world):
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, borrower_kind=BorrowerKind.ENTERPRISE, enterprise_name="  ")
    assert messages(excinfo, "enterprise_name") == ["户贷企用须填写带贫企业名称。"]
    assert_nothing_saved()


def test_enterprise_use_with_the_enterprise_name_is_accepted(world):
    loan = issue_loan(world, borrower_kind=BorrowerKind.ENTERPRISE, enterprise_name=" 栾川县伏牛山香菇合作社 ")
    assert loan.enterprise_name == "栾川县伏牛山香菇合作社"


def test_a_loan_issued_tomorrow_is_refused(world):
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, issued_on=today() + DAY)
    assert "issued_on" in excinfo.value.message_dict
    assert_nothing_saved()


def test_a_loan_without_an_issue_date_is_refused_with_a_message(world):
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, issued_on=None)
    assert "issued_on" in excinfo.value.message_dict
    assert_nothing_saved()


def test_several_errors_are_reported_at_once(world):
    with pytest.raises(ValidationError) as excinfo:
        issue_loan(world, amount=Decimal("60000"), term_months=48, borrower=world.households["H2"].members.get())
    assert {"amount", "term_months", "borrower"} <= set(excinfo.value.message_dict)
    assert_nothing_saved()


def test_a_loan_outside_the_jurisdiction_is_refused(world):
    with pytest.raises(Http404):
        issue_loan(world, actor=world.users["other_county"])
    assert_nothing_saved()


def test_the_loan_issue_is_recorded_with_the_actor(world):
    loan = issue_loan(world)
    assert loan.history.get().history_user == world.users["county_staff"]


# --- maturity date ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued_on", "months", "maturity"),
    [
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),  # leap year
        (dt.date(2023, 1, 31), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 3, 31), 1, dt.date(2024, 4, 30)),
        (dt.date(2023, 11, 30), 3, dt.date(2024, 2, 29)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2024, 6, 15), 36, dt.date(2027, 6, 15)),
        (dt.date(2024, 12, 15), 1, dt.date(2025, 1, 15)),
        (dt.date(2024, 1, 15), 12, dt.date(2025, 1, 15)),
    ],
)
def test_months_after_keeps_the_day_or_takes_the_last_day_of_the_month(issued_on, months, maturity):
    assert months_after(issued_on, months) == maturity


@pytest.mark.parametrize(
    ("issued_on", "maturity"),
    [(dt.date(2024, 1, 31), dt.date(2024, 2, 29)), (dt.date(2023, 1, 31), dt.date(2023, 2, 28))],
)
def test_the_loan_maturity_date_is_derived_from_the_issue_date_and_term(world, issued_on, maturity):
    loan = issue_loan(world, issued_on=issued_on, term_months=1)
    loan.refresh_from_db()
    assert loan.maturity_date == maturity


# --- warning levels -----------------------------------------------------------------------------------------

THRESHOLD_EDGES = [
    (91, WarningLevel.GREEN),
    (90, WarningLevel.BLUE),
    (31, WarningLevel.BLUE),
    (30, WarningLevel.YELLOW),
    (8, WarningLevel.YELLOW),
    (7, WarningLevel.RED),
    (0, WarningLevel.RED),
    (-1, WarningLevel.RED),
]


@pytest.mark.parametrize(("days", "level"), THRESHOLD_EDGES)
def test_loan_warning_level_at_its_edges(days, level):
    maturity = dt.date(2025, 6, 30)
    got = services.loan_warning_level(
        maturity_date=maturity, today=maturity - dt.timedelta(days=days), status=LoanStatus.ACTIVE
    )
    assert got == level


def test_an_overdue_loan_is_red_whatever_its_date():
    assert (
        services.loan_warning_level(
            maturity_date=dt.date(2030, 1, 1), today=dt.date(2025, 1, 1), status=LoanStatus.OVERDUE
        )
        == WarningLevel.RED
    )


def test_the_thresholds_are_configurable(settings):
    settings.LOAN_WARNING_BLUE_DAYS = 60
    maturity = dt.date(2025, 6, 30)
    level = services.loan_warning_level(
        maturity_date=maturity, today=maturity - dt.timedelta(days=61), status=LoanStatus.ACTIVE
    )
    assert level == WarningLevel.GREEN


def test_a_loan_issued_today_for_36_months_is_green(world):
    assert issue_loan(world, issued_on=today(), term_months=36).warning_level == WarningLevel.GREEN


@pytest.mark.parametrize(("days", "level"), THRESHOLD_EDGES)
def test_the_daily_refresh_sets_the_warning_level_at_its_edges(world, days, level):
    loan = issue_loan(world)
    on = loan.maturity_date - dt.timedelta(days=days)
    services.loans_refresh_warnings(today=on)
    loan.refresh_from_db()
    assert loan.warning_level == level
    assert loan.status == (LoanStatus.OVERDUE if days < 0 else LoanStatus.ACTIVE)


def test_the_daily_refresh_marks_loans_past_maturity_overdue_with_history_and_is_idempotent(world):
    due = issue_loan(world)  # matures 15 June 2025
    later = issue_loan(world, issued_on=dt.date(2024, 6, 15), term_months=13)  # matures 15 July 2025
    repaid = issue_loan(world, issued_on=dt.date(2024, 1, 10), term_months=6)
    services.loan_record_event(
        actor=world.users["county_staff"],
        loan=repaid,
        kind=LoanEventKind.REPAYMENT,
        happened_on=dt.date(2024, 7, 1),
        amount=repaid.amount,
    )
    history_before = MicroLoan.history.count()

    assert services.loans_refresh_warnings(today=dt.date(2025, 6, 16)) == 2

    due.refresh_from_db()
    later.refresh_from_db()
    repaid.refresh_from_db()
    assert (due.status, due.warning_level) == (LoanStatus.OVERDUE, WarningLevel.RED)
    assert (later.status, later.warning_level) == (LoanStatus.ACTIVE, WarningLevel.YELLOW)
    assert repaid.status == LoanStatus.REPAID
    assert MicroLoan.history.count() == history_before + 2
    row = due.history.first()
    assert (row.status, row.warning_level, row.history_change_reason) == ("overdue", "red", "每日到期预警")

    assert services.loans_refresh_warnings(today=dt.date(2025, 6, 16)) == 0
    assert MicroLoan.history.count() == history_before + 2


def test_the_daily_refresh_reads_a_fixed_number_of_queries_whatever_the_number_of_loans(world):
    def queries_for(count: int) -> int:
        for _ in range(count):
            issue_loan(world)
        with CaptureQueriesContext(connection) as captured:
            changed = services.loans_refresh_warnings(today=dt.date(2025, 6, 16))
        assert changed == count
        return len(captured)

    one = queries_for(1)
    assert queries_for(5) == one


def test_the_daily_task_runs_the_refresh(world):
    from assistance.tasks import daily_loan_warnings

    loan = issue_loan(world, issued_on=dt.date(2024, 1, 15), term_months=3)
    MicroLoan.objects.filter(pk=loan.pk).update(status=LoanStatus.ACTIVE, warning_level=WarningLevel.GREEN)
    assert daily_loan_warnings.delay().get() == 1
    loan.refresh_from_db()
    assert (loan.status, loan.warning_level) == (LoanStatus.OVERDUE, WarningLevel.RED)


# --- repayment and the on-time reward -----------------------------------------------------------------------


def repay(world: FieldWorld, loan: MicroLoan, amount, on: dt.date) -> LoanEvent:
    return services.loan_record_event(
        actor=world.users["county_staff"],
        loan=loan,
        kind=LoanEventKind.REPAYMENT,
        happened_on=on,
        amount=Decimal(str(amount)),
    )


@pytest.mark.parametrize(
    ("kind", "amount", "reward"),
    [
        (BorrowerKind.HOUSEHOLD, "10000.00", "200.00"),
        (BorrowerKind.ENTERPRISE, "10000.00", "500.00"),
        (BorrowerKind.HOUSEHOLD, "50000.00", "1000.00"),
        (BorrowerKind.ENTERPRISE, "50000.00", "2500.00"),
        (BorrowerKind.HOUSEHOLD, "33333.33", "666.67"),  # 666.6666 rounds up to the fen
        (BorrowerKind.ENTERPRISE, "12345.67", "617.28"),  # 617.2835 rounds down
        (BorrowerKind.HOUSEHOLD, "0.25", "0.01"),  # 0.005: half a fen rounds up
    ],
)
def test_the_reward_is_2_percent_for_a_household_and_5_for_an_enterprise(world, kind, amount, reward):
    loan = issue_loan(world, amount=Decimal(amount), borrower_kind=kind, enterprise_name="伏牛山香菇合作社")
    assert services.loan_reward(loan=loan) == Decimal(reward)
    repay(world, loan, amount, loan.maturity_date)
    loan.refresh_from_db()
    assert (loan.status, loan.repaid_on, loan.reward_amount) == (LoanStatus.REPAID, loan.maturity_date, Decimal(reward))


def test_a_late_repayment_earns_no_reward(world):
    loan = issue_loan(world)
    repay(world, loan, loan.amount, loan.maturity_date + DAY)
    loan.refresh_from_db()
    assert (loan.status, loan.reward_amount) == (LoanStatus.REPAID, Decimal("0.00"))


def test_partial_repayments_then_the_last_one_on_time_earn_the_reward(world):
    loan = issue_loan(world, amount=Decimal("30000.00"))
    repay(world, loan, "10000.00", dt.date(2024, 12, 1))
    loan.refresh_from_db()
    assert (loan.status, loan.reward_amount, loan.repaid_on) == (LoanStatus.ACTIVE, None, None)
    repay(world, loan, "19999.99", dt.date(2025, 3, 1))
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    repay(world, loan, "0.01", loan.maturity_date)
    loan.refresh_from_db()
    assert (loan.status, loan.repaid_on, loan.reward_amount) == (
        LoanStatus.REPAID,
        loan.maturity_date,
        Decimal("600.00"),
    )
    assert loan.events.count() == 3


def test_partial_repayments_with_the_last_one_late_earn_nothing(world):
    loan = issue_loan(world, amount=Decimal("30000.00"))
    repay(world, loan, "29000.00", dt.date(2025, 1, 1))
    repay(world, loan, "1000.00", loan.maturity_date + DAY)
    loan.refresh_from_db()
    assert (loan.status, loan.reward_amount) == (LoanStatus.REPAID, Decimal("0.00"))


def loan_state(loan: MicroLoan) -> tuple:
    loan.refresh_from_db()
    return loan.status, loan.maturity_date, loan.warning_level, loan.repaid_on, loan.reward_amount, loan.events.count()


def test_an_overpayment_is_refused_and_nothing_is_saved(world):
    loan = issue_loan(world, amount=Decimal("30000.00"))
    repay(world, loan, "20000.00", dt.date(2024, 12, 1))
    before, history = loan_state(loan), loan.history.count()
    with pytest.raises(ValidationError) as excinfo:
        repay(world, loan, "10000.01", dt.date(2025, 1, 1))
    assert messages(excinfo, "amount") == ["累计还款30,000.01元超过贷款金额30,000.00元。"]
    assert loan_state(loan) == before
    assert loan.history.count() == history


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_a_repayment_of_nothing_is_refused(world, amount):
    loan = issue_loan(world)
    with pytest.raises(ValidationError):
        repay(world, loan, amount, dt.date(2024, 12, 1))
    assert not LoanEvent.objects.exists()


def test_a_repaid_loan_takes_no_more_events(world):
    loan = issue_loan(world)
    repay(world, loan, loan.amount, dt.date(2024, 12, 1))
    before = loan_state(loan)
    with pytest.raises(ValidationError) as excinfo:
        repay(world, loan, "1", dt.date(2024, 12, 2))
    assert messages(excinfo, "kind") == ["该笔贷款已还清，不能再记录事项。"]
    assert loan_state(loan) == before


def test_an_event_dated_tomorrow_is_refused(world):
    loan = issue_loan(world)
    with pytest.raises(ValidationError) as excinfo:
        repay(world, loan, "100", today() + DAY)
    assert "happened_on" in excinfo.value.message_dict
    assert not LoanEvent.objects.exists()


def test_an_event_dated_before_the_issue_date_is_refused(world):
    loan = issue_loan(world)
    with pytest.raises(ValidationError) as excinfo:
        repay(world, loan, "100", loan.issued_on - DAY)
    assert "happened_on" in excinfo.value.message_dict
    assert not LoanEvent.objects.exists()


def test_an_event_without_a_date_is_refused_with_a_message(world):
    loan = issue_loan(world)
    with pytest.raises(ValidationError) as excinfo:
        repay(world, loan, loan.amount, None)
    assert "happened_on" in excinfo.value.message_dict
    assert not LoanEvent.objects.exists()


def test_an_event_outside_the_jurisdiction_is_refused(world):
    loan = issue_loan(world)
    with pytest.raises(Http404):
        services.loan_record_event(
            actor=world.users["other_county"],
            loan=loan,
            kind=LoanEventKind.REPAYMENT,
            happened_on=dt.date(2024, 12, 1),
            amount=Decimal("100"),
        )
    assert not LoanEvent.objects.exists()


# --- extension (展期) and renewal (无还本续贷) ------------------------------------------------------------------


def recent_loan(world: FieldWorld) -> MicroLoan:
    """A 12-month loan issued 300 days ago: about 65 days to maturity, so blue."""
    loan = issue_loan(world, issued_on=today() - dt.timedelta(days=300), term_months=12)
    assert loan.warning_level == WarningLevel.BLUE
    return loan


def test_an_extension_moves_the_maturity_later_and_recomputes_the_warning(world):
    loan = recent_loan(world)
    old_maturity = loan.maturity_date
    new_maturity = months_after(old_maturity, 6)
    event = services.loan_record_event(
        actor=world.users["county_staff"],
        loan=loan,
        kind=LoanEventKind.EXTENSION,
        happened_on=today(),
        new_maturity_date=new_maturity,
        comment="因灾展期",
    )
    loan.refresh_from_db()
    assert (loan.status, loan.maturity_date, loan.warning_level) == (
        LoanStatus.EXTENDED,
        new_maturity,
        WarningLevel.GREEN,
    )
    assert (event.kind, event.new_maturity_date, event.recorded_by) == (
        "extension",
        new_maturity,
        world.users["county_staff"],
    )
    assert new_maturity > old_maturity


@pytest.mark.parametrize("delta_days", [0, -1])
def test_an_extension_not_later_than_the_old_maturity_is_refused(world, delta_days):
    loan = recent_loan(world)
    before = loan_state(loan)
    with pytest.raises(ValidationError) as excinfo:
        services.loan_record_event(
            actor=world.users["county_staff"],
            loan=loan,
            kind=LoanEventKind.EXTENSION,
            happened_on=today(),
            new_maturity_date=loan.maturity_date + dt.timedelta(days=delta_days),
        )
    assert messages(excinfo, "new_maturity_date") == ["新到期日期须晚于原到期日期。"]
    assert loan_state(loan) == before


def test_an_extension_without_a_new_date_is_refused(world):
    loan = recent_loan(world)
    with pytest.raises(ValidationError):
        services.loan_record_event(
            actor=world.users["county_staff"], loan=loan, kind=LoanEventKind.EXTENSION, happened_on=today()
        )
    assert not LoanEvent.objects.exists()


def test_a_renewal_starts_a_new_term_from_the_old_maturity(world):
    loan = recent_loan(world)
    old_maturity = loan.maturity_date
    services.loan_record_event(
        actor=world.users["county_staff"], loan=loan, kind=LoanEventKind.RENEWAL, happened_on=today()
    )
    loan.refresh_from_db()
    assert loan.maturity_date == months_after(old_maturity, 12) > old_maturity
    assert (loan.status, loan.warning_level) == (LoanStatus.RENEWED, WarningLevel.GREEN)
    assert loan.events.get().new_maturity_date == loan.maturity_date


def test_renewing_an_overdue_loan_clears_its_overdue_status(world):
    loan = issue_loan(world, issued_on=today() - dt.timedelta(days=400), term_months=12)
    services.loans_refresh_warnings()
    loan.refresh_from_db()
    assert (loan.status, loan.warning_level) == (LoanStatus.OVERDUE, WarningLevel.RED)
    services.loan_record_event(
        actor=world.users["county_staff"], loan=loan, kind=LoanEventKind.RENEWAL, happened_on=today()
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.RENEWED
    assert loan.warning_level != WarningLevel.RED
    assert services.loans_refresh_warnings() == 0


def test_an_unknown_event_kind_is_refused(world):
    loan = recent_loan(world)
    with pytest.raises(ValidationError):
        services.loan_record_event(actor=world.users["county_staff"], loan=loan, kind="write_off", happened_on=today())
    assert not LoanEvent.objects.exists()
