"""The change history a clerk can read (issue 11): labels not slugs, "—" not None, Chinese headers, people by
name, masked numbers for whoever may not see them, no reverting a household's decided fields, and a version
linked to its decision by a registered annotator."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from households import admin_history
from households.choices import HouseholdStatus
from households.idcard import mask_id_number, mask_phone
from households.models import Household, Member, PersonalDataAccess
from households.selectors import household_history, user_display_name, user_display_names
from testing.factories import id_number_for

pytestmark = pytest.mark.django_db


def history_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_history", args=[obj.pk])


def version_url(household: Household, version) -> str:
    return reverse("admin:households_household_simple_history", args=[household.pk, version.history_id])


def login(client, user) -> None:
    client.force_login(user)


def saved_by(obj, user, reason: str | None = None, **changes):
    """``obj`` with ``changes`` saved as ``user`` (a history row, as the services would write it)."""
    for name, value in changes.items():
        setattr(obj, name, value)
    obj._history_user = user
    obj._change_reason = reason  # simple-history keeps it on the instance: reset for each save
    obj.save()
    return obj


def history_table(content: str) -> str:
    """The versions' table of a simple-history page (not the header, where the viewer's own login appears)."""
    match = re.search(r'<table id="change-history".*?</table>', content, re.S)
    assert match, "no history table on the page"
    return match.group(0)


def related_table(content: str) -> str:
    match = re.search(r'<div class="module" id="related-history">.*?</div>', content, re.S)
    assert match, "no members' and incomes' history on the page"
    return match.group(0)


@pytest.fixture
def exited(cast):
    """The cast's household exited in 2020 (as a decision would write it, by the township clerk), then given its
    明白卡 on 1 June 2020 by the first secretary."""
    household = saved_by(
        cast.household, cast.township_clerk, "县级审批退出", status=HouseholdStatus.EXITED, exit_year=2020
    )
    return saved_by(household, cast.secretary, clarity_card_issued_on=dt.date(2020, 6, 1))


# --- readable values, headers and names ------------------------------------------------------------------------


def test_household_history_shows_labels_dates_empty_marks_and_chinese_headers(client, cast, exited):
    login(client, cast.luanchuan_clerk)

    table = history_table(client.get(history_url(exited)).content.decode())

    assert "未脱贫&nbsp;&rarr;&nbsp;已脱贫" in table
    assert "in_poverty" not in table and "exited" not in table
    assert "户状态" in table and "脱贫年度" in table and "明白卡发放日期" in table
    assert "—&nbsp;&rarr;&nbsp;2020" in table  # exit_year was empty
    assert "—&nbsp;&rarr;&nbsp;2020-06-01" in table
    assert "None" not in table
    for header in ("版本", "时间", "操作", "操作人", "变更原因", "变更内容"):
        assert f'<th scope="col">{header}</th>' in table
    assert "Changes" not in table and "CHANGES" not in table and "Changed by" not in table
    latest = exited.history.latest()
    assert timezone.localtime(latest.history_date).strftime("%Y-%m-%d %H:%M") in table
    assert "县级审批退出" in table


def test_the_person_who_made_a_change_is_shown_by_their_cadre_name(client, cast, exited):
    login(client, cast.luanchuan_clerk)

    table = history_table(client.get(history_url(exited)).content.decode())

    assert "城关镇专干赵" in table and "庄子村第一书记陈志强" in table
    assert "t1_clerk" not in table and "v1_secretary" not in table


def test_a_login_without_cadre_is_shown_by_full_name_then_login():
    User = get_user_model()
    named = User(username="ops", first_name="建国", last_name="王")
    assert user_display_name(named) == named.get_full_name() != ""
    assert user_display_name(User(username="ops")) == "ops"


def test_names_of_many_users_cost_one_query(cast, django_assert_num_queries):
    users = list(get_user_model().objects.filter(username__in=["t1_clerk", "v1_secretary", "luoyang_admin"]))

    with django_assert_num_queries(1):
        names = user_display_names([*users, None])

    assert sorted(names.values()) == sorted(["城关镇专干赵", "庄子村第一书记陈志强", "luoyang_admin"])


def test_members_and_incomes_changes_show_labels_names_and_empty_marks(client, cast):
    son = cast.household.members.get(name="王小明")
    saved_by(son, cast.secretary, is_active=False, left_reason="务工", left_on=dt.date(2019, 3, 1))
    login(client, cast.luanchuan_clerk)

    related = related_table(client.get(history_url(cast.household)).content.decode())

    assert "是&nbsp;&rarr;&nbsp;否" in related  # 是否在户
    assert "—&nbsp;&rarr;&nbsp;2019-03-01" in related
    assert "庄子村第一书记陈志强" in related and "v1_secretary" not in related
    assert "None" not in related and "True" not in related
    entry = next(e for e in household_history(user=cast.luanchuan_clerk, household=cast.household) if e.user)
    assert (entry.user, entry.user_name) == ("v1_secretary", "庄子村第一书记陈志强")


def test_every_model_history_page_is_readable(client, cast):
    """Not only the household's: a village's history page reads the same way."""
    village = saved_by(cast.village, cast.township_clerk, is_poverty_village=False, collective_income_yuan=52000)
    login(client, cast.luanchuan_clerk)

    response = client.get(history_url(village))

    assert response.status_code == 200
    table = history_table(response.content.decode())
    assert "是&nbsp;&rarr;&nbsp;否" in table and "True" not in table
    assert "城关镇专干赵" in table and "t1_clerk" not in table
    assert '<th scope="col">变更内容</th>' in table and "Changes" not in table and "None" not in table


def test_a_history_page_costs_the_same_whatever_the_number_of_versions_and_people(client, cast):
    household = cast.household
    login(client, cast.luanchuan_clerk)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(history_url(household)).status_code == 200
        return len(captured)

    saved_by(household, cast.secretary, address="庄子村3组16号")
    few = queries()
    for n, user in enumerate([cast.work_team, cast.work_team_2, cast.township_clerk, cast.luanchuan_clerk]):
        saved_by(household, user, address=f"庄子村3组{20 + n}号")
        saved_by(household.members.get(name="王小明"), user, work_months=n + 1)

    assert queries() == few


# --- personal data ---------------------------------------------------------------------------------------------


@pytest.fixture
def renumbered(cast):
    """The head's ID number corrected and the household's phone changed twice, all in the history."""
    head = cast.household.members.get(name="王建国")
    old_number = head.id_number
    saved_by(head, cast.luanchuan_clerk, id_number=id_number_for(777, birth_date=dt.date(1970, 5, 1)))
    saved_by(cast.household, cast.luanchuan_clerk, phone="13700000000")
    saved_by(cast.household, cast.luanchuan_clerk, phone="13800138000")
    return head, old_number


def test_history_masks_numbers_for_a_user_without_the_permission(client, cast, renumbered):
    head, old_number = renumbered
    login(client, cast.township_clerk)

    household_page = client.get(history_url(cast.household)).content.decode()
    member_page = client.get(history_url(head)).content.decode()

    for content in (household_page, member_page):
        for number in (old_number, head.id_number, "13700000000", "13800138000"):
            assert number not in content
    assert f"{mask_phone('13700000000')}&nbsp;&rarr;&nbsp;{mask_phone('13800138000')}" in history_table(household_page)
    assert mask_id_number(old_number) in related_table(household_page)
    assert mask_id_number(head.id_number) in history_table(member_page)
    assert not PersonalDataAccess.objects.exists()


def test_history_shows_whole_numbers_to_a_county_clerk_and_records_it(client, cast, renumbered):
    _, old_number = renumbered
    login(client, cast.luanchuan_clerk)

    household_page = client.get(history_url(cast.household)).content.decode()

    assert "13700000000&nbsp;&rarr;&nbsp;13800138000" in history_table(household_page)
    assert old_number in related_table(household_page)
    assert PersonalDataAccess.objects.filter(user=cast.luanchuan_clerk).exists()


# --- no reverting a household ----------------------------------------------------------------------------------


def test_reverting_a_household_version_is_refused_and_writes_nothing(client, cast, exited):
    first = exited.history.earliest()
    before = (
        Household.objects.filter(pk=exited.pk).values().get(),
        Household.history.filter(id=exited.pk).count(),
        Member.history.count(),
    )
    login(client, cast.luanchuan_clerk)  # county staff: may change the household
    form = client.get(version_url(exited, first))
    data = {name: value for name, value in form.context["adminform"].form.initial.items() if value is not None}

    response = client.post(version_url(exited, first), data)

    assert response.status_code == 403
    assert "只能由识别、退出等决定变更" in response.content.decode()
    after = (
        Household.objects.filter(pk=exited.pk).values().get(),
        Household.history.filter(id=exited.pk).count(),
        Member.history.count(),
    )
    assert after == before
    assert after[0]["status"] == HouseholdStatus.EXITED


def test_a_household_version_is_viewable_without_a_revert_button(client, cast, exited):
    login(client, cast.luanchuan_clerk)

    version = client.get(version_url(exited, exited.history.earliest()))
    listing = client.get(history_url(exited)).content.decode()

    assert version.status_code == 200
    assert 'name="_save"' not in version.content.decode()
    assert "还原" not in version.content.decode().split("<h1>", 1)[1].split("</form>", 1)[0]
    assert "不能还原" in listing and "并可将记录还原到该版本" not in listing


def test_an_outsider_posting_a_revert_gets_404(client, cast, exited):
    login(client, cast.songxian_clerk)

    response = client.post(version_url(exited, exited.history.earliest()), {})

    assert response.status_code == 404
    assert Household.objects.get(pk=exited.pk).status == HouseholdStatus.EXITED


def test_reverting_stays_where_no_decided_field_is_written(client, cast):
    """A village has no decided field: a city administrator may still revert it to an earlier version."""
    village = cast.village
    first = village.history.earliest()
    saved_by(village, cast.city_admin, name="庄子新村")
    client.force_login(cast.city_admin)
    form = client.get(reverse("admin:villages_village_simple_history", args=[village.pk, first.history_id]))
    assert 'name="_save"' in form.content.decode()
    data = {
        name: ("on" if value is True else value)
        for name, value in form.context["adminform"].form.initial.items()
        if value is not None and value is not False
    }

    response = client.post(reverse("admin:villages_village_simple_history", args=[village.pk, first.history_id]), data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    village.refresh_from_db()
    assert village.name == "庄子村"


# --- annotators: a version linked to its decision --------------------------------------------------------------


@pytest.fixture
def annotator():
    """A fake of the procedures' annotator: each status change links to decision 42; it records its calls."""
    calls = []

    def link_decisions(household, rows):
        calls.append((household, [row.record.history_id for row in rows]))
        return [
            format_html('<a href="/admin/procedures/decision/{}/change/">退出决定 #{}</a>', 42, 42)
            if row.changed("status")
            else None
            for row in rows
        ]

    admin_history.register_history_annotator(link_decisions)
    yield calls
    admin_history.unregister_history_annotator(link_decisions)


