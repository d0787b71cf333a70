"""The API of the procedures (DOMAIN.md §5): /api/v1/identification-applications/ and /api/v1/exit-applications/.

Every write asks: may the right person do it, is the wrong person refused with the service's Chinese message
(400 for a refused step, 403 for a role or maker-checker refusal, 404 outside the jurisdiction), is nothing
changed when refused, and is the step recorded. The world (users, villages, households) is the procedures'
shared one, in conftest.py.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from assessments.rules import CRITERION_LABELS
from households.choices import HouseholdStatus
from households.models import Household, IncomeRecord
from procedures import services
from procedures.choices import Action, Kind, Signatory, State
from procedures.models import Application
from procedures.tests.conftest import SIGNATORY_NAMES, YEAR, snapshot

pytestmark = pytest.mark.django_db

IDENTIFICATION = "/api/v1/identification-applications/"
EXIT = "/api/v1/exit-applications/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(application: Application, suffix: str = "") -> str:
    base = IDENTIFICATION if application.kind == Kind.IDENTIFICATION else EXIT
    return f"{base}{application.pk}/{suffix}"


def transition(world, who: str, application: Application, action: str, **body):
    return client_for(world.user(who)).post(url(application, "transition/"), {"action": action, **body}, format="json")


def marginal(world, village: str = "V1") -> Household:
    """A household filed as 边缘易致贫户, awaiting identification."""
    return world.household(village=village, status=HouseholdStatus.MARGINAL, identified_year=2016, assess=False)


def other_county_application(world) -> Application:
    """An identification application in 嵩县 (opened by the city's administrator: no 栾川 user reaches it)."""
    return services.application_open(
        actor=world.root, household=marginal(world, "V4"), kind=Kind.IDENTIFICATION, year=YEAR
    )


# ---------------------------------------------------------------------------------------------------------
# Opening


def test_first_secretary_opens_an_identification_application(world):
    household = marginal(world)
    response = client_for(world.user("secretary")).post(
        IDENTIFICATION, {"household": household.pk, "year": YEAR, "comment": "本人书面申请"}, format="json"
    )
    assert response.status_code == 201, response.data
    data = response.data
    assert (data["kind"], data["state"], data["state_label"]) == ("identification", "applied", "本人申请")
    assert (data["household"], data["household_number"], data["year"]) == (
        household.pk,
        household.household_number,
        YEAR,
    )
    assert data["created_by"] == "v1_secretary"
    [step] = data["steps"]
    assert step["actor"] == "v1_secretary"
    assert (step["role"], step["role_label"]) == ("first_secretary", "驻村第一书记")
    assert (step["action"], step["action_label"]) == ("open", "提出申请")
    assert (step["from_state"], step["to_state"], step["to_state_label"]) == ("", "applied", "本人申请")
    assert step["comment"] == "本人书面申请"
    assert data["signatures"] == []
    assert data["missing_signatures"] == [s.value for s in Signatory]
    assert [a["action"] for a in data["available_actions"]] == ["review", "reject"]
    application = Application.objects.get()
    assert (application.household, application.state, application.created_by) == (
        household,
        State.APPLIED,
        world.user("secretary"),
    )


def test_opening_twice_for_the_same_household_and_year_is_refused(world):
    household = marginal(world)
    client = client_for(world.user("secretary"))
    assert client.post(IDENTIFICATION, {"household": household.pk, "year": YEAR}, format="json").status_code == 201
    before = snapshot()

    response = client.post(IDENTIFICATION, {"household": household.pk, "year": YEAR}, format="json")

    assert response.status_code == 400
    assert response.data == {"household": [f"该户{YEAR}年已有识别申请，不能重复提出。"]}
    assert snapshot() == before


def test_opening_for_a_household_outside_the_jurisdiction_is_refused(world):
    household = marginal(world, "V1")
    response = client_for(world.user("other_secretary")).post(
        IDENTIFICATION, {"household": household.pk, "year": YEAR}, format="json"
    )
    assert response.status_code == 400
    assert "不在您的辖区内" in response.data["household"][0]
    assert not Application.objects.exists()


def test_township_clerk_may_not_open_an_application(world):
    household = marginal(world)
    response = client_for(world.user("township")).post(
        IDENTIFICATION, {"household": household.pk, "year": YEAR}, format="json"
    )
    assert response.status_code == 403
    assert "受理识别申请" in response.data["detail"]
    assert not Application.objects.exists()


def test_exit_is_refused_for_a_household_below_the_standard_with_the_failing_criteria(world):
    poor = world.household(net="1000.00")
    response = client_for(world.user("secretary")).post(EXIT, {"household": poor.pk, "year": YEAR}, format="json")
    assert response.status_code == 400
    assert response.data["year"][0] == "该户未达到退出标准："
    assert any(message.startswith(CRITERION_LABELS["income"]) for message in response.data["year"][1:])
    assert not Application.objects.exists()


def test_exit_proposal_shows_the_eligible_assessment_of_the_year(world):
    household = world.household()
    response = client_for(world.user("team_c")).post(EXIT, {"household": household.pk, "year": YEAR}, format="json")
    assert response.status_code == 201, response.data
    assert (response.data["kind"], response.data["state"]) == ("exit", "proposed")
    assert response.data["assessment"]["year"] == YEAR
    assert response.data["assessment"]["eligible"] is True
    assert response.data["assessment"]["failing"] == []
    assert "signatures" not in response.data


# ---------------------------------------------------------------------------------------------------------
# Reading


def test_list_and_detail_show_only_the_jurisdiction(world):
    ours = world.application(Kind.IDENTIFICATION, State.APPLIED)
    theirs = other_county_application(world)

    county = client_for(world.user("county"))
    listed = county.get(IDENTIFICATION)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.data["results"]] == [ours.pk]
    assert county.get(url(theirs)).status_code == 404
    assert county.get(url(ours)).status_code == 200

    songxian = client_for(world.user("songxian"))
    assert [row["id"] for row in songxian.get(IDENTIFICATION).data["results"]] == [theirs.pk]
    assert songxian.get(url(ours)).status_code == 404
    # The two kinds are two resources.
    assert county.get(EXIT).data["results"] == []
    assert county.get(f"{EXIT}{ours.pk}/").status_code == 404


