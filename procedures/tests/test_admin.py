"""Supervisor review in the back office (DOMAIN.md §5): the "待我办理" queue, the application page, the bulk
approve and reject actions with their confirmation and result pages, and the alerts.

The world (users, villages, households) is the procedures' shared one, in conftest.py; county and township
clerks are staff through their roles (``assistance.roles.sync_user_groups``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from assessments.rules import CRITERION_LABELS
from assessments.services import household_assess
from households.choices import HouseholdStatus, HouseSafetyGrade
from households.models import Household, IncomeRecord
from procedures.choices import AlertKind, Kind, Signatory, State
from procedures.models import Alert, Application
from procedures.tests.conftest import YEAR, snapshot

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:procedures_application_changelist")
ALERTS = reverse("admin:procedures_alert_changelist")


def change_url(application: Application) -> str:
    return reverse("admin:procedures_application_change", args=[application.pk])


def logged_in(client, user):
    client.force_login(user)
    return client


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {application.pk for application in response.context["cl"].result_list}


def other_county_application(world, state: str = State.TOWNSHIP_NOTICE) -> Application:
    """An identification application of 嵩县 standing in ``state`` with its notice period over."""
    household = world.household(village="V4", status=HouseholdStatus.MARGINAL, identified_year=2016, assess=False)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    return Application.objects.create(
        kind=Kind.IDENTIFICATION,
        household=household,
        year=YEAR,
        state=state,
        state_entered_at=timezone.now() - dt.timedelta(days=9),
        notice_started_on=yesterday - dt.timedelta(days=6),
        notice_ends_on=yesterday,
        created_by=world.root,
    )


def ended(world, application: Application) -> Application:
    world.end_notice(application)
    application.refresh_from_db()
    return application


@pytest.fixture
def queue(world):
    """Applications in every position relative to 栾川's county clerk."""
    return {
        "identification_notice_ended": ended(world, world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)),
        "exit_township_reviewed": world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED),
        "identification_notice_running": world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE),
        "village_notice_ended": ended(world, world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)),
        "applied": world.application(Kind.IDENTIFICATION, State.APPLIED),
        "approved": world.application(Kind.EXIT, State.COUNTY_APPROVED),
        "other_county": other_county_application(world),
    }


# ---------------------------------------------------------------------------------------------------------
# The queue


def test_county_clerks_queue_holds_only_what_waits_for_the_county_in_their_county(client, world, queue):
    response = logged_in(client, world.user("county")).get(CHANGELIST)

    assert listed(response) == {queue["identification_notice_ended"].pk, queue["exit_township_reviewed"].pk}
    content = response.content.decode()
    assert "待我办理" in content
    assert "批量通过（进入下一环节）" in content and "批量不予通过" in content


def test_each_user_sees_their_own_queue(client, world, queue):
    assert listed(logged_in(client, world.user("township")).get(CHANGELIST)) == {queue["village_notice_ended"].pk}
    assert listed(logged_in(client, world.user("songxian")).get(CHANGELIST)) == {queue["other_county"].pk}
    # The city's supervisor holds a county role everywhere: the county steps of both counties.
    assert listed(logged_in(client, world.user("supervisor")).get(CHANGELIST)) == {
        queue["identification_notice_ended"].pk,
        queue["exit_township_reviewed"].pk,
        queue["other_county"].pk,
    }


def test_all_lists_the_whole_jurisdiction(client, world, queue):
    response = logged_in(client, world.user("county")).get(CHANGELIST, {"queue": "all"})
    assert listed(response) == {app.pk for key, app in queue.items() if key != "other_county"}


def test_queue_columns_show_application_state_notice_end_and_waiting_days(client, world, queue):
    application = queue["identification_notice_ended"]
    Application.objects.filter(pk=application.pk).update(state_entered_at=timezone.now() - dt.timedelta(days=12))

    content = logged_in(client, world.user("county")).get(CHANGELIST).content.decode()

    for heading in ("贫困户", "所在村", "申请", "当前环节", "申请年度评估", "已等待（天）", "下一步", "提醒"):
        assert heading in content
    assert application.household.household_number in content
    assert f'<td class="field-queue_application">{YEAR}年识别</td>' in content
    notice_end = f"{application.notice_ends_on:%Y-%m-%d}"
    assert f'<td class="field-queue_state">第二次村内公示<br><small>公示至{notice_end}</small></td>' in content
    assert '<td class="field-queue_waiting_days">12</td>' in content
    with_counts = logged_in(client, world.user("county")).get(CHANGELIST, {"_facets": "True"})
    assert "待我办理 (2)" in with_counts.content.decode()