def test_an_annotator_links_a_status_change_to_its_decision(client, cast, exited, annotator):
    login(client, cast.luanchuan_clerk)

    table = history_table(client.get(history_url(exited)).content.decode())

    assert '<th scope="col">依据</th>' in table
    assert table.count('<a href="/admin/procedures/decision/42/change/">退出决定 #42</a>') == 1
    status_row = next(row for row in table.split("<tr>") if "未脱贫&nbsp;&rarr;&nbsp;已脱贫" in row)
    assert "/admin/procedures/decision/42/change/" in status_row
    household, ids = annotator[-1]
    assert household == exited
    assert ids == list(Household.history.filter(id=exited.pk).values_list("history_id", flat=True))


def test_an_annotators_plain_text_is_escaped(client, cast, exited):
    def shout(household, rows):
        return ["<script>alert(1)</script>" for _ in rows]

    admin_history.register_history_annotator(shout)
    try:
        login(client, cast.luanchuan_clerk)
        table = history_table(client.get(history_url(exited)).content.decode())
    finally:
        admin_history.unregister_history_annotator(shout)

    assert "<script>alert(1)</script>" not in table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table


def test_without_annotations_there_is_no_basis_column(client, cast, exited):
    login(client, cast.luanchuan_clerk)

    table = history_table(client.get(history_url(exited)).content.decode())

    assert "依据" not in table


def test_two_annotators_notes_are_both_shown(client, cast, exited, annotator):
    def source(household, rows):
        return [format_html("<em>{}</em>", "来自公告") if row.changed("status") else None for row in rows]

    admin_history.register_history_annotator(source)
    try:
        login(client, cast.luanchuan_clerk)
        table = history_table(client.get(history_url(exited)).content.decode())
    finally:
        admin_history.unregister_history_annotator(source)

    status_row = next(row for row in table.split("<tr>") if "未脱贫&nbsp;&rarr;&nbsp;已脱贫" in row)
    assert '<a href="/admin/procedures/decision/42/change/">退出决定 #42</a> <em>来自公告</em>' in status_row
