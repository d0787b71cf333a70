"""Measures, visits, micro-loans and the "九个一" compliance check over the API (DOMAIN.md §7, issue 6).

Every resource asks: may the right person do it, is the wrong person refused (an object outside the
jurisdiction is a 404, as if it did not exist), is nothing changed when refused, is the change recorded.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image
from rest_framework.test import APIClient

from assistance import services
from assistance.models import HouseholdMeasure, LoanEvent, MicroLoan, Visit
from assistance.tests import FieldWorld, issue_loan, today
from households.models import Household

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


# --- measures -----------------------------------------------------------------------------------------------


def measure_body(world: FieldWorld, household: str = "H1", **overrides) -> dict:
    body = {
        "household": world.households[household].pk,
        "year": today().year,
        "category": "industry",
        "description": "发放核桃苗200株",
        "amount": "1200.00",
        "cadre": world.cadre("helper").pk,
    }
    body.update(overrides)
    return body


def make_measure(world: FieldWorld, household: str = "H1") -> HouseholdMeasure:
    return services.measure_save(
        actor=world.root, household=world.households[household], year=2024, category="health", description="大病救助"
    )


def test_a_first_secretary_records_a_measure_for_a_household_of_their_village(world):
    response = world.client("first_secretary").post("/api/v1/measures/", measure_body(world), format="json")
    assert response.status_code == 201, response.data
    assert response.data["household_number"] == "4103241002010001"
    assert (response.data["status"], response.data["cadre_name"]) == ("planned", "帮扶人杨")
    measure = HouseholdMeasure.objects.get()
    assert measure.history.get().history_user == world.users["first_secretary"]


def test_a_measure_for_a_household_outside_the_jurisdiction_is_refused_and_nothing_is_saved(world):
    response = world.client("first_secretary").post("/api/v1/measures/", measure_body(world, "H2"), format="json")
    assert response.status_code == 400
    assert "不在您的辖区内" in response.data["household"][0]
    assert not HouseholdMeasure.objects.exists()


def test_a_measure_with_an_unknown_category_is_refused_in_chinese(world):
    response = world.client("county_staff").post(
        "/api/v1/measures/", measure_body(world, category="lottery"), format="json"
    )
    assert response.status_code == 400
    assert "lottery" in response.data["category"][0] and "选项" in response.data["category"][0]
    assert not HouseholdMeasure.objects.exists()


def test_a_helper_may_read_but_not_record_measures(world):
    make_measure(world)
    client = world.client("helper")
    assert len(ids(client.get("/api/v1/measures/"))) == 1
    assert client.post("/api/v1/measures/", measure_body(world), format="json").status_code == 403
    assert HouseholdMeasure.objects.count() == 1


def test_measures_are_listed_within_the_jurisdiction_only(world):
    own, other = make_measure(world, "H1"), make_measure(world, "H4")
    assert ids(world.client("first_secretary").get("/api/v1/measures/")) == {own.pk}
    assert ids(world.client("other_county").get("/api/v1/measures/")) == {other.pk}
    response = world.client("first_secretary").get(f"/api/v1/measures/{other.pk}/")
    assert response.status_code == 404
    assert response.data["detail"] == "未找到，或不在您的辖区内。"


def test_a_measure_is_updated_through_the_service_and_cannot_move_household(world):
    measure = make_measure(world)
    client = world.client("first_secretary")
    response = client.patch(f"/api/v1/measures/{measure.pk}/", {"status": "done"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "done"
    assert measure.history.first().history_user == world.users["first_secretary"]

    response = world.client("county_staff").patch(
        f"/api/v1/measures/{measure.pk}/", {"household": world.households["H2"].pk}, format="json"
    )
    assert response.status_code == 400
    assert "另一户" in response.data["household"][0]
    measure.refresh_from_db()
    assert measure.household == world.households["H1"]


def test_a_measure_is_not_deleted(world):
    measure = make_measure(world)
    assert world.client("county_staff").delete(f"/api/v1/measures/{measure.pk}/").status_code == 405
    assert HouseholdMeasure.objects.filter(pk=measure.pk).exists()


def test_measures_are_filtered_by_year_category_status_and_place(world):
    old = make_measure(world)
    new = services.measure_save(
        actor=world.root,
        household=world.households["H2"],
        year=today().year,
        category="education",
        description="雨露计划",
        status="done",
    )
    client = world.client("county_staff")
    assert ids(client.get("/api/v1/measures/", {"year": 2024})) == {old.pk}
    assert ids(client.get("/api/v1/measures/", {"category": "education"})) == {new.pk}
    assert ids(client.get("/api/v1/measures/", {"status": ["planned", "in_progress"]})) == {old.pk}
    assert ids(client.get("/api/v1/measures/", {"village": "410324100202"})) == {new.pk}
    assert ids(client.get("/api/v1/measures/", {"household": world.households["H1"].pk})) == {old.pk}
    assert ids(client.get("/api/v1/measures/", {"q": "雨露"})) == {new.pk}


# --- visits -------------------------------------------------------------------------------------------------


def visit_body(world: FieldWorld, **overrides) -> dict:
    body = {
        "household": world.households["H1"].pk,
        "visited_on": today().isoformat(),
        "purpose": "了解春耕情况",
        "findings": "核桃苗已栽种，户主腰病好转。",
    }
    body.update(overrides)
    return body


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_helper_logs_a_visit_as_themselves_and_it_updates_the_household(world):
    # The visitor is the signed-in cadre: a body naming another one is refused (read-only field), nothing written.
    refused = world.client("helper").post(
        "/api/v1/visits/", visit_body(world, food_secure=False, cadre=world.cadre("first_secretary").pk), format="json"
    )
    assert refused.status_code == 400
    assert refused.data == {"cadre": ["该字段只读，不能修改。"]}
    assert not Visit.objects.exists()

    response = world.client("helper").post("/api/v1/visits/", visit_body(world, food_secure=False), format="json")
    assert response.status_code == 201, response.data
    visit = Visit.objects.get()
    assert visit.cadre == world.cadre("helper")
    assert (response.data["cadre_name"], response.data["food_secure"]) == ("帮扶人杨", False)
    household = Household.objects.get(pk=world.households["H1"].pk)
    assert household.food_secure is False
    assert household.history.first().history_user == world.users["helper"]


def test_a_visit_with_a_photo_is_sent_as_multipart_and_leaves_unanswered_facts_alone(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    body = visit_body(world, photo=SimpleUploadedFile("visit.png", png(), content_type="image/png"))
    response = world.client("first_secretary").post("/api/v1/visits/", body, format="multipart")
    assert response.status_code == 201, response.data
    assert response.data["photo"].startswith("http://testserver/media/visits/")
    assert (response.data["food_secure"], response.data["clothing_secure"]) == (None, None)
    household = Household.objects.get(pk=world.households["H1"].pk)
    assert (household.food_secure, household.clothing_secure) == (True, True)
    assert household.history.count() == 1


def test_a_file_that_is_not_an_image_is_refused_in_chinese(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    body = visit_body(world, photo=SimpleUploadedFile("visit.png", b"not an image", content_type="image/png"))
    response = world.client("helper").post("/api/v1/visits/", body, format="multipart")
    assert response.status_code == 400
    assert response.data["photo"] == ["请上传有效的图片文件（JPG、PNG等）。"]
    assert not Visit.objects.exists()


def test_a_photo_over_the_size_limit_is_refused(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.VISIT_PHOTO_MAX_BYTES = 10
    body = visit_body(world, photo=SimpleUploadedFile("visit.png", png(), content_type="image/png"))
    response = world.client("helper").post("/api/v1/visits/", body, format="multipart")
    assert response.status_code == 400
    assert "照片不能超过" in response.data["photo"][0]
    assert not Visit.objects.exists()


def test_a_visit_dated_tomorrow_is_refused_and_nothing_is_saved(world):
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = world.client("helper").post(
        "/api/v1/visits/", visit_body(world, visited_on=tomorrow, food_secure=False), format="json"
    )
    assert response.status_code == 400
    assert response.data == {"visited_on": ["走访日期不能晚于今天。"]}
    assert not Visit.objects.exists()
    assert Household.objects.get(pk=world.households["H1"].pk).food_secure is True


@pytest.mark.parametrize("findings", ["", "   "])
def test_a_visit_without_findings_is_refused_and_nothing_is_saved(world, findings):
    response = world.client("helper").post("/api/v1/visits/", visit_body(world, findings=findings), format="json")
    assert response.status_code == 400
    assert list(response.data) == ["findings"]
    assert not Visit.objects.exists()


def test_a_helper_cannot_log_a_visit_to_a_household_they_do_not_help(world):
    response = world.client("helper").post(
        "/api/v1/visits/", visit_body(world, household=world.households["H2"].pk), format="json"
    )
    assert response.status_code == 400
    assert "不在您的辖区内" in response.data["household"][0]
    assert not Visit.objects.exists()


def test_a_login_without_a_cadre_profile_cannot_log_a_visit(world):
    response = world.client("superuser").post("/api/v1/visits/", visit_body(world), format="json")
    assert response.status_code == 400
    assert response.data == {"cadre": ["您的账号没有干部档案，不能记录走访。"]}
    assert not Visit.objects.exists()


def test_visits_are_listed_within_the_jurisdiction_and_never_changed(world):
    own = services.visit_log(
        actor=world.root,
        household=world.households["H1"],
        cadre=world.cadre("helper"),
        visited_on=today(),
        purpose="走访",
        findings="正常",
    )
    other = services.visit_log(
        actor=world.root,
        household=world.households["H4"],
        cadre=world.cadre("other_county"),
        visited_on=today() - dt.timedelta(days=3),
        purpose="走访",
        findings="正常",
    )
    assert ids(world.client("helper").get("/api/v1/visits/")) == {own.pk}
    assert ids(world.client("other_county").get("/api/v1/visits/")) == {other.pk}
    assert world.client("helper").get(f"/api/v1/visits/{other.pk}/").status_code == 404
    assert ids(world.client("superuser").get("/api/v1/visits/", {"county": "410325"})) == {other.pk}
    client = world.client("county_staff")
    assert client.patch(f"/api/v1/visits/{own.pk}/", {"findings": "改"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/visits/{own.pk}/").status_code == 405


# --- micro-loans --------------------------------------------------------------------------------------------


def loan_body(world: FieldWorld, **overrides) -> dict:
    body = {
        "household": world.households["H1"].pk,
        "borrower": world.head.pk,
        "bank": "栾川县农村信用合作联社",
        "amount": "30000.00",
        "issued_on": "2024-06-15",
        "term_months": 12,
        "interest_rate": "4.35",
    }
    body.update(overrides)
    return body


def test_the_county_staff_issues_a_loan_with_derived_dates_and_levels(world):
    # The level and the reward are derived, never given: a body giving them is refused, nothing written.
    refused = world.client("county_staff").post(
        "/api/v1/loans/",
        loan_body(world, issued_on="2024-01-31", term_months=1, warning_level="green", reward_amount="9999"),
        format="json",
    )
    assert refused.status_code == 400
    assert refused.data == {"warning_level": ["该字段只读，不能修改。"], "reward_amount": ["该字段只读，不能修改。"]}
    assert not MicroLoan.objects.exists()

    response = world.client("county_staff").post(
        "/api/v1/loans/", loan_body(world, issued_on="2024-01-31", term_months=1), format="json"
    )
    assert response.status_code == 201, response.data
    data = response.data
    assert (data["maturity_date"], data["status"], data["warning_level"]) == ("2024-02-29", "active", "red")
    assert (data["reward_amount"], data["events"], data["subsidy_rate"]) == (None, [], "100.00")
    assert data["borrower_name"] == "王建国"
    assert MicroLoan.objects.get().history.get().history_user == world.users["county_staff"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "50000.01"}, "amount", "扶贫小额信贷金额须大于0且不超过50,000元，当前为50,000.01元。"),
        ({"amount": "0"}, "amount", "扶贫小额信贷金额须大于0且不超过50,000元，当前为0.00元。"),
        ({"term_months": 37}, "term_months", "扶贫小额信贷期限为1至36个月，当前为37个月。"),
        ({"borrower_kind": "enterprise"}, "enterprise_name", "户贷企用须填写带贫企业名称。"),
    ],
)
def test_a_loan_beyond_the_limits_is_refused_with_a_chinese_message_and_nothing_is_saved(
    world, overrides, field, message
):
    response = world.client("county_staff").post("/api/v1/loans/", loan_body(world, **overrides), format="json")
    assert response.status_code == 400
    assert response.data == {field: [message]}
    assert not MicroLoan.objects.exists()
    assert not MicroLoan.history.exists()


def test_a_loan_at_the_limits_is_accepted(world):
    response = world.client("county_staff").post(
        "/api/v1/loans/", loan_body(world, amount="50000.00", term_months=36), format="json"
    )
    assert response.status_code == 201, response.data


def test_a_borrower_of_another_household_is_refused(world):
    stranger = world.households["H2"].members.get()
    response = world.client("county_staff").post(
        "/api/v1/loans/", loan_body(world, borrower=stranger.pk), format="json"
    )
    assert response.status_code == 400
    assert response.data == {"borrower": ["借款人须为本户在户成员。"]}
    assert not MicroLoan.objects.exists()


def test_a_loan_for_a_household_of_another_county_is_refused(world):
    response = world.client("other_county").post("/api/v1/loans/", loan_body(world), format="json")
    assert response.status_code == 400
    assert set(response.data) == {"household", "borrower"}
    assert not MicroLoan.objects.exists()


def test_a_first_secretary_sees_the_village_s_loans_but_does_not_issue_them(world):
    loan = issue_loan(world)
    other = issue_loan(
        world, actor=world.root, household=world.households["H4"], borrower=world.households["H4"].members.get()
    )
    client = world.client("first_secretary")
    assert ids(client.get("/api/v1/loans/")) == {loan.pk}
    assert client.get(f"/api/v1/loans/{other.pk}/").status_code == 404
    assert client.post("/api/v1/loans/", loan_body(world), format="json").status_code == 403
    assert MicroLoan.objects.count() == 2


def test_a_loan_is_not_changed_or_deleted_directly(world):
    loan = issue_loan(world)
    client = world.client("county_staff")
    assert client.patch(f"/api/v1/loans/{loan.pk}/", {"amount": "1"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/loans/{loan.pk}/").status_code == 405


def test_loans_are_filtered_by_status_warning_level_and_place(world):
    red = issue_loan(world)  # matured 15 June 2025: red
    green = issue_loan(world, issued_on=today(), term_months=36)
    client = world.client("county_staff")
    assert ids(client.get("/api/v1/loans/", {"warning_level": "red"})) == {red.pk}
    assert ids(client.get("/api/v1/loans/", {"warning_level": ["green", "blue"]})) == {green.pk}
    assert ids(client.get("/api/v1/loans/", {"status": "active"})) == {red.pk, green.pk}
    assert ids(client.get("/api/v1/loans/", {"year": today().year})) == {green.pk}
    assert ids(client.get("/api/v1/loans/", {"village": "410324100201"})) == {red.pk, green.pk}
    assert ids(client.get("/api/v1/loans/", {"village": "410324100202"})) == set()
    response = client.get("/api/v1/loans/", {"warning_level": "purple"})
    assert response.status_code == 400 and "purple" in response.data["warning_level"][0]


def test_an_on_time_repayment_in_full_earns_the_reward(world):
    loan = issue_loan(world)
    response = world.client("county_staff").post(
        f"/api/v1/loans/{loan.pk}/events/",
        {"kind": "repayment", "happened_on": "2025-06-15", "amount": "30000.00"},
        format="json",
    )
    assert response.status_code == 201, response.data
    data = response.data
    assert (data["status"], data["repaid_on"], data["reward_amount"]) == ("repaid", "2025-06-15", "600.00")
    assert [(e["kind"], e["amount"], e["recorded_by"]) for e in data["events"]] == [
        ("repayment", "30000.00", "lc_clerk")
    ]


def test_an_extension_moves_the_maturity_date(world):
    loan = issue_loan(world, issued_on=today() - dt.timedelta(days=300))
    new_maturity = (loan.maturity_date + dt.timedelta(days=180)).isoformat()
    response = world.client("county_staff").post(
        f"/api/v1/loans/{loan.pk}/events/",
        {"kind": "extension", "happened_on": today().isoformat(), "new_maturity_date": new_maturity},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert (response.data["status"], response.data["maturity_date"]) == ("extended", new_maturity)
    assert response.data["warning_level"] == "green"


def test_an_overpayment_is_refused_and_nothing_is_saved(world):
    loan = issue_loan(world)
    response = world.client("county_staff").post(
        f"/api/v1/loans/{loan.pk}/events/",
        {"kind": "repayment", "happened_on": "2025-01-15", "amount": "30000.01"},
        format="json",
    )
    assert response.status_code == 400
    assert response.data == {"amount": ["累计还款30,000.01元超过贷款金额30,000.00元。"]}
    assert not LoanEvent.objects.exists()
    loan.refresh_from_db()
    assert (loan.status, loan.reward_amount) == ("active", None)


def test_an_event_with_an_unknown_kind_is_refused(world):
    loan = issue_loan(world)
    response = world.client("county_staff").post(
        f"/api/v1/loans/{loan.pk}/events/", {"kind": "write_off", "happened_on": "2025-01-15"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in response.data
    assert not LoanEvent.objects.exists()


def test_events_of_a_loan_outside_the_jurisdiction_are_404(world):
    loan = issue_loan(world)
    response = world.client("other_county").post(
        f"/api/v1/loans/{loan.pk}/events/",
        {"kind": "repayment", "happened_on": "2025-01-15", "amount": "100"},
        format="json",
    )
    assert response.status_code == 404
    assert not LoanEvent.objects.exists()


def test_a_first_secretary_cannot_record_loan_events(world):
    loan = issue_loan(world)
    response = world.client("first_secretary").post(
        f"/api/v1/loans/{loan.pk}/events/",
        {"kind": "repayment", "happened_on": "2025-01-15", "amount": "100"},
        format="json",
    )
    assert response.status_code == 403
    assert not LoanEvent.objects.exists()


# --- "九个一" compliance ------------------------------------------------------------------------------------

# The world's gaps: 庄子村 (V1, a poverty village with a leader, a first secretary and a work team) has no exit
# plan and no notice board; H1 (helped) has no measure, no clarity card and was never visited; H2 (in 协心村,
# not a poverty village) has no helper, no measure and no clarity card. 嵩县's V4 and H4 belong to the outsider.
LUANCHUAN_COUNTS = {
    "no_leader": 0,
    "no_first_secretary": 0,
    "no_work_team": 0,
    "no_exit_plan": 1,
    "no_notice_board": 1,
    "no_helper": 1,
    "no_measure": 2,
    "no_clarity_card": 2,
    "no_recent_visit": 1,
}


def test_the_compliance_check_lists_and_counts_the_gaps_of_the_county(world):
    response = world.client("county_staff").get("/api/v1/compliance/", {"county": "410324"})
    assert response.status_code == 200, response.data
    assert response.data["counts"] == LUANCHUAN_COUNTS
    assert response.data["total"] == 8 == len(response.data["gaps"])
    assert response.data["year"] == today().year
    assert response.data["gaps"][0] == {
        "level": "village",
        "code": "no_exit_plan",
        "village_code": "410324100201",
        "village_name": "庄子村",
        "household_number": "",
        "message": "庄子村没有脱贫方案。",
    }
    assert {gap["village_code"] for gap in response.data["gaps"]} == {"410324100201", "410324100202"}


def test_the_compliance_check_is_scoped_to_the_user(world):
    response = world.client("first_secretary").get("/api/v1/compliance/", {"county": "410324"})
    assert response.status_code == 200
    assert {gap["village_code"] for gap in response.data["gaps"]} == {"410324100201"}
    assert response.data["total"] == 5

    response = world.client("other_county").get("/api/v1/compliance/", {"county": "410324"})
    assert (response.data["total"], response.data["gaps"]) == (0, [])


def test_the_compliance_check_narrows_to_a_village_and_to_codes(world):
    client = world.client("county_staff")
    response = client.get("/api/v1/compliance/", {"village": "410324100202"})
    assert [(g["code"], g["household_number"]) for g in response.data["gaps"]] == [
        ("no_helper", "4103241002020001"),
        ("no_measure", "4103241002020001"),
        ("no_clarity_card", "4103241002020001"),
    ]
    response = client.get("/api/v1/compliance/", {"township": "410324100", "code": ["no_measure", "no_helper"]})
    assert [(g["code"], g["village_code"]) for g in response.data["gaps"]] == [
        ("no_measure", "410324100201"),
        ("no_helper", "410324100202"),
        ("no_measure", "410324100202"),
    ]
    assert response.data["counts"] == LUANCHUAN_COUNTS  # the counts cover every gap


def test_the_compliance_check_counts_measures_of_the_requested_year(world):
    for household in ("H1", "H2"):
        make_measure(world, household)  # 2024
    response = world.client("county_staff").get("/api/v1/compliance/", {"year": 2024})
    assert (response.data["year"], response.data["counts"]["no_measure"]) == (2024, 0)


def test_the_compliance_check_refuses_bad_parameters_in_chinese(world):
    response = world.client("county_staff").get("/api/v1/compliance/", {"year": "1900", "code": "no_such"})
    assert response.status_code == 400
    assert set(response.data) == {"year", "code"}
    assert "2013" in response.data["year"][0]


def test_a_user_without_a_role_may_not_run_the_compliance_check(world):
    assert world.client("no_role").get("/api/v1/compliance/").status_code == 403


def test_the_loan_list_reads_a_fixed_number_of_queries(world):
    client = world.client("county_staff")
    issue_loan(world)
    client.get("/api/v1/loans/")  # the user's jurisdiction and permissions are then cached
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/loans/")
    for _ in range(3):
        loan = issue_loan(world)
        services.loan_record_event(
            actor=world.root, loan=loan, kind="repayment", happened_on=dt.date(2025, 1, 1), amount=Decimal("100")
        )
    with CaptureQueriesContext(connection) as four:
        response = client.get("/api/v1/loans/")
    assert len(response.data["results"]) == 4
    assert len(four) == len(one)


# --- schema -------------------------------------------------------------------------------------------------


def test_the_schema_describes_the_assistance_resources(world):
    schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
    for path in (
        "/api/v1/measures/",
        "/api/v1/measures/{id}/",
        "/api/v1/visits/",
        "/api/v1/visits/{id}/",
        "/api/v1/loans/",
        "/api/v1/loans/{id}/",
        "/api/v1/loans/{id}/events/",
        "/api/v1/compliance/",
    ):
        assert path in schema["paths"]
    components = schema["components"]["schemas"]
    computed = {"maturity_date", "status", "warning_level", "repaid_on", "reward_amount", "events"}
    assert computed <= set(components["MicroLoan"]["properties"])
    assert not computed & set(components["MicroLoanRequest"]["properties"])
    assert "multipart/form-data" in schema["paths"]["/api/v1/visits/"]["post"]["requestBody"]["content"]
    assert set(components["Compliance"]["properties"]) == {"year", "total", "counts", "gaps"}