def test_application_outside_the_jurisdiction_answers_404(client, world, queue):
    response = logged_in(client, world.user("county")).get(change_url(queue["other_county"]))
    assert response.status_code == 404


# ---------------------------------------------------------------------------------------------------------
# The application page


def test_application_page_shows_criteria_history_notice_and_objections(client, world):
    application = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    application = world.act(application, "object")  # back to 核实 with the objection recorded
    # The house was found unsafe after the proposal: the current assessment now fails one criterion.
    Household.objects.filter(pk=application.household_id).update(house_safety_grade=HouseSafetyGrade.D)
    household_assess(household=application.household, year=YEAR)

    response = logged_in(client, world.user("county")).get(change_url(application))

    assert response.status_code == 200
    content = response.content.decode()
    for label in CRITERION_LABELS.values():
        assert label in content
    assert "✓" in content and "✗" in content
    assert "criterion-housing criterion-failed" in content
    assert "criterion-income criterion-passed" in content
    # Step history with who, role and what.
    for text in (
        "庄子村第一书记陈志强（v1_secretary）",
        "庄子村工作队员李红霞（v1_team_a）",
        "驻村第一书记",
        "提出申请",
        "记录异议",
    ):
        assert text in content
    # Notice dates and the objection.
    assert (
        application.notice_ends_on.isoformat() in content or f"{application.notice_ends_on:%Y年%-m月%-d日}" in content
    )
    assert "该户家中有小汽车一辆。" in content and "村民张秀英" in content
    assert reverse("admin:households_household_change", args=[application.household_id]) in content
    # Exit applications carry no signatures; nothing on the page can be edited.
    assert "六签字" not in content
    assert 'name="_save"' not in content


def test_identification_page_lists_the_signatures(client, world):
    application = world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE)
    world.sign_all(application, leave_out=(Signatory.TOWNSHIP_HEAD,))

    content = logged_in(client, world.user("county")).get(change_url(application)).content.decode()

    assert "六签字" in content and "乡镇党委书记" in content and "赵玉梅" in content
    assert "尚未评估" in content  # a marginal household has no assessment for the year yet


# ---------------------------------------------------------------------------------------------------------
# Bulk actions


def _post_action(client, action: str, applications, **extra):
    data = {"action": action, "_selected_action": [a.pk for a in applications], **extra}
    if "confirm" not in extra:
        data["index"] = 0  # as posted from the list itself
    return client.post(f"{CHANGELIST}?queue=all", data)


def test_bulk_approve_takes_each_application_on_and_lists_the_refused_with_reasons(client, world):
    registrable = ended(world, world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE))
    world.sign_all(registrable)
    unsigned = ended(world, world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE))
    world.sign_all(unsigned, leave_out=(Signatory.TOWNSHIP_HEAD,))
    exiting = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    stale = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    IncomeRecord.objects.filter(household=stale.household, year=YEAR).update(wage_income=Decimal("100.00"))
    townships_step = ended(world, world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE))
    selected = [registrable, unsigned, exiting, stale, townships_step]
    client = logged_in(client, world.user("county"))
    before = {app.pk: snapshot(app) for app in (unsigned, stale, townships_step)}

    confirmation = _post_action(client, "bulk_approve", selected)

    assert confirmation.status_code == 200
    assert confirmation.templates[0].name == "admin/procedures/application/bulk_confirm.html"
    page = confirmation.content.decode()
    assert "县级审批 → 县级审批公告" in page and "乡镇审核 → 乡镇审核" in page
    assert Application.objects.filter(state=State.COUNTY_APPROVED).count() == 0  # nothing done yet

    result = _post_action(client, "bulk_approve", selected, confirm="1", comment="经县扶贫办复审，同意。")

    assert result.status_code == 200
    assert result.templates[0].name == "admin/procedures/application/bulk_result.html"
    passed = {outcome.application.pk for outcome in result.context["passed"]}
    refused = {row["application"].pk: row["reason"] for row in result.context["refused"]}
    assert passed == {registrable.pk, exiting.pk}
    assert refused == {
        unsigned.pk: "六签字不全，缺少：乡镇长。",
        stale.pk: refused[stale.pk],
        townships_step.pk: "申请处于“村内公示”环节，“乡镇审核”须由乡镇扶贫专干办理，您在该户所在辖区没有这些角色。",
    }
    assert refused[stale.pk].startswith("按当前数据重新评估，该户已不再达到退出标准：")
    assert CRITERION_LABELS["income"] in refused[stale.pk]
    content = result.content.decode()
    for reason in refused.values():
        assert reason in content
    for application in (registrable, exiting):
        assert application.household.household_number in content

    # The database reflects exactly that.
    registrable.refresh_from_db()
    exiting.refresh_from_db()
    assert registrable.state == exiting.state == State.COUNTY_APPROVED
    assert registrable.steps.last().comment == "经县扶贫办复审，同意。"
    assert registrable.steps.last().actor == world.user("county")
    registered = Household.objects.get(pk=registrable.household_id)
    assert (registered.status, registered.identified_year) == (HouseholdStatus.IN_POVERTY, YEAR)
    exited = Household.objects.get(pk=exiting.household_id)
    assert (exited.status, exited.exit_year) == (HouseholdStatus.EXITED, YEAR)
    for application in (unsigned, stale, townships_step):
        assert snapshot(application) == before[application.pk]