def test_user_without_a_role_may_not_read(world):
    world.application(Kind.IDENTIFICATION, State.APPLIED)
    assert client_for(world.user("nobody")).get(IDENTIFICATION).status_code == 403


def test_detail_shows_the_step_history_with_labels_and_the_notice_dates(world):
    application = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)

    data = client_for(world.user("township")).get(url(application)).data

    assert [(s["actor"], s["role"], s["action"], s["from_state"], s["to_state"]) for s in data["steps"]] == [
        ("v1_secretary", "first_secretary", "open", "", "applied"),
        ("v1_team_a", "work_team", "review", "applied", "villager_review"),
        ("v1_team_b", "work_team", "confirm", "villager_review", "committee_confirmed"),
        ("v1_secretary", "first_secretary", "publish_notice", "committee_confirmed", "village_notice"),
    ]
    last = data["steps"][-1]
    assert (last["action_label"], last["from_state_label"], last["to_state_label"]) == (
        "开始村内公示",
        "村两委和驻村工作队核实确定",
        "村内公示",
    )
    assert last["role_label"] == "驻村第一书记"
    assert last["at"]
    application.refresh_from_db()
    assert data["notice_started_on"] == application.notice_started_on.isoformat()
    assert data["notice_ends_on"] == application.notice_ends_on.isoformat()
    assert data["state_label"] == "村内公示"


def test_list_costs_the_same_number_of_queries_whatever_its_length(world):
    world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    client = client_for(world.user("county"))
    client.get(IDENTIFICATION)  # the user's permissions and jurisdiction are read once, then cached
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(IDENTIFICATION).data["results"]) == 1
    for _ in range(3):
        application = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
        world.sign_all(application, leave_out=(Signatory.TOWNSHIP_HEAD,))
    with CaptureQueriesContext(connection) as four:
        assert len(client.get(IDENTIFICATION).data["results"]) == 4
    assert len(four) == len(one)


