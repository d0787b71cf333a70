"""The back office for county staff: lists, search, filters, the household page with its members, and §8 masking."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django import forms
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import PovertyLine
from assistance.choices import Role
from assistance.models import Cadre
from assistance.services import role_assign
from households import choices
from households.admin import HouseholdAdmin, MemberInline
from households.filtersets import HouseholdFilterSet
from households.idcard import mask_id_number
from households.models import Household, IncomeRecord, Member, PersonalDataAccess
from testing.factories import (
    CountyFactory,
    HouseholdFactory,
    IncomeRecordFactory,
    MemberFactory,
    TownshipFactory,
    VillageFactory,
    id_number_for,
)
from villages import admin as villages_admin

pytestmark = pytest.mark.django_db

HOUSEHOLD_LIST = reverse("admin:households_household_changelist")
HEAD_ID = id_number_for(11, area_code="410325", birth_date=dt.date(1968, 3, 14))
SPOUSE_ID = id_number_for(12, area_code="410325", birth_date=dt.date(1970, 7, 2), male=False)
OTHER_HEAD_ID = id_number_for(13, area_code="410326", birth_date=dt.date(1959, 11, 30))


def change_url(household: Household) -> str:
    return reverse("admin:households_household_change", args=[household.pk])


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The staff_user fixture sets a password; the default PBKDF2 costs a third of a second per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clerk_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def supervisor(django_user_model, city_admin):
    """A city-wide supervisor: sees everything, may change nothing, may not see personal data."""
    user = django_user_model.objects.create_user(username="luoyang_supervisor")
    cadre = Cadre.objects.create(user=user, name="市督查组赵督查")
    role_assign(actor=city_admin, cadre=cadre, role=Role.SUPERVISOR)
    return user


@pytest.fixture
def family():
    """户 4103240001000777: head 王建国 and his wife 李秀英, with the 2015 income."""
    household = HouseholdFactory(household_number="4103240001000777", address="庙子镇1号")
    head = MemberFactory(household=household, name="王建国", id_number=HEAD_ID, relation=choices.Relation.HEAD)
    spouse = MemberFactory(household=household, name="李秀英", id_number=SPOUSE_ID, relation=choices.Relation.SPOUSE)
    IncomeRecordFactory(household=household, year=2015)
    return household, head, spouse


@pytest.fixture
def neighbour():
    """Another household in another village, so that every search and filter has something to leave out."""
    household = HouseholdFactory(
        household_number="4103240002000888", status=choices.HouseholdStatus.EXITED, exit_year=2017
    )
    MemberFactory(household=household, name="张志强", id_number=OTHER_HEAD_ID, relation=choices.Relation.HEAD)
    return household


def listed(response) -> list[str]:
    return [household.household_number for household in response.context["cl"].result_list]


def post_data(response) -> dict:
    """The admin change form of ``response`` as a browser would submit it unchanged (form + inline formsets)."""
    data: dict = {}

    def add(form) -> None:
        for field in form:
            value = field.value()
            if isinstance(field.field, forms.BooleanField):
                if value:  # an unticked checkbox is not submitted
                    data[field.html_name] = "on"
            elif isinstance(field.field, forms.MultipleChoiceField):
                data[field.html_name] = [str(item) for item in value or []]
            elif value is None:
                data[field.html_name] = ""
            else:
                data[field.html_name] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def member_prefix(response, member: Member) -> str:
    """The inline form prefix (``members-0``) of ``member`` on the household page."""
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            if form.instance.pk == member.pk:
                return form.prefix
    raise AssertionError(f"{member} is not on the page")


# --- lists --------------------------------------------------------------------------------------------


def test_household_list_shows_head_name_and_masked_id_number_only(clerk_client, family):
    response = clerk_client.get(HOUSEHOLD_LIST)
    content = response.content.decode()
    assert response.status_code == 200
    assert "王建国" in content
    assert mask_id_number(HEAD_ID) in content
    assert HEAD_ID not in content
    assert SPOUSE_ID not in content


def test_household_list_names_village_township_and_county(clerk_client, family):
    household, _, _ = family
    content = clerk_client.get(HOUSEHOLD_LIST).content.decode()
    assert household.village.name in content
    assert household.village.township.name in content
    assert "栾川县" in content


def test_household_list_stays_masked_even_for_who_may_see_personal_data(clerk_client, staff_user, family):
    assert staff_user.has_perm("households.view_personal_data")
    content = clerk_client.get(HOUSEHOLD_LIST).content.decode()
    assert mask_id_number(HEAD_ID) in content
    assert HEAD_ID not in content
    assert not PersonalDataAccess.objects.exists()


def test_revealing_personal_data_is_decided_in_one_place(clerk_client, family, monkeypatch):
    household, _, _ = family
    monkeypatch.setattr(HouseholdAdmin, "may_view_personal_data", lambda self, request: False)
    monkeypatch.setattr(MemberInline, "may_view_personal_data", lambda self, request: False)
    content = clerk_client.get(change_url(household)).content.decode()
    assert HEAD_ID not in content
    assert mask_id_number(HEAD_ID) in content


@pytest.mark.parametrize(
    ("term", "why"),
    [
        ("王建国", "the head's name"),
        ("李秀英", "another member's name"),
        ("4103240001000777", "the household number"),
        (HEAD_ID, "the head's whole ID number"),
        (HEAD_ID[-4:], "the last four characters of an ID number"),
    ],
)
def test_search_finds_the_household_and_not_another(clerk_client, family, neighbour, term, why):
    response = clerk_client.get(HOUSEHOLD_LIST, {"q": term})
    assert listed(response) == ["4103240001000777"], why


def test_search_lists_a_household_once_when_several_members_match(clerk_client, family, neighbour):
    # Both 王建国 and 李秀英 carry ID numbers of area 410325; the household must still appear once.
    response = clerk_client.get(HOUSEHOLD_LIST, {"q": "410325"})
    assert listed(response) == ["4103240001000777"]


def test_search_with_lower_case_x_finds_the_id_number(clerk_client):
    number = next(
        id_number_for(n, area_code="410327") for n in range(1000) if id_number_for(n, area_code="410327")[-1] == "X"
    )
    member = MemberFactory(name="赵玉梅", id_number=number)
    response = clerk_client.get(HOUSEHOLD_LIST, {"q": number.lower()})
    assert listed(response) == [member.household.household_number]


def test_filter_by_status(clerk_client, family, neighbour):
    response = clerk_client.get(HOUSEHOLD_LIST, {"status__exact": choices.HouseholdStatus.EXITED})
    assert listed(response) == ["4103240002000888"]


def test_filter_by_county_township_and_village(clerk_client, family, neighbour):
    household, _, _ = family
    other_county = VillageFactory(township=TownshipFactory(county=CountyFactory(code="410325", name="嵩县")))
    HouseholdFactory(household_number="4103250001000999", village=other_county)
    village = household.village

    by_county = clerk_client.get(HOUSEHOLD_LIST, {"county_id": village.county_id})
    by_township = clerk_client.get(HOUSEHOLD_LIST, {"township_id": village.township_id})
    by_village = clerk_client.get(HOUSEHOLD_LIST, {"village_id": village.pk})

    assert sorted(listed(by_county)) == ["4103240001000777", "4103240002000888"]
    assert listed(by_township) == ["4103240001000777"]
    assert listed(by_village) == ["4103240001000777"]


def test_village_filter_waits_for_a_township_when_there_are_many_villages(clerk_client, family, monkeypatch):
    monkeypatch.setattr(villages_admin, "PLAIN_LIST_LIMIT", 2)
    village = family[0].village
    VillageFactory(township=village.township, name="石庙村")
    VillageFactory(name="潭头村")  # a third village in another township: too many to list unfiltered

    unfiltered = clerk_client.get(HOUSEHOLD_LIST).content.decode()
    in_township = clerk_client.get(HOUSEHOLD_LIST, {"township_id": village.township_id}).content.decode()

    assert "石庙村" not in unfiltered
    assert "石庙村" in in_township and village.name in in_township


def test_filter_counts_can_be_shown(clerk_client, family, neighbour):
    village = family[0].village
    response = clerk_client.get(HOUSEHOLD_LIST, {"_facets": "1", "county_id": village.county_id})
    assert response.status_code == 200
    assert f"{village.name} (1)" in response.content.decode()


def test_a_malformed_place_filter_lists_nothing_instead_of_failing(clerk_client, family):
    response = clerk_client.get(HOUSEHOLD_LIST, {"village_id": "１２"})  # full-width digits
    assert response.status_code == 200
    assert listed(response) == []


def test_household_list_costs_the_same_number_of_queries_for_100_households(
    clerk_client, family, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as few:
        clerk_client.get(HOUSEHOLD_LIST)
    village = family[0].village
    for n in range(100):
        household = HouseholdFactory(village=village)
        MemberFactory(household=household, id_number=id_number_for(n, area_code="410328"))

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = clerk_client.get(HOUSEHOLD_LIST)

    assert len(response.context["cl"].result_list) == 50


def test_member_list_masks_id_numbers_and_links_to_the_household(clerk_client, family):
    household, _, _ = family
    response = clerk_client.get(reverse("admin:households_member_changelist"), {"q": "李秀英"})
    content = response.content.decode()
    assert "李秀英" in content
    assert mask_id_number(SPOUSE_ID) in content
    assert SPOUSE_ID not in content
    assert change_url(household) in content


def test_member_page_is_read_only_and_masked(client, supervisor, family):
    _, _, spouse = family
    client.force_login(supervisor)
    response = client.get(reverse("admin:households_member_change", args=[spouse.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "李秀英" in content
    assert mask_id_number(SPOUSE_ID) in content
    assert SPOUSE_ID not in content
    assert not PersonalDataAccess.objects.exists()


def test_member_page_shows_the_whole_number_to_the_clerk_and_records_it(clerk_client, staff_user, family):
    _, _, spouse = family
    response = clerk_client.get(reverse("admin:households_member_change", args=[spouse.pk]))
    assert SPOUSE_ID in response.content.decode()
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.channel, access.model, access.object_ids) == (
        staff_user,
        "admin",
        "member",
        [spouse.pk],
    )
    assert clerk_client.get(reverse("admin:households_member_add")).status_code == 403


def test_income_list_shows_net_income_and_filters_by_year(clerk_client, family):
    household, _, _ = family
    IncomeRecordFactory(household=household, year=2016, wage_income=12000)
    response = clerk_client.get(reverse("admin:households_incomerecord_changelist"), {"year": 2015})
    records = list(response.context["cl"].result_list)
    assert [record.year for record in records] == [2015]
    assert "9500.00" in response.content.decode()  # 8000 + 2000 − 500


# --- the household page -------------------------------------------------------------------------------


def test_household_page_shows_members_and_incomes_to_the_clerk(clerk_client, family):
    household, _, _ = family
    response = clerk_client.get(change_url(household))
    content = response.content.decode()
    assert response.status_code == 200
    assert "王建国" in content and "李秀英" in content
    assert HEAD_ID in content  # the clerk edits the number, so the form field holds it whole
    assert "1968-03-14" in content or "1968年3月14日" in content  # birth date derived from the ID number
    assert "9500.00" in content
    for title in ("基本信息", "两不愁", "住房与饮水", "土地与明白卡"):
        assert title in content


def test_household_page_masks_id_numbers_for_a_reader_who_cannot_edit(client, supervisor, family):
    household, _, _ = family
    client.force_login(supervisor)

    content = client.get(change_url(household)).content.decode()

    assert "王建国" in content and "李秀英" in content
    assert mask_id_number(HEAD_ID) in content
    assert HEAD_ID not in content and SPOUSE_ID not in content
    assert "138****8000" in content


def test_second_active_head_is_refused_and_nothing_changes(clerk_client, family):
    household, _, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data["address"] = "庙子镇2号"
    data[f"{member_prefix(page, spouse)}-relation"] = choices.Relation.HEAD

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 200
    assert "每户必须有且只有一名在户的户主，当前有2名" in response.content.decode()
    spouse.refresh_from_db()
    household.refresh_from_db()
    assert spouse.relation == choices.Relation.SPOUSE
    assert household.address == "庙子镇1号"


def test_invalid_id_number_is_refused_with_the_check_character_message(clerk_client, family):
    household, _, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    wrong = SPOUSE_ID[:17] + ("0" if SPOUSE_ID[17] != "0" else "1")
    data[f"{member_prefix(page, spouse)}-id_number"] = wrong
    data["address"] = "庙子镇2号"

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 200
    assert "身份证号校验位错误" in response.content.decode()
    spouse.refresh_from_db()
    household.refresh_from_db()
    assert spouse.id_number == SPOUSE_ID
    assert household.address == "庙子镇1号"


def test_the_same_id_number_twice_in_one_household_is_refused(clerk_client, family):
    household, _, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data[f"{member_prefix(page, spouse)}-id_number"] = HEAD_ID

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 200
    assert "本户已有此身份证号（第1行），同一人在一户中只能登记一次。" in response.content.decode()
    spouse.refresh_from_db()
    assert spouse.id_number == SPOUSE_ID


def test_an_id_number_active_in_another_household_is_refused(clerk_client, family, neighbour):
    household, _, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data[f"{member_prefix(page, spouse)}-id_number"] = OTHER_HEAD_ID

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 200
    assert "同一身份证号在全库只能属于一名在户成员" in response.content.decode()
    spouse.refresh_from_db()
    assert spouse.id_number == SPOUSE_ID


def test_valid_edit_is_saved_and_recorded_with_the_clerk_as_author(clerk_client, staff_user, family):
    household, _, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data["address"] = "庙子镇2号"
    data["other_causes"] = [choices.Cause.LACK_SKILLS]
    data[f"{member_prefix(page, spouse)}-health"] = choices.Health.CHRONIC

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    household.refresh_from_db()
    spouse.refresh_from_db()
    assert household.address == "庙子镇2号"
    assert household.other_causes == [choices.Cause.LACK_SKILLS]
    assert spouse.health == choices.Health.CHRONIC
    assert household.history.latest().history_user == staff_user
    assert spouse.history.latest().history_user == staff_user


def test_head_can_hand_over_to_the_spouse_in_one_save(clerk_client, family):
    household, head, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    head_row, spouse_row = member_prefix(page, head), member_prefix(page, spouse)
    data.pop(f"{head_row}-is_active")
    data[f"{head_row}-left_reason"] = choices.LeftReason.DEATH
    data[f"{head_row}-left_on"] = "2019-05-01"
    data[f"{spouse_row}-relation"] = choices.Relation.HEAD

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 302
    head.refresh_from_db()
    spouse.refresh_from_db()
    assert not head.is_active and head.left_reason == choices.LeftReason.DEATH
    assert spouse.relation == choices.Relation.HEAD and spouse.is_active


def test_new_household_is_registered_with_its_head(clerk_client, staff_user):
    village = VillageFactory()
    add_url = reverse("admin:households_household_add")
    data = post_data(clerk_client.get(add_url))
    data.update(
        {
            "household_number": "4103240003000001",
            "village": str(village.pk),
            "identified_year": "2016",
            "primary_cause": choices.Cause.LACK_CAPITAL,
            "members-0-name": "陈国庆",
            "members-0-id_number": HEAD_ID.lower(),
            "members-0-relation": choices.Relation.HEAD,
            "members-0-work_months": "0",
            "members-0-is_active": "on",
        }
    )

    response = clerk_client.post(add_url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    head = Member.objects.get(household__household_number="4103240003000001")
    assert head.name == "陈国庆"
    assert head.gender == choices.Gender.MALE and head.birth_date == dt.date(1968, 3, 14)
    assert head.history.latest().history_user == staff_user


def test_new_household_without_a_head_is_refused(clerk_client):
    village = VillageFactory()
    add_url = reverse("admin:households_household_add")
    data = post_data(clerk_client.get(add_url))
    data.update(
        {
            "household_number": "4103240003000002",
            "village": str(village.pk),
            "identified_year": "2016",
            "primary_cause": choices.Cause.LACK_CAPITAL,
        }
    )

    response = clerk_client.post(add_url, data)

    assert response.status_code == 200
    assert "当前有0名" in response.content.decode()
    assert not Household.objects.filter(household_number="4103240003000002").exists()


def test_duplicate_income_year_is_refused(clerk_client, family):
    household, _, _ = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data.update(
        {
            "incomes-TOTAL_FORMS": "2",
            "incomes-1-year": "2015",
            "incomes-1-household": str(household.pk),
            **{f"incomes-1-{field}": "0" for field in IncomeRecord.AMOUNT_FIELDS},
        }
    )

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 200
    assert IncomeRecord.objects.filter(household=household).count() == 1


def test_saving_the_page_unchanged_records_no_change(clerk_client, family):
    """The page writes through ``household_replace``: rows that did not change get no history row."""
    household, head, spouse = family
    before = (household.history.count(), head.history.count(), spouse.history.count())

    response = clerk_client.post(change_url(household), post_data(clerk_client.get(change_url(household))))

    assert response.status_code == 302
    assert (household.history.count(), head.history.count(), spouse.history.count()) == before


def test_a_member_entered_by_mistake_is_deleted_with_the_clerk_recorded(clerk_client, staff_user, family):
    household, _, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data[f"{member_prefix(page, spouse)}-DELETE"] = "on"

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 302
    assert not Member.objects.filter(pk=spouse.pk).exists()
    deletion = Member.history.filter(id=spouse.pk).latest()
    assert deletion.history_type == "-" and deletion.history_user == staff_user


def test_a_head_entered_by_mistake_can_be_deleted_while_another_becomes_head(clerk_client, family):
    household, head, spouse = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data[f"{member_prefix(page, head)}-DELETE"] = "on"
    data[f"{member_prefix(page, spouse)}-relation"] = choices.Relation.HEAD

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 302
    assert list(household.members.values_list("name", "relation")) == [("李秀英", choices.Relation.HEAD)]


def test_a_deleted_income_row_is_removed(clerk_client, family):
    household, _, _ = family
    page = clerk_client.get(change_url(household))
    data = post_data(page)
    data["incomes-0-DELETE"] = "on"

    response = clerk_client.post(change_url(household), data)

    assert response.status_code == 302
    assert not household.incomes.exists()


def test_a_write_refused_by_the_service_changes_nothing_and_says_why(clerk_client, family, monkeypatch):
    """The forms check the same rules first; a refusal that only the service sees (a concurrent change) rolls
    the page back and is shown as a message."""
    from django.core.exceptions import ValidationError

    from households import services

    household, _, _ = family

    def refuse(**kwargs):
        Household.objects.filter(pk=household.pk).update(address="写了一半")
        raise ValidationError({"members[0].id_number": "该身份证号已在另一户登记为在户成员。"})

    monkeypatch.setattr(services, "household_replace", refuse)
    data = post_data(clerk_client.get(change_url(household)))
    data["address"] = "庙子镇9号"

    response = clerk_client.post(change_url(household), data, follow=True)

    household.refresh_from_db()
    assert household.address == "庙子镇1号"
    assert "第1名成员的身份证号：该身份证号已在另一户登记为在户成员。" in response.content.decode()


# --- geography and poverty lines ----------------------------------------------------------------------


def test_village_pages_show_the_exit_indicators(clerk_client, family):
    village = family[0].village
    listing = clerk_client.get(reverse("admin:villages_village_changelist"), {"q": village.code})
    page = clerk_client.get(reverse("admin:villages_village_change", args=[village.pk])).content.decode()
    assert list(listing.context["cl"].result_list) == [village]
    assert "出列指标" in page and "通宽带" in page and "村集体经济收入" in page


def test_poverty_line_list_filters_by_kind_and_verified(clerk_client):
    response = clerk_client.get(reverse("admin:assessments_povertyline_changelist"), {"verified__exact": "1"})
    lines = list(response.context["cl"].result_list)
    assert lines and all(line.verified for line in lines)


def test_mark_verified_action_records_the_city_admin(client, city_admin):
    client.force_login(city_admin)
    line = PovertyLine.objects.create(year=2018, kind="poverty", region_code="41", region_name="河南省", amount=3535)
    response = client.post(
        reverse("admin:assessments_povertyline_changelist"),
        {"action": "mark_verified", "_selected_action": [line.pk]},
        follow=True,
    )
    line.refresh_from_db()
    assert line.verified
    assert line.history.latest().history_user == city_admin
    assert "已将1条标准标记为已核实" in response.content.decode()


def test_back_office_asks_anonymous_visitors_to_log_in(client):
    # The site root belongs to the field pages; the back office lives under /admin/.
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_back_office_is_titled_in_chinese(clerk_client):
    assert "精准扶贫建档立卡管理系统" in clerk_client.get(reverse("admin:index")).content.decode()


# --- the shared filterset (admin search, HTML lists and the API) --------------------------------------


def filtered(params: dict) -> list[str]:
    filterset = HouseholdFilterSet(QueryDict(urlencode(params, doseq=True)), queryset=Household.objects.all())
    assert filterset.is_valid(), filterset.errors
    return sorted(filterset.qs.values_list("household_number", flat=True))


def test_filterset_filters_by_place_code_and_id(family, neighbour):
    village = family[0].village
    assert filtered({"village": village.code}) == ["4103240001000777"]
    assert filtered({"village_id": village.pk}) == ["4103240001000777"]
    assert filtered({"township": village.township.code}) == ["4103240001000777"]
    assert filtered({"county": "410324"}) == ["4103240001000777", "4103240002000888"]


def test_filterset_filters_by_status_attribute_and_cause(family, neighbour):
    assert filtered({"status": [choices.HouseholdStatus.EXITED]}) == ["4103240002000888"]
    assert filtered({"status": [choices.HouseholdStatus.EXITED, choices.HouseholdStatus.IN_POVERTY]}) == [
        "4103240001000777",
        "4103240002000888",
    ]
    assert filtered({"attribute": [choices.Attribute.DIBAO]}) == []
    assert filtered({"primary_cause": [choices.Cause.ILLNESS]}) == ["4103240001000777", "4103240002000888"]


def test_filterset_q_needs_every_word_to_match(family, neighbour):
    assert filtered({"q": "王建国"}) == ["4103240001000777"]
    assert filtered({"q": "王建国 4103240001"}) == ["4103240001000777"]
    assert filtered({"q": "王建国 张志强"}) == []


def test_filterset_refuses_an_unknown_county_code(family):
    filterset = HouseholdFilterSet(QueryDict("county=999999"), queryset=Household.objects.all())
    assert not filterset.is_valid()