def test_bulk_reject_without_a_reason_is_refused_and_changes_nothing(client, world):
    first = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    second = world.application(Kind.EXIT, State.APPRAISED)
    client = logged_in(client, world.user("township"))
    before = {app.pk: snapshot(app) for app in (first, second)}

    response = _post_action(client, "bulk_reject", [first, second], confirm="1", comment="   ")

    assert response.status_code == 200
    assert response.templates[0].name == "admin/procedures/application/bulk_confirm.html"
    assert "不予通过须填写理由。" in response.content.decode()
    for application in (first, second):
        assert snapshot(application) == before[application.pk]


def test_bulk_reject_with_a_reason_rejects_each_application_at_the_users_own_stage(client, world):
    first = world.application(Kind.IDENTIFICATION, State.VILLAGE_NOTICE)
    second = world.application(Kind.EXIT, State.VILLAGE_NOTICE)
    village_stage = world.application(Kind.EXIT, State.APPRAISED)  # the village's to reject, not the township's
    closed = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    client = logged_in(client, world.user("township"))
    before = snapshot(village_stage)

    response = _post_action(
        client, "bulk_reject", [first, second, village_stage, closed], confirm="1", comment="经核查，收入情况不实。"
    )

    assert {o.application.pk for o in response.context["passed"]} == {first.pk, second.pk}
    assert [(row["application"].pk, row["reason"]) for row in response.context["refused"]] == [
        (
            village_stage.pk,
            "申请处于“民主评议”环节，“不予通过”须由驻村第一书记、驻村工作队员办理，您在该户所在辖区没有这些角色。",
        ),
        (closed.pk, "申请处于“县级审批公告”环节，不能执行“不予通过”。"),
    ]
    assert snapshot(village_stage) == before
    for application in (first, second):
        application.refresh_from_db()
        step = application.steps.last()
        assert (application.state, step.action, step.comment, step.actor) == (
            State.REJECTED,
            "reject",
            "经核查，收入情况不实。",
            world.user("township"),
        )


def test_bulk_approve_of_a_closed_application_says_it_is_closed(client, world):
    closed = world.application(Kind.EXIT, State.COUNTY_APPROVED)
    client = logged_in(client, world.user("county"))
    response = _post_action(client, "bulk_approve", [closed], confirm="1", comment="")
    assert response.context["passed"] == []
    assert response.context["refused"][0]["reason"] == "申请处于“县级审批公告”环节，已办结，没有下一环节。"


# ---------------------------------------------------------------------------------------------------------
# Alerts


def test_alerts_are_listed_within_the_jurisdiction_and_filtered_by_resolution(client, world, queue):
    ours = queue["identification_notice_ended"]
    theirs = queue["other_county"]
    open_alert = Alert.objects.create(
        kind=AlertKind.NOTICE_ENDED, household=ours.household, application=ours, year=YEAR, message="公示期已届满"
    )
    resolved = Alert.objects.create(
        kind=AlertKind.STALLED,
        household=ours.household,
        application=ours,
        year=YEAR,
        message="停留过久",
        resolved_at=timezone.now(),
    )
    Alert.objects.create(
        kind=AlertKind.NOTICE_ENDED, household=theirs.household, application=theirs, year=YEAR, message="嵩县"
    )
    client = logged_in(client, world.user("county"))

    assert listed(client.get(ALERTS)) == {open_alert.pk, resolved.pk}
    assert listed(client.get(ALERTS, {"resolved": "no"})) == {open_alert.pk}
    assert listed(client.get(ALERTS, {"resolved": "yes"})) == {resolved.pk}
    assert listed(client.get(ALERTS, {"kind__exact": AlertKind.STALLED})) == {resolved.pk}
    page = client.get(reverse("admin:procedures_alert_change", args=[open_alert.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