def test_filters_by_state_place_year_and_household(world):
    applied = world.application(Kind.IDENTIFICATION, State.APPLIED)
    in_notice = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    client = client_for(world.user("county"))

    def ids(**params) -> set[int]:
        response = client.get(IDENTIFICATION, params)
        assert response.status_code == 200, response.data
        return {row["id"] for row in response.data["results"]}

    assert ids(state="applied") == {applied.pk}
    assert ids(state=["applied", "village_notice"]) == {applied.pk, in_notice.pk}
    assert ids(village=world.villages["V1"].code) == {applied.pk, in_notice.pk}
    assert ids(village_id=world.villages["V2"].pk) == set()
    assert ids(county="410325") == set()
    assert ids(township_id=world.villages["V1"].township_id) == {applied.pk, in_notice.pk}
    assert ids(year=YEAR - 1) == set()
    assert ids(household=in_notice.household_id) == {in_notice.pk}


def test_waiting_for_me_lists_what_waits_for_the_users_step(world):
    applied = world.application(Kind.IDENTIFICATION, State.APPLIED)  # opened by the secretary
    notice_running = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    notice_ended = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    world.end_notice(notice_ended)
    second_notice_ended = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.end_notice(second_notice_ended)
    exit_reviewed = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)

    def waiting(who: str, base: str = IDENTIFICATION, value: str = "true") -> set[int]:
        response = client_for(world.user(who)).get(base, {"waiting_for_me": value})
        assert response.status_code == 200
        return {row["id"] for row in response.data["results"]}

    assert waiting("township") == {notice_ended.pk}
    assert waiting("county") == {second_notice_ended.pk}
    assert waiting("county", EXIT) == {exit_reviewed.pk}
    assert waiting("team_c") == {applied.pk}
    # The secretary opened it: reviewing it too would be a second review step (maker-checker).
    assert waiting("secretary") == set()
    assert waiting("songxian") == set()
    assert waiting("township", value="false") == {applied.pk, notice_running.pk, second_notice_ended.pk}


# ---------------------------------------------------------------------------------------------------------
# Steps


def test_work_team_member_takes_the_review_step(world):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)

    response = transition(world, "team_a", application, "review", comment="村民代表会议评议通过，同意率92%")

    assert response.status_code == 200, response.data
    assert (response.data["state"], response.data["state_label"]) == ("villager_review", "村民代表民主评议")
    step = response.data["steps"][-1]
    assert (step["actor"], step["action"], step["comment"]) == (
        "v1_team_a",
        "review",
        "村民代表会议评议通过，同意率92%",
    )
    application.refresh_from_db()
    assert application.state == State.VILLAGER_REVIEW
    assert application.steps.count() == 2


@pytest.mark.parametrize(
    ("who", "action", "body", "status", "expected"),
    [
        pytest.param(
            "team_a",
            "confirm",
            {},
            400,
            {"action": ["申请处于“本人申请”环节，不能执行“核实确定”。"]},
            id="wrong-state",
        ),
        pytest.param(
            "team_a",
            "fly",
            {},
            400,
            None,
            id="unknown-action",
        ),
        pytest.param(
            "team_a",
            "reject",
            {"comment": "  "},
            400,
            {"comment": ["不予通过须填写理由。"]},
            id="reject-without-reason",
        ),
        pytest.param(
            "township",
            "review",
            {},
            403,
            {
                "detail": "申请处于“本人申请”环节，“民主评议”须由驻村第一书记、驻村工作队员办理，"
                "您在该户所在辖区没有这些角色。"
            },
            id="wrong-role",
        ),
        pytest.param(
            "secretary",
            "review",
            {},
            403,
            {"detail": "同一人不能办理同一申请的两个审核环节：您已办理“提出申请”。"},
            id="maker-checker",
        ),
        pytest.param("songxian", "review", {}, 404, None, id="out-of-jurisdiction"),
        pytest.param("other_secretary", "review", {}, 404, None, id="neighbouring-village"),
    ],
)
def test_refused_step_says_why_and_changes_nothing(world, who, action, body, status, expected):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)
    before = snapshot(application)

    response = transition(world, who, application, action, **body)

    assert response.status_code == status, response.data
    if expected is not None:
        assert response.data == expected
    if status == 404:
        assert response.data["detail"] == "未找到，或不在您的辖区内。"
    assert snapshot(application) == before


