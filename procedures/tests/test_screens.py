"""The procedures run from the screens (DOMAIN.md §5, issue 11): the buttons of the admin application page, its
objection and signature forms, the household admin page's decisions and procedures, and the phone's application
page. Every button shown is one the service would take; every post goes through the service, and a refusal
shows the service's words and changes nothing.

The world (users, villages, households) is the procedures' shared one, in conftest.py.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments.rules import CRITERION_LABELS
from assessments.services import household_assess
from assistance.choices import Role
from households.choices import HouseholdStatus
from households.models import Household, IncomeRecord
from procedures import decisions, services
from procedures.choices import Action, AlertKind, DecisionKind, Kind, Signatory, State
from procedures.models import Alert, Application, Decision, Objection, Signature
from procedures.tests.conftest import YEAR, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def assessment_year(settings):
    """The households' offers read the current assessment year: the world's year."""
    settings.ASSESSMENT_YEAR = YEAR


def page_url(application: Application) -> str:
    return reverse("admin:procedures_application_change", args=[application.pk])


def procedure_url(application: Application) -> str:
    return reverse("admin:procedures_application_procedure", args=[application.pk])


def household_url(household: Household) -> str:
    return reverse("admin:households_household_change", args=[household.pk])


def household_procedures_url(household: Household) -> str:
    return reverse("admin:households_household_procedures", args=[household.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def logged_in(client, user):
    client.force_login(user)
    return client


def buttons(response) -> set[str]:
    """The actions offered on an application page (one form per step, plus reject, objection, signature)."""
    content = response.content.decode()
    offered = set(re.findall(r'data-action="(\w+)"', content))
    for marker, action in (
        ('name="action" value="reject"', "reject"),
        ('name="op" value="object"', "object"),
        ('name="op" value="sign"', "sign"),
    ):
        if marker in content:
            offered.add(action)
    return offered


def post_step(client, application: Application, action: str, comment: str = ""):
    return client.post(procedure_url(application), {"op": "step", "action": action, "comment": comment})


# ---------------------------------------------------------------------------------------------------------
# Who sees which button


def test_county_clerk_is_offered_county_approval_only_at_township_reviewed(client, world):
    at_notice = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    world.end_notice(at_notice)
    reviewed = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    client = logged_in(client, world.user("county"))

    assert buttons(client.get(page_url(at_notice))) == set()
    assert "当前环节（村内公示）没有您可以办理的操作。" in text(client.get(page_url(at_notice)))
    assert buttons(client.get(page_url(reviewed))) == {Action.COUNTY_APPROVE, Action.REJECT}


def test_county_clerk_who_took_the_township_review_is_not_offered_county_approval(client, world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    world.end_notice(application)
    world.act(application, Action.TOWNSHIP_REVIEW, actor="township_and_county")

    response = logged_in(client, world.user("township_and_county")).get(page_url(application))

    assert Action.COUNTY_APPROVE not in buttons(response)
    assert "您已办理本申请的“乡镇审核”，同一人不能办理两个审核环节，“县级审批”须由他人办理。" in text(response)
    # Another county clerk, and the city's supervisor, are offered it.
    assert Action.COUNTY_APPROVE in buttons(logged_in(client, world.user("county2")).get(page_url(application)))
    assert Action.COUNTY_APPROVE in buttons(logged_in(client, world.user("supervisor")).get(page_url(application)))


def test_township_review_is_offered_only_once_the_notice_is_over(client, world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    client = logged_in(client, world.user("township"))

    running = client.get(page_url(application))
    assert buttons(running) == {Action.REJECT, Action.OBJECT}
    assert f"公示期至{application.notice_ends_on:%Y年%m月%d日}止，期满后才能办理“乡镇审核”。" in text(running)

    world.end_notice(application)
    assert buttons(client.get(page_url(application))) == {Action.TOWNSHIP_REVIEW, Action.REJECT, Action.OBJECT}


def test_identification_approval_waits_for_the_six_signatures(client, world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.end_notice(application)
    world.sign_all(application, leave_out=(Signatory.TOWNSHIP_HEAD,))
    client = logged_in(client, world.user("county"))

    response = client.get(page_url(application))
    assert buttons(response) == {Action.REJECT, Action.OBJECT, "sign"}
    assert "六签字不全（缺少：乡镇长），补齐后才能办理“县级审批”。" in text(response)
    # Only the missing signatory is offered.
    form = response.context["procedure"]["signature_form"]
    assert [value for value, _ in form.fields["signatory"].choices] == [Signatory.TOWNSHIP_HEAD]

    services.signature_record(  # the township head signs
        actor=world.user("township"),
        application=application,
        signatory=Signatory.TOWNSHIP_HEAD,
        name="周红霞",
        signed_on=timezone.localdate(),
    )
    assert Action.COUNTY_APPROVE in buttons(client.get(page_url(application)))


def test_closed_application_offers_nothing(client, world):
    application = world.application(Kind.EXIT, State.REJECTED)
    response = logged_in(client, world.user("county")).get(page_url(application))
    assert buttons(response) == set()
    assert "申请已办结（未通过），不能再办理。" in text(response)


# ---------------------------------------------------------------------------------------------------------
# Posting a step


def test_a_step_the_user_may_not_take_is_refused_and_nothing_changes(client, world):
    application = world.application(Kind.EXIT, State.PROPOSED)
    before = snapshot(application)

    response = post_step(logged_in(client, world.user("county")), application, Action.APPRAISE, "同意")

    assert response.status_code == 200
    content = text(response)
    village_roles = f"{Role.FIRST_SECRETARY.label}、{Role.WORK_TEAM.label}"
    assert f"申请处于“村两委提出”环节，“民主评议”须由{village_roles}办理，您在该户所在辖区没有这些角色。" in content
    assert "未能办理“民主评议”" in content
    assert snapshot(application) == before


def test_maker_checker_refusal_is_shown_and_nothing_changes(client, world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    world.end_notice(application)
    world.act(application, Action.TOWNSHIP_REVIEW, actor="township_and_county")
    before = snapshot(application)

    response = post_step(logged_in(client, world.user("township_and_county")), application, Action.COUNTY_APPROVE)

    assert "同一人不能办理同一申请的两个审核环节：您已办理“乡镇审核”。" in text(response)
    assert snapshot(application) == before


def test_rejection_without_a_reason_is_refused_with_the_services_words(client, world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    before = snapshot(application)

    response = post_step(logged_in(client, world.user("county")), application, Action.REJECT, "   ")

    assert "不予通过须填写理由。" in text(response)
    assert response.context["procedure"]["reject_form"].errors["comment"] == ["不予通过须填写理由。"]
    assert snapshot(application) == before


def test_rejection_with_a_reason_closes_the_application(client, world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)

    response = post_step(logged_in(client, world.user("county")), application, Action.REJECT, "收入数据存疑。")

    assert response.status_code == 302 and response.url == page_url(application)
    application.refresh_from_db()
    step = application.steps.last()
    assert (application.state, step.action, step.comment, step.actor) == (
        State.REJECTED,
        Action.REJECT,
        "收入数据存疑。",
        world.user("county"),
    )


def test_county_approval_from_the_page_exits_the_household_and_pins_the_chain(client, world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    client = logged_in(client, world.user("supervisor"))

    response = post_step(client, application, Action.COUNTY_APPROVE, "经复审，同意退出。")

    assert response.status_code == 302
    page = client.get(response.url)
    content = text(page)
    assert "已办理“县级审批”：申请现处于“县级审批公告”环节。决定已记入决定记录。" in content
    household = Household.objects.get(pk=application.household_id)
    assert (household.status, household.exit_year) == (HouseholdStatus.EXITED, YEAR)
    decision = Decision.objects.get(application=application)
    assert decision.kind == DecisionKind.EXITED and decision.decided_by == world.user("supervisor")
    assert reverse("admin:procedures_decision_change", args=[decision.pk]) in content
    head = decisions.chain_head(application.household.village.county)
    assert "决定记录链校验值" in content and head.hash in content and decision.hash in content
    assert buttons(page) == set()


def test_a_later_decision_moves_the_chain_head_shown(client, world):
    first = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    second = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    content = text(logged_in(client, world.user("county")).get(page_url(first)))
    latest = decisions.chain_head(first.household.village.county)
    assert latest.application_id == second.pk
    assert latest.hash in content
    assert Decision.objects.get(application=first).hash in content


def test_stale_exit_approval_is_refused_with_the_failing_criteria(client, world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    IncomeRecord.objects.filter(household=application.household, year=YEAR).update(wage_income=Decimal("100.00"))
    before = snapshot(application)

    response = post_step(logged_in(client, world.user("county")), application, Action.COUNTY_APPROVE)

    content = text(response)
    assert "按当前数据重新评估，该户已不再达到退出标准：" in content
    assert CRITERION_LABELS["income"] in content
    application.refresh_from_db()
    assert application.state == State.TOWNSHIP_REVIEWED
    assert Household.objects.get(pk=application.household_id).status == HouseholdStatus.IN_POVERTY
    assert snapshot(application)["steps"] == before["steps"]


# ---------------------------------------------------------------------------------------------------------
# Objections and signatures


def test_objection_recorded_from_the_page_sends_the_application_back(client, world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    client = logged_in(client, world.user("township"))
    data = {"op": "object", "text": "该户在县城有商品房。", "raised_by": "村民刘桂英", "raised_on": dt.date.today()}

    response = client.post(procedure_url(application), data)

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == State.VERIFIED
    objection = Objection.objects.get(application=application)
    assert (objection.text, objection.raised_by, objection.recorded_by) == (
        "该户在县城有商品房。",
        "村民刘桂英",
        world.user("township"),
    )
    content = text(client.get(response.url))
    assert "已记录异议：申请退回“村两委和驻村工作队核实”环节。" in content
    assert "该户在县城有商品房。" in content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "", "raised_by": "村民刘桂英"}, "记录异议须填写异议内容和提出人。"),
        (
            {"text": "有车", "raised_by": "村民刘桂英", "raised_on": "2999-01-01"},
            "异议提出日期须在公示期内，且不能晚于今天。",
        ),
        ({"text": "有车", "raised_by": "村民刘桂英", "raised_on": "昨天"}, "日期格式不正确"),
    ],
)
def test_refused_objection_keeps_what_was_typed_and_changes_nothing(client, world, data, message):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    before = snapshot(application)

    response = logged_in(client, world.user("township")).post(procedure_url(application), {"op": "object", **data})

    assert response.status_code == 200
    content = text(response)
    assert message in content
    assert f'value="{data["raised_by"]}"' in content  # the form comes back filled in
    assert snapshot(application) == before


def test_signature_recorded_from_the_page(client, world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    client = logged_in(client, world.user("township"))
    data = {"op": "sign", "signatory": Signatory.TOWNSHIP_HEAD, "name": "周红霞", "signed_on": dt.date.today()}

    response = client.post(procedure_url(application), data)

    assert response.status_code == 302
    signature = Signature.objects.get(application=application)
    assert (signature.signatory, signature.name, signature.recorded_by) == (
        Signatory.TOWNSHIP_HEAD,
        "周红霞",
        world.user("township"),
    )
    page = client.get(response.url)
    assert "已记录乡镇长签字（周红霞）。" in text(page)
    form = page.context["procedure"]["signature_form"]
    assert Signatory.TOWNSHIP_HEAD not in {value for value, _ in form.fields["signatory"].choices}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "周红霞", "signed_on": "2999-01-01"}, "签字日期不能晚于今天。"),
        ({"name": "  ", "signed_on": dt.date.today()}, "此字段不能为空。"),
    ],
)
def test_refused_signature_changes_nothing(client, world, data, message):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    before = snapshot(application)

    response = logged_in(client, world.user("township")).post(
        procedure_url(application), {"op": "sign", "signatory": Signatory.TOWNSHIP_HEAD, **data}
    )

    assert response.status_code == 200
    assert message in text(response)
    assert snapshot(application) == before


def test_clerk_of_another_county_cannot_post_to_the_application(client, world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.end_notice(application)
    world.sign_all(application, leave_out=(Signatory.HELPER,))
    before = snapshot(application)
    client = logged_in(client, world.user("songxian"))

    sign = {"op": "sign", "signatory": Signatory.HELPER, "name": "杨海峰", "signed_on": dt.date.today()}
    assert client.post(procedure_url(application), sign).status_code == 404
    assert post_step(client, application, Action.REJECT, "不同意").status_code == 404
    assert snapshot(application) == before


def test_a_forged_signature_on_an_exit_application_is_refused(client, world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    client = logged_in(client, world.user("township"))
    assert "sign" not in buttons(client.get(page_url(application)))
    before = snapshot(application)

    data = {"op": "sign", "signatory": Signatory.HELPER, "name": "杨海峰", "signed_on": dt.date.today()}
    response = client.post(procedure_url(application), data)

    assert response.status_code == 200
    assert "未能办理“记录签字”：只有识别申请需要记录六签字。" in text(response)
    assert snapshot(application) == before


# ---------------------------------------------------------------------------------------------------------
# The queue


def test_queue_lists_head_village_verdict_waiting_days_and_next_step(client, world):
    application = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    Application.objects.filter(pk=application.pk).update(state_entered_at=timezone.now() - dt.timedelta(days=5))
    Alert.objects.create(
        kind=AlertKind.STALLED, household=application.household, application=application, year=YEAR, message="停留"
    )
    failing = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    Household.objects.filter(pk=failing.household_id).update(house_safety_grade="D")
    household_assess(household=failing.household, year=YEAR)

    response = logged_in(client, world.user("county")).get(reverse("admin:procedures_application_changelist"))

    content = text(response)
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert set(rows) == {application.pk, failing.pk}
    household_link = reverse("admin:households_household_change", args=[application.household_id])
    row = content.split(f'<a href="{household_link}">')[1].split("</tr>")[0]
    assert row.startswith(f"王建国</a><br><small>{application.household.household_number}</small>")
    assert '<td class="field-queue_village">庄子村<br><small>城关镇</small></td>' in row
    assert "✓ 达标" in row
    assert '<td class="field-queue_waiting_days">5</td>' in row
    assert f"县级审批<br><small>{Role.COUNTY_STAFF.label}、{Role.SUPERVISOR.label}</small>" in row
    assert "⚠ 在同一环节停留过久" in row
    failing_link = reverse("admin:households_household_change", args=[failing.household_id])
    assert "✗ 未达标" in content.split(f'<a href="{failing_link}">')[1].split("</tr>")[0]
    assert "1 条未处理的提醒" in content


def test_queue_costs_the_same_queries_for_one_application_or_twenty(client, world, django_assert_max_num_queries):
    def add(count: int) -> None:
        for _ in range(count):
            household = world.household(assess=False)
            Application.objects.create(
                kind=Kind.EXIT,
                household=household,
                year=YEAR,
                state=State.TOWNSHIP_REVIEWED,
                state_entered_at=timezone.now(),
                created_by=world.user("secretary"),
            )

    url = reverse("admin:procedures_application_changelist")
    client = logged_in(client, world.user("county"))
    add(1)
    client.get(url)  # warm the session and the permission caches
    with CaptureQueriesContext(connection) as one:
        first = client.get(url)
    assert len(first.context["cl"].result_list) == 1
    add(19)
    with django_assert_max_num_queries(len(one.captured_queries)):
        twenty = client.get(url)
    assert len(twenty.context["cl"].result_list) == 20


# ---------------------------------------------------------------------------------------------------------
# The household admin page


def test_household_page_lists_its_decisions(client, world):
    application = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    decision = Decision.objects.get(application=application)

    content = text(logged_in(client, world.user("county")).get(household_url(application.household)))

    assert "决定记录" in content
    section = content.split('class="decision-log"')[1].split("</table>")[0]
    assert "脱贫退出" in section and "已脱贫" in section
    assert "栾川县扶贫办刘" in section  # who approved, by name
    assert reverse("admin:procedures_decision_change", args=[decision.pk]) in section
    assert page_url(application) in section


def test_county_clerk_is_offered_return_and_removal_not_the_village_proposals(client, world):
    exited = world.application(Kind.EXIT, State.COUNTY_APPROVED).household
    in_poverty = world.household()
    client = logged_in(client, world.user("county"))

    exited_page = text(client.get(household_url(exited)))
    assert 'value="return_to_poverty"' in exited_page and 'value="remove"' in exited_page
    assert 'value="open_exit"' not in exited_page
    poor_page = text(client.get(household_url(in_poverty)))
    assert 'value="return_to_poverty"' not in poor_page and 'value="remove"' in poor_page
    assert 'value="open_exit"' not in poor_page  # a village role's step


def test_township_clerk_is_offered_no_county_decision_and_a_forged_post_is_refused(client, world):
    exited = world.application(Kind.EXIT, State.COUNTY_APPROVED).household
    client = logged_in(client, world.user("township"))
    before = snapshot(household=exited)

    page = text(client.get(household_url(exited)))
    assert 'value="return_to_poverty"' not in page and 'value="remove"' not in page
    response = client.post(household_procedures_url(exited), {"op": "remove", "reason": "识别不准"})

    assert response.status_code == 200
    assert f"未能清退：“清退”须由{Role.COUNTY_STAFF.label}办理，您在该户所在辖区没有这些角色。" in text(response)
    assert snapshot(household=exited) == before
    assert Decision.objects.filter(household=exited, kind=DecisionKind.REMOVED).count() == 0


def test_return_to_poverty_needs_grounds_then_is_decided(client, world):
    exited = world.application(Kind.EXIT, State.COUNTY_APPROVED).household
    client = logged_in(client, world.user("county"))
    before = snapshot(household=exited)

    refused = client.post(household_procedures_url(exited), {"op": "return_to_poverty", "comment": " "})
    assert refused.status_code == 200
    assert "认定返贫须填写依据。" in text(refused)
    assert snapshot(household=exited) == before

    done = client.post(
        household_procedures_url(exited), {"op": "return_to_poverty", "comment": "家中主要劳动力重病，收入骤降。"}
    )
    assert done.status_code == 302 and done.url == household_url(exited)
    exited.refresh_from_db()
    assert exited.status == HouseholdStatus.RETURNED
    decision = Decision.objects.get(household=exited, kind=DecisionKind.RETURNED)
    assert (decision.reason, decision.decided_by) == ("家中主要劳动力重病，收入骤降。", world.user("county"))
    page = text(client.get(done.url))
    assert "已认定返贫" in page and "家中主要劳动力重病，收入骤降。" in page


def test_removal_needs_a_reason_then_is_decided(client, world):
    household = world.household()
    client = logged_in(client, world.user("county"))

    refused = client.post(household_procedures_url(household), {"op": "remove", "reason": ""})
    assert "清退须填写理由（如识别不准的具体情况）。" in text(refused)
    household.refresh_from_db()
    assert household.status == HouseholdStatus.IN_POVERTY

    client.post(household_procedures_url(household), {"op": "remove", "reason": "家有财政供养人员，识别不准。"})
    household.refresh_from_db()
    assert household.status == HouseholdStatus.REMOVED
    assert Decision.objects.get(household=household, kind=DecisionKind.REMOVED).reason == "家有财政供养人员，识别不准。"


def test_exit_is_offered_in_the_admin_only_for_an_eligible_household(client, world):
    eligible = world.household()
    failing = world.household(net="1000.00")
    client = logged_in(client, world.root)  # the city's administrator may take every step

    assert 'value="open_exit"' in text(client.get(household_url(eligible)))
    page = text(client.get(household_url(failing)))
    assert 'value="open_exit"' not in page
    assert f"暂不能提出退出申请：该户{YEAR}年评估未达到退出标准：" in page
    assert CRITERION_LABELS["income"] in page

    response = client.post(household_procedures_url(eligible), {"op": "open_exit", "comment": "村两委会议提出。"})
    application = Application.objects.get(household=eligible)
    assert response.status_code == 302 and response.url == page_url(application)
    assert (application.kind, application.year, application.state) == (Kind.EXIT, YEAR, State.PROPOSED)
    assert application.steps.get().comment == "村两委会议提出。"
    # Once proposed, it is not offered again: the page says it is in progress.
    again = text(client.get(household_url(eligible)))
    assert 'value="open_exit"' not in again and "办理中" in again


def test_identification_is_offered_for_a_marginal_household(client, world):
    marginal = world.household(status=HouseholdStatus.MARGINAL, assess=False)
    client = logged_in(client, world.root)

    assert 'value="open_identification"' in text(client.get(household_url(marginal)))
    response = client.post(household_procedures_url(marginal), {"op": "open_identification"})

    application = Application.objects.get(household=marginal)
    assert response.url == page_url(application)
    assert (application.kind, application.state) == (Kind.IDENTIFICATION, State.APPLIED)


def test_return_candidate_alert_shows_on_the_household_page(client, world):
    exited = world.application(Kind.EXIT, State.COUNTY_APPROVED).household
    Alert.objects.create(
        kind=AlertKind.RETURN_CANDIDATE, household=exited, year=YEAR, message="已脱贫户最新评估未达标：住房不安全"
    )
    page = text(logged_in(client, world.user("county")).get(household_url(exited)))
    assert "已脱贫户最新评估未达标：住房不安全" in page


# ---------------------------------------------------------------------------------------------------------
# The phone's application page


def field_url(application: Application) -> str:
    return reverse("field:application", args=[application.pk])


def test_village_steps_are_taken_on_the_phone_by_distinct_people(client, world):
    application = world.application(Kind.EXIT, State.PROPOSED)  # proposed by the first secretary

    secretary = logged_in(client, world.user("secretary")).get(field_url(application))
    assert Action.APPRAISE not in buttons(secretary)  # the maker may not review
    assert "同一人不能办理两个审核环节" in text(secretary)

    client = logged_in(client, world.user("team_a"))
    assert Action.APPRAISE in buttons(client.get(field_url(application)))
    response = client.post(field_url(application), {"op": "step", "action": "appraise", "comment": "评议通过。"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == State.APPRAISED
    page = text(client.get(field_url(application)))
    assert "已办理“民主评议”" in page and "评议通过。" in page and "庄子村工作队员李红霞" in page
    # The same person cannot verify what they appraised: refused, nothing changed.
    before = snapshot(application)
    refused = client.post(field_url(application), {"op": "step", "action": "verify"})
    assert refused.status_code == 200
    assert "同一人不能办理同一申请的两个审核环节：您已办理“民主评议”。" in text(refused)
    assert snapshot(application) == before


def test_phone_application_page_of_another_county_is_404(client, world):
    application = world.application(Kind.EXIT, State.PROPOSED)
    assert logged_in(client, world.user("songxian")).get(field_url(application)).status_code == 404