def test_step_before_the_notice_period_ends_is_refused(world):
    application = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    before = snapshot(application)

    response = transition(world, "township", application, "township_review")

    assert response.status_code == 400
    ends = application.notice_ends_on
    assert response.data == {"action": [f"公示期至{ends:%Y年%m月%d日}止（7天），期满后才能进入下一步。"]}
    assert snapshot(application) == before


def test_objection_during_the_notice_sends_the_application_back(world, clock):
    application = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    objection = {"text": "该户家中有小汽车一辆。", "raised_by": "村民张秀英", "raised_on": clock.today.isoformat()}

    # During the first notice the objection is the township reviewer's to record (DOMAIN.md §5 "Who may act").
    response = transition(world, "township", application, "object", objection=objection)

    assert response.status_code == 200, response.data
    assert response.data["state"] == "committee_confirmed"
    [recorded] = response.data["objections"]
    assert (recorded["text"], recorded["raised_by"], recorded["raised_on"]) == (
        "该户家中有小汽车一辆。",
        "村民张秀英",
        clock.today.isoformat(),
    )
    assert (recorded["during_state"], recorded["during_state_label"], recorded["recorded_by"]) == (
        "village_notice",
        "村内公示",
        "t1_clerk",
    )
    step = response.data["steps"][-1]
    assert (step["action"], step["from_state"], step["to_state"]) == ("object", "village_notice", "committee_confirmed")
    assert "该户家中有小汽车一辆。" in step["comment"]
    assert Application.objects.get(pk=application.pk).state == State.COMMITTEE_CONFIRMED


def test_objection_without_its_text_is_refused(world):
    application = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    before = snapshot(application)

    missing = transition(world, "township", application, "object")
    assert missing.status_code == 400
    assert missing.data == {"objection": ["记录异议须填写异议内容和提出人。"]}

    blank = transition(world, "township", application, "object", objection={"text": "", "raised_by": "村民"})
    assert blank.status_code == 400
    assert set(blank.data) == {"objection.text"}
    assert snapshot(application) == before


def test_signatures_are_recorded_one_by_one_and_only_once(world, clock):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    client = client_for(world.user("secretary"))
    for signatory, name in SIGNATORY_NAMES.items():
        response = client.post(
            url(application, "signatures/"),
            {"signatory": signatory, "name": name, "signed_on": clock.today.isoformat()},
            format="json",
        )
        assert response.status_code == 201, response.data
    assert response.data["missing_signatures"] == []
    assert [(s["signatory_label"], s["name"]) for s in response.data["signatures"]] == [
        (s.label, SIGNATORY_NAMES[s]) for s in Signatory
    ]  # in the order of DOMAIN.md §5
    assert response.data["signatures"][0]["recorded_by"] == "v1_secretary"
    before = snapshot(application)

    again = client.post(
        url(application, "signatures/"),
        {"signatory": Signatory.TOWNSHIP_HEAD, "name": "周红霞", "signed_on": clock.today.isoformat()},
        format="json",
    )

    assert again.status_code == 400
    assert "该身份的签字已记录。" in [message for messages in again.data.values() for message in messages]
    assert snapshot(application) == before


def test_signature_dated_in_the_future_is_refused(world, clock):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)
    response = client_for(world.user("secretary")).post(
        url(application, "signatures/"),
        {
            "signatory": Signatory.HELPER,
            "name": "杨海峰",
            "signed_on": (clock.today + dt.timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.data == {"signed_on": ["签字日期不能晚于今天。"]}
    assert not application.signatures.exists()


def test_signatures_outside_the_jurisdiction_answer_404_and_exit_has_none(world, clock):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)
    body = {"signatory": Signatory.HELPER, "name": "杨海峰", "signed_on": clock.today.isoformat()}
    assert client_for(world.user("songxian")).post(url(application, "signatures/"), body).status_code == 404
    exit_application = world.application(Kind.EXIT, State.PROPOSED)
    assert client_for(world.user("secretary")).post(url(exit_application, "signatures/"), body).status_code == 404
    assert not application.signatures.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_applications_are_neither_updated_nor_deleted(world, method):
    application = world.application(Kind.IDENTIFICATION, State.APPLIED)
    before = snapshot(application)
    response = getattr(client_for(world.user("county")), method)(url(application), {"state": "county_approved"})
    assert response.status_code == 405
    assert snapshot(application) == before


def test_identification_from_application_to_registration_through_the_api(world, clock):
    household = marginal(world)
    opened = client_for(world.user("secretary")).post(IDENTIFICATION, {"household": household.pk, "year": YEAR})
    assert opened.status_code == 201
    application = Application.objects.get(pk=opened.data["id"])

    def step(who: str, action: str) -> dict:
        response = transition(world, who, application, action, comment=f"{action}同意")
        assert response.status_code == 200, (action, response.data)
        return response.data

    step("team_a", Action.REVIEW)
    step("team_b", Action.CONFIRM)
    step("secretary", Action.PUBLISH_NOTICE)
    world.end_notice(application)
    step("township", Action.TOWNSHIP_REVIEW)
    step("township", Action.PUBLISH_TOWNSHIP_NOTICE)
    world.end_notice(application)
    for signatory, name in SIGNATORY_NAMES.items():
        response = client_for(world.user("secretary")).post(
            url(application, "signatures/"),
            {"signatory": signatory, "name": name, "signed_on": clock.today.isoformat()},
        )
        assert response.status_code == 201
    data = step("county", Action.COUNTY_APPROVE)

    assert (data["state"], data["state_label"]) == ("county_approved", "县级审批公告")
    assert data["available_actions"] == []
    assert [s["action"] for s in data["steps"]] == [
        "open",
        "review",
        "confirm",
        "publish_notice",
        "township_review",
        "publish_township_notice",
        "county_approve",
    ]
    household.refresh_from_db()
    assert (household.status, household.identified_year) == (HouseholdStatus.IN_POVERTY, YEAR)


def test_county_approval_of_an_exit_refuses_on_stale_eligibility_with_the_reasons(world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    # The income was corrected after the assessment (an ORM update: no recompute was triggered).
    IncomeRecord.objects.filter(household=application.household, year=YEAR).update(wage_income=Decimal("100.00"))
    before = snapshot(application)

    response = transition(world, "county", application, "county_approve")

    assert response.status_code == 400
    assert response.data["action"][0] == "按当前数据重新评估，该户已不再达到退出标准："
    assert response.data["action"][1].startswith(CRITERION_LABELS["income"])
    assert snapshot(application) == before


# ---------------------------------------------------------------------------------------------------------
# Schema


def test_schema_describes_both_resources_and_their_request_bodies(client):
    response = client.get("/api/schema/", {"format": "json"})
    schema = json.loads(response.content)
    paths = schema["paths"]
    for base in ("/api/v1/identification-applications/", "/api/v1/exit-applications/"):
        assert set(paths[base]) == {"get", "post"}
        assert set(paths[f"{base}{{id}}/"]) - {"parameters"} == {"get"}
        assert set(paths[f"{base}{{id}}/transition/"]) == {"post"}
    assert "/api/v1/identification-applications/{id}/signatures/" in paths
    assert "/api/v1/exit-applications/{id}/signatures/" not in paths
    components = schema["components"]["schemas"]
    assert {"action", "comment", "objection"} <= set(components["TransitionRequestRequest"]["properties"])
    assert "signatures" in components["IdentificationApplication"]["properties"]
    assert "signatures" not in components["ExitApplication"]["properties"]
    transition_body = paths["/api/v1/exit-applications/{id}/transition/"]["post"]
    assert transition_body["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ExitApplication"
    )
