"""The field pages (DOMAIN.md §7): content and scoping for first secretaries, helpers and county staff.

The world: 栾川县 (410324), one township with two poverty villages. V1 has 王建国 (H1) and 李秀英 (H2), both
helped by 赵帮扶, and 张桂兰 (H3) with no helper; V2 has 孙海峰 (H4). The first secretary of V1, the helper and
the county clerk (``staff_user``) are cadres whose roles were granted through ``role_assign``.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import random
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from assessments.models import Assessment
from assessments.selectors import current_assessment_year, village_exit_check
from assessments.services import household_assess
from assistance.choices import Role
from assistance.models import Cadre, Visit
from assistance.selectors import compliance_gaps
from assistance.services import household_assign_helper, loan_issue
from households.models import Household, Member, PersonalDataAccess
from procedures.choices import AlertKind, Kind, State
from procedures.models import Alert, Application
from procedures.services import household_remove
from testing.cast import PASSWORD, cast_member
from testing.factories import (
    CountyFactory,
    HouseholdFactory,
    IncomeRecordFactory,
    MemberFactory,
    TownshipFactory,
    VillageFactory,
    id_number_for,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
TODAY = timezone.localdate()


@dataclass
class World:
    v1: object
    v2: object
    h1: Household
    h2: Household
    h3: Household
    h4: Household
    secretary: object
    helper: object
    helper_cadre: Cadre


def make_cadre_user(*, actor, username: str, name: str, role: str, **place):
    """A cadre with one role, made as the shared cast's people are (password ``PASSWORD``)."""
    return cast_member(username, name, (role, place), actor=actor)


def household_with_head(village, number: str, head_name: str, **fields) -> Household:
    household = HouseholdFactory(village=village, household_number=number, **fields)
    MemberFactory(household=household, name=head_name)
    return household


@pytest.fixture
def world(city_admin) -> World:
    """Not the shared cast (testing/cast.py): the tests name this world's own villages, helper and login, find no
    work team in V1, and create their own ``nobody``; the county clerk (``staff_user``) is the cast's."""
    county = CountyFactory(code="410324")
    township = TownshipFactory(county=county, code="410324104", name="庙子镇")
    v1 = VillageFactory(township=township, code="410324104201", name="杨山村")
    v2 = VillageFactory(township=township, code="410324104202", name="蒿坪村")
    h1 = household_with_head(v1, "4103241042010001", "王建国")
    h2 = household_with_head(v1, "4103241042010002", "李秀英")
    h3 = household_with_head(v1, "4103241042010003", "张桂兰")
    h4 = household_with_head(v2, "4103241042020001", "孙海峰")
    secretary = make_cadre_user(
        actor=city_admin, username="yangshan_secretary", name="杨山村第一书记", role=Role.FIRST_SECRETARY, village=v1
    )
    helper = make_cadre_user(actor=city_admin, username="zhao_helper", name="赵帮扶", role=Role.HELPER)
    for household in (h1, h2):
        household_assign_helper(actor=city_admin, household=household, cadre=helper.cadre)
    return World(v1, v2, h1, h2, h3, h4, secretary, helper, helper.cadre)


def logged_in(client, user):
    client.force_login(user)
    return client


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def card_url(household) -> str:
    return reverse("field:household", args=[household.pk])


def visit_url(household) -> str:
    return reverse("field:visit_create", args=[household.pk])


def png_bytes(size: int = 8, *, noisy: bool = False) -> bytes:
    image = Image.new("RGB", (size, size), "white")
    if noisy:  # random pixels do not compress: the file is about 3 bytes per pixel
        rng = random.Random(2015)
        image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size * size)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def visit_data(**overrides) -> dict:
    data = {
        "visited_on": TODAY.isoformat(),
        "purpose": "了解春耕生产",
        "findings": "家中种植玉米三亩，长势良好。",
        "problems": "缺少化肥",
        "follow_up": "联系农技站",
        "food_secure": "",
        "clothing_secure": "",
    }
    data.update(overrides)
    return data


# --- login ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["field:households", "field:household", "field:visit_create", "field:villages", "field:village"],
)
def test_anonymous_user_is_sent_to_the_login_page(client, world, name):
    args = {"field:household": [world.h1.pk], "field:visit_create": [world.h1.pk], "field:village": [world.v1.code]}
    url = reverse(name, args=args.get(name, []))
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_root_is_my_households_and_the_admin_stays_at_admin(client, world):
    assert reverse("field:households") == "/"
    assert client.get("/admin/").status_code == 302  # the admin's own login
    assert "我的帮扶户" in page_text(logged_in(client, world.secretary).get("/"))


def test_login_page_is_in_chinese_and_logs_a_cadre_in(client, world):
    page = page_text(client.get(reverse("login")))
    assert "登录" in page and "用户名" in page and "密码" in page
    response = client.post(reverse("login"), {"username": "zhao_helper", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"
    assert "4103241042010001" in page_text(client.get("/"))


def test_wrong_password_is_refused_in_chinese(client, world):
    response = client.post(reverse("login"), {"username": "zhao_helper", "password": "wrong"})
    assert response.status_code == 200
    assert "正确的" in page_text(response)
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_lock_the_login_page(client, world):
    for _ in range(3):
        client.post(reverse("login"), {"username": "zhao_helper", "password": "wrong"}, REMOTE_ADDR="10.0.0.21")
    response = client.post(reverse("login"), {"username": "zhao_helper", "password": PASSWORD}, REMOTE_ADDR="10.0.0.21")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, world):
    logged_in(client, world.helper)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert client.get("/").status_code == 302


# --- my households ---------------------------------------------------------------------------------------------


def listed_numbers(response) -> set[str]:
    assert response.status_code == 200
    page = response.content.decode()
    numbers = {"4103241042010001", "4103241042010002", "4103241042010003", "4103241042020001"}
    return {number for number in numbers if f'data-number="{number}"' in page}


def test_helper_lists_only_their_households(client, world):
    assert listed_numbers(logged_in(client, world.helper).get("/")) == {"4103241042010001", "4103241042010002"}


def test_first_secretary_lists_their_village_and_not_the_next_one(client, world):
    numbers = listed_numbers(logged_in(client, world.secretary).get("/"))
    assert numbers == {"4103241042010001", "4103241042010002", "4103241042010003"}


def test_county_clerk_lists_the_whole_county(client, world, staff_user):
    assert len(listed_numbers(logged_in(client, staff_user).get("/"))) == 4


def test_user_without_a_role_lists_nothing(client, world):
    nobody = User.objects.create_user(username="nobody", password=PASSWORD)
    response = logged_in(client, nobody).get("/")
    assert listed_numbers(response) == set()
    assert "没有符合条件的贫困户" in page_text(response)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("李秀英", {"4103241042010002"}),
        ("4103241042010003", {"4103241042010003"}),
        ("010001", {"4103241042010001"}),
        ("孙海峰", set()),  # in the next village: not found, however exact the name
    ],
)
def test_search_finds_by_head_name_and_by_household_number(client, world, query, expected):
    assert listed_numbers(logged_in(client, world.secretary).get("/", {"q": query})) == expected


def test_status_filter(client, world):
    world.h3.status = "exited"
    world.h3.exit_year = 2019
    world.h3.save()
    response = logged_in(client, world.secretary).get("/", {"status": "exited"})
    assert listed_numbers(response) == {"4103241042010003"}


def test_rows_show_status_eligibility_and_days_since_the_last_visit(client, world):
    year = current_assessment_year()
    IncomeRecordFactory(household=world.h1, year=year, wage_income=Decimal("20000.00"))
    household_assess(household=world.h1, year=year)
    world.h2.food_secure = False
    world.h2.save()
    household_assess(household=world.h2, year=year)
    assert Assessment.objects.get(household=world.h1, year=year).eligible
    assert not Assessment.objects.get(household=world.h2, year=year).eligible
    Visit.objects.create(
        household=world.h1,
        cadre=world.helper_cadre,
        visited_on=TODAY - dt.timedelta(days=5),
        purpose="回访",
        findings="正常",
    )
    Visit.objects.create(
        household=world.h1,
        cadre=world.helper_cadre,
        visited_on=TODAY - dt.timedelta(days=40),
        purpose="回访",
        findings="正常",
    )
    page = page_text(logged_in(client, world.secretary).get("/"))
    rows = {
        key: page.split(f'data-number="410324104201{key}"')[1].split("</li>")[0] for key in ("0001", "0002", "0003")
    }
    assert "王建国" in rows["0001"] and "未脱贫" in rows["0001"]
    assert "✓ 达标" in rows["0001"] and "5天前走访" in rows["0001"]
    assert "✗ 未达标" in rows["0002"] and "从未走访" in rows["0002"]
    assert "未评估" in rows["0003"]
    assert f"{year}年退出标准" in rows["0001"]


def test_list_queries_do_not_grow_with_the_households(client, world, django_assert_max_num_queries):
    year = current_assessment_year()
    logged_in(client, world.secretary)

    def add_households(start: int, count: int) -> None:
        for n in range(start, start + count):
            household = household_with_head(world.v1, f"41032410420110{n:02d}", "周玉梅")
            Assessment.objects.create(
                household=household,
                year=year,
                eligible=n % 2 == 0,
                **{f"{c}_passed": True for c in ("income", "food", "clothing", "education", "medical")},
                housing_passed=True,
                water_passed=True,
                household_size=1,
                rules_version="test",
                fingerprint=str(n),
                computed_at=timezone.now(),
            )
            Visit.objects.create(
                household=household, cadre=world.helper_cadre, visited_on=TODAY, purpose="走访", findings="正常"
            )

    add_households(0, 3)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    add_households(3, 22)
    assert len(few.captured_queries) <= 10, [q["sql"][:80] for q in few.captured_queries]
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/")
    assert len(listed_numbers(response)) == 3  # the world's households are on the page too
    assert page_text(response).count('class="household-row"') == 25  # one full page


def test_list_is_paginated_by_25(client, world):
    for n in range(30):
        household_with_head(world.v1, f"41032410420120{n:02d}", "吴春花")
    page = page_text(logged_in(client, world.secretary).get("/", {"page": 2}))
    assert page.count('class="household-row"') == 33 - 25
    assert "第 2 / 2 页" in page


# --- household card ----------------------------------------------------------------------------------------------


def test_card_of_another_village_is_404(client, world):
    assert logged_in(client, world.secretary).get(card_url(world.h4)).status_code == 404


def test_helper_cannot_open_a_household_they_do_not_help(client, world):
    logged_in(client, world.helper)
    assert client.get(card_url(world.h1)).status_code == 200
    assert client.get(card_url(world.h3)).status_code == 404


def test_card_masks_id_numbers_for_a_helper_and_records_nothing(client, world):
    spouse = MemberFactory(household=world.h1, name="刘桂兰", relation="spouse")
    page = page_text(logged_in(client, world.helper).get(card_url(world.h1)))
    assert "王建国" in page and "刘桂兰" in page
    for member in (world.h1.members.get(relation="head"), spouse):
        assert member.id_number not in page
        assert member.masked_id_number in page
    assert "138****8000" in page  # the household's phone, masked
    assert not PersonalDataAccess.objects.exists()


def test_card_shows_full_id_numbers_to_county_staff_and_records_the_reveal(client, world, staff_user):
    spouse = MemberFactory(household=world.h1, name="刘桂兰", relation="spouse")
    page = page_text(logged_in(client, staff_user).get(card_url(world.h1)))
    head = world.h1.members.get(relation="head")
    assert head.id_number in page and spouse.id_number in page
    assert "13800138000" in page
    members = PersonalDataAccess.objects.get(user=staff_user, model="member")
    assert members.channel == PersonalDataAccess.Channel.PAGE
    assert members.object_ids == sorted([head.pk, spouse.pk]) and members.object_count == 2
    assert members.path == card_url(world.h1)
    assert PersonalDataAccess.objects.filter(user=staff_user, model="household", object_ids=[world.h1.pk]).exists()


def test_card_shows_the_message_of_every_failing_criterion(client, world):
    year = current_assessment_year()
    world.h2.food_secure = False
    world.h2.house_safety_grade = "D"
    world.h2.save()
    assessment = household_assess(household=world.h2, year=year)
    failing = [c for c in assessment.criteria if not c["passed"]]
    assert {c["criterion"] for c in failing} >= {"food", "housing", "income"}
    page = page_text(logged_in(client, world.helper).get(card_url(world.h2)))
    assert f"{year}年" in page and "未达到退出标准" in page
    for criterion in failing:
        assert criterion["message"] in page
    assert "住房安全等级为D级（危房），且未搬迁入住。" in page


def test_card_shows_warnings(client, world):
    year = current_assessment_year()
    head = world.h1.members.get(relation="head")
    head.health = "serious_illness"
    head.save()
    IncomeRecordFactory(household=world.h1, year=year, wage_income=Decimal("20000.00"))
    assessment = household_assess(household=world.h1, year=year)
    assert "illness_risk" in assessment.warning_codes
    page = page_text(logged_in(client, world.helper).get(card_url(world.h1)))
    for warning in assessment.warnings:
        assert warning["message"] in page


def test_card_shows_members_incomes_measures_and_helper(client, world, city_admin):
    from assistance.services import measure_save

    year = current_assessment_year()
    IncomeRecordFactory(household=world.h1, year=year, wage_income=Decimal("12000.00"))
    measure_save(
        actor=city_admin,
        household=world.h1,
        year=year,
        category="industry",
        description="发放核桃苗200株",
        amount=Decimal("1200.00"),
    )
    page = page_text(logged_in(client, world.secretary).get(card_url(world.h1)))
    assert "王建国户" in page
    assert "13500.00元" in page  # net income: 12000 + 2000 − 500
    assert "发放核桃苗200株" in page and "产业扶贫" in page
    assert "赵帮扶" in page  # the responsible helper
    assert "还没有走访记录" in page


def borrower_of(household) -> Member:
    return MemberFactory(
        household=household,
        name="王小明",
        relation="child",
        id_number=id_number_for(7, birth_date=dt.date(1985, 6, 1)),
    )


def test_loans_carry_their_warning_colour(client, world, city_admin):
    borrower = borrower_of(world.h1)
    common = {"actor": city_admin, "household": world.h1, "borrower": borrower, "interest_rate": Decimal("4.35")}
    soon = loan_issue(
        **common, bank="栾川农商银行", amount=Decimal("30000"), issued_on=TODAY - dt.timedelta(days=340), term_months=12
    )
    later = loan_issue(**common, bank="邮储银行", amount=Decimal("20000"), issued_on=TODAY, term_months=36)
    assert (soon.warning_level, later.warning_level) == ("yellow", "green")
    page = page_text(logged_in(client, world.helper).get(card_url(world.h1)))
    loans = page.split('id="loans"')[1].split('id="visits"')[0]
    soon_row = loans.split("栾川农商银行")[1].split("</li>")[0]
    later_row = loans.split("邮储银行")[1].split("</li>")[0]
    assert 'class="badge badge-yellow"' in soon_row and "黄色" in soon_row
    assert 'class="badge badge-green"' in later_row and "绿色" in later_row


def test_card_lists_the_last_ten_visits(client, world):
    for days in range(12):
        Visit.objects.create(
            household=world.h1,
            cadre=world.helper_cadre,
            visited_on=TODAY - dt.timedelta(days=days),
            purpose=f"第{days}次",
            findings="正常",
        )
    page = page_text(logged_in(client, world.helper).get(card_url(world.h1)))
    assert "共12次" in page and "显示最近10次" in page
    assert "第9次" in page and "第10次" not in page


# --- log a visit ---------------------------------------------------------------------------------------------------


def test_visit_form_defaults_to_today(client, world):
    response = logged_in(client, world.helper).get(visit_url(world.h1))
    page = page_text(response)
    assert response.status_code == 200
    assert f'value="{TODAY.isoformat()}"' in page
    assert 'enctype="multipart/form-data"' in page
    assert "未核实" in page


def test_logging_a_visit_redirects_to_the_card_which_shows_it(client, world):
    logged_in(client, world.helper)
    response = client.post(visit_url(world.h1), visit_data())
    assert response.status_code == 302 and response.url == card_url(world.h1) + "#visits"
    visit = Visit.objects.get(household=world.h1)
    assert visit.cadre == world.helper_cadre and visit.visited_on == TODAY
    assert visit.history.latest().history_user == world.helper
    page = page_text(client.get(response.url))
    assert "走访记录已保存" in page
    assert "家中种植玉米三亩，长势良好。" in page and "缺少化肥" in page and "赵帮扶" in page


def test_a_visit_with_a_photo_keeps_it_for_those_in_scope(client, world, city_admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    logged_in(client, world.helper)
    photo = SimpleUploadedFile("visit.png", png_bytes(), content_type="image/png")
    response = client.post(visit_url(world.h1), {**visit_data(), "photo": photo})
    assert response.status_code == 302
    visit = Visit.objects.get(household=world.h1)
    assert visit.photo.name.startswith("visits/")
    photo_url = reverse("field:visit_photo", args=[visit.pk])
    assert photo_url in client.get(card_url(world.h1)).content.decode()
    served = client.get(photo_url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == png_bytes()
    other_secretary = make_cadre_user(
        actor=city_admin,
        username="haoping_secretary",
        name="蒿坪村第一书记",
        role=Role.FIRST_SECRETARY,
        village=world.v2,
    )
    assert logged_in(client, other_secretary).get(photo_url).status_code == 404


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"visited_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "visited_on", "走访日期不能晚于今天。"),
        ({"findings": ""}, "findings", "请填写走访情况。"),
        ({"findings": "   "}, "findings", "请填写走访情况。"),
        ({"purpose": ""}, "purpose", "请填写走访目的。"),
        ({"visited_on": "2024-13-45"}, "visited_on", "走访日期格式不正确"),
        (
            {"photo": SimpleUploadedFile("visit.png", b"this is not a picture", content_type="image/png")},
            "photo",
            "照片须为图片文件",
        ),
    ],
)
def test_invalid_visit_shows_the_chinese_error_and_saves_nothing(
    client, world, settings, tmp_path, overrides, field, message
):
    settings.MEDIA_ROOT = tmp_path
    logged_in(client, world.helper)
    response = client.post(visit_url(world.h1), visit_data(food_secure="no", **overrides))
    assert response.status_code == 200
    page = page_text(response)
    assert "走访记录未保存" in page
    field_block = page.split(f'id="field-{field}"')[1].split('<div class="field"')[0]
    assert message in field_block
    assert page.count(message) == 1  # said once, not once by the form and again by the model
    assert Visit.objects.count() == 0
    world.h1.refresh_from_db()
    assert world.h1.food_secure is True  # the household's facts are untouched
    assert not any(tmp_path.rglob("*.*"))  # no photo left behind


def test_oversized_photo_is_refused(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.VISIT_PHOTO_MAX_BYTES = 1024
    content = png_bytes(40, noisy=True)
    assert len(content) > 1024
    logged_in(client, world.helper)
    photo = SimpleUploadedFile("big.png", content, content_type="image/png")
    response = client.post(visit_url(world.h1), {**visit_data(), "photo": photo})
    page = page_text(response)
    assert response.status_code == 200
    assert "照片不能超过" in page.split('id="field-photo"')[1]
    assert Visit.objects.count() == 0
    assert not any(tmp_path.rglob("*.*"))


def test_visit_finding_food_insecurity_updates_the_household_and_its_history(client, world):
    logged_in(client, world.helper)
    response = client.post(visit_url(world.h1), visit_data(food_secure="no", clothing_secure="yes"))
    assert response.status_code == 302
    world.h1.refresh_from_db()
    assert world.h1.food_secure is False and world.h1.clothing_secure is True
    latest = world.h1.history.latest()
    assert latest.food_secure is False and latest.history_user == world.helper
    visit = Visit.objects.get(household=world.h1)
    assert (visit.food_secure, visit.clothing_secure) == (False, True)
    assert "不愁吃否" in page_text(client.get(card_url(world.h1)))


def test_visit_left_unchecked_does_not_touch_the_household(client, world):
    history_rows = world.h1.history.count()
    logged_in(client, world.helper).post(visit_url(world.h1), visit_data())
    world.h1.refresh_from_db()
    assert world.h1.food_secure is True and world.h1.history.count() == history_rows


def test_visit_to_a_household_outside_the_jurisdiction_is_404_and_saves_nothing(client, world):
    logged_in(client, world.helper)
    assert client.get(visit_url(world.h3)).status_code == 404
    assert client.post(visit_url(world.h3), visit_data()).status_code == 404
    assert Visit.objects.count() == 0


def test_user_without_a_cadre_profile_is_told_so(client, world, city_admin):
    logged_in(client, city_admin)
    response = client.get(visit_url(world.h1))
    assert response.status_code == 403
    assert "没有干部档案" in page_text(response)
    assert client.post(visit_url(world.h1), visit_data()).status_code == 403
    assert Visit.objects.count() == 0
    assert "记录走访</a>" not in page_text(client.get(card_url(world.h1)))


def test_role_without_visit_permission_is_refused(client, world, city_admin):
    leader = make_cadre_user(
        actor=city_admin, username="leader", name="包村领导", role=Role.VILLAGE_LEADER, village=world.v1
    )
    logged_in(client, leader)
    assert client.get(card_url(world.h1)).status_code == 200
    response = client.post(visit_url(world.h1), visit_data())
    assert response.status_code == 403 and "不能记录走访" in page_text(response)
    assert Visit.objects.count() == 0


# --- village page -----------------------------------------------------------------------------------------------------


def test_first_secretary_goes_straight_to_their_village(client, world):
    response = logged_in(client, world.secretary).get(reverse("field:villages"))
    assert response.status_code == 302 and response.url == reverse("field:village", args=[world.v1.code])


def test_county_clerk_chooses_among_the_villages(client, world, staff_user):
    page = page_text(logged_in(client, staff_user).get(reverse("field:villages")))
    assert "杨山村" in page and "蒿坪村" in page


def test_village_page_lists_households_gaps_and_incidence(client, world):
    page = page_text(logged_in(client, world.secretary).get(reverse("field:village", args=[world.v1.code])))
    assert "杨山村" in page
    for number in ("4103241042010001", "4103241042010002", "4103241042010003"):
        assert f'data-number="{number}"' in page
    assert "4103241042020001" not in page
    gaps = compliance_gaps(user=world.secretary, village_code=world.v1.code)
    codes = {gap.code for gap in gaps}
    assert {"no_leader", "no_work_team", "no_helper", "no_measure", "no_clarity_card", "no_recent_visit"} <= codes
    assert "no_first_secretary" not in codes
    for gap in gaps:
        assert gap.message.removeprefix(gap.household_number) in page
    assert "杨山村没有包村领导。" in page
    assert "没有帮扶责任人" in page.split("4103241042010003")[1]
    check = village_exit_check(world.v1)
    assert check.incidence_percent in page
    assert f"{check.poor_people}人" in page and "1200人" in page
    for item in check.missing:
        assert item in page


def test_village_page_of_another_village_is_404(client, world):
    logged_in(client, world.secretary)
    assert client.get(reverse("field:village", args=[world.v2.code])).status_code == 404
    assert client.get(reverse("field:village", args=["999999999999"])).status_code == 404


# --- the procedures on the phone (DOMAIN.md §5) -------------------------------------------------------------------


def propose_url(household) -> str:
    return reverse("field:propose_exit", args=[household.pk])


def assess_eligible(household) -> Assessment:
    year = current_assessment_year()
    IncomeRecordFactory(household=household, year=year, wage_income=Decimal("20000.00"))
    assessment = household_assess(household=household, year=year)
    assert assessment.eligible
    return assessment


def assess_failing(household) -> Assessment:
    household.food_secure = False
    household.house_safety_grade = "D"
    household.save()
    assessment = household_assess(household=household, year=current_assessment_year())
    assert not assessment.eligible
    return assessment


def test_secretary_is_offered_propose_exit_only_for_an_eligible_household(client, world):
    assess_eligible(world.h1)
    failing = assess_failing(world.h2)
    client = logged_in(client, world.secretary)

    assert propose_url(world.h1) in page_text(client.get(card_url(world.h1)))
    page = page_text(client.get(card_url(world.h2)))
    assert propose_url(world.h2) not in page
    assert "暂不能提出退出申请" in page
    for criterion in failing.criteria:
        if not criterion["passed"]:
            assert criterion["message"] in page


def test_helper_is_not_offered_propose_exit_and_is_refused_if_he_posts(client, world):
    assess_eligible(world.h1)
    client = logged_in(client, world.helper)

    assert propose_url(world.h1) not in page_text(client.get(card_url(world.h1)))
    response = client.post(propose_url(world.h1), {"comment": ""})

    assert response.status_code == 200
    page = page_text(response)
    assert "“提出退出”须由驻村第一书记、驻村工作队员办理，您在该户所在辖区没有这些角色。" in page
    assert not Application.objects.exists()


def test_proposing_an_exit_on_the_phone_opens_the_application(client, world):
    assess_eligible(world.h1)
    client = logged_in(client, world.secretary)
    confirmation = page_text(client.get(propose_url(world.h1)))
    assert "确认提出退出申请" in confirmation and "✓ 达到退出标准" in confirmation

    response = client.post(propose_url(world.h1), {"comment": "经村两委会议研究提出。"})

    assert response.status_code == 302 and response.url == card_url(world.h1) + "#procedures"
    application = Application.objects.get(household=world.h1)
    assert (application.kind, application.year, application.state, application.created_by) == (
        Kind.EXIT,
        current_assessment_year(),
        State.PROPOSED,
        world.secretary,
    )
    assert application.steps.get().comment == "经村两委会议研究提出。"
    card = page_text(client.get(response.url))
    assert "已提出" in card and "退出申请" in card
    assert reverse("field:application", args=[application.pk]) in card
    assert "村两委提出" in card
    assert propose_url(world.h1) not in card  # not offered twice
    assert Household.objects.get(pk=world.h1.pk).status == "in_poverty"  # only the county's decision exits it


def test_proposing_an_exit_for_an_ineligible_household_is_refused_naming_the_failing_criteria(client, world):
    failing = assess_failing(world.h2)

    response = logged_in(client, world.secretary).post(propose_url(world.h2), {"comment": "提出"})

    assert response.status_code == 200
    page = page_text(response)
    assert "该户未达到退出标准：" in page
    for criterion in failing.criteria:
        if not criterion["passed"]:
            assert criterion["message"] in page
    assert "确认提出退出申请" not in page
    assert not Application.objects.exists()


def test_proposing_an_exit_outside_the_jurisdiction_is_404(client, world):
    assess_eligible(world.h4)
    client = logged_in(client, world.secretary)
    assert client.get(propose_url(world.h4)).status_code == 404
    assert client.post(propose_url(world.h4), {"comment": ""}).status_code == 404
    assert not Application.objects.exists()


def test_card_explains_an_exited_household_whose_new_assessment_fails(client, world):
    world.h3.status = "exited"
    world.h3.exit_year = 2019
    world.h3.save()
    household_assess(household=world.h3, year=current_assessment_year())  # no income recorded: fails
    Alert.objects.create(
        kind=AlertKind.RETURN_CANDIDATE,
        household=world.h3,
        year=current_assessment_year(),
        message="已脱贫户最新评估未达标：人均纯收入未达标",
    )

    page = page_text(logged_in(client, world.secretary).get(card_url(world.h3)))

    assert "已脱贫" in page and "✗ 未达到退出标准" in page
    assert "已脱贫户新评估未达标，已列入返贫风险提醒" in page
    assert "已脱贫户最新评估未达标：人均纯收入未达标" in page
    assert propose_url(world.h3) not in page


def test_card_lists_the_households_decisions(client, world, staff_user):
    household_remove(actor=staff_user, household=world.h2, reason="家有财政供养人员，识别不准。")

    page = page_text(logged_in(client, world.secretary).get(card_url(world.h2)))

    decisions = page.split('class="criteria decisions"')[1].split("</ul>")[0]
    assert "清退" in decisions and "家有财政供养人员，识别不准。" in decisions
    assert staff_user.cadre.name in decisions
    assert "尚无决定记录" in page_text(logged_in(client, world.secretary).get(card_url(world.h1)))


def test_alerts_are_shown_only_to_cadres_whose_place_covers_the_household(client, world, city_admin, staff_user):
    year = current_assessment_year()
    ours = Alert.objects.create(kind=AlertKind.STALLED, household=world.h1, year=year, message="杨山村提醒：停留过久")
    Alert.objects.create(kind=AlertKind.NOTICE_ENDED, household=world.h4, year=year, message="蒿坪村提醒：公示期满")
    Alert.objects.create(
        kind=AlertKind.RETURN_CANDIDATE,
        household=world.h1,
        year=year,
        message="已处理的提醒",
        resolved_at=timezone.now(),
    )
    Alert.objects.create(kind=AlertKind.DECISIONS_TAMPERED, household=world.h1, year=year, message="决定记录链异常")
    v2_secretary = make_cadre_user(
        actor=city_admin,
        username="haoping_secretary",
        name="蒿坪村第一书记",
        role=Role.FIRST_SECRETARY,
        village=world.v2,
    )

    def alerts_on(user, url) -> str:
        page = page_text(logged_in(client, user).get(url))
        return page.split('id="alerts"')[1].split("</details>")[0] if 'id="alerts"' in page else ""

    mine = alerts_on(world.secretary, "/")
    assert "杨山村提醒：停留过久" in mine and world.h1.household_number in mine
    assert "蒿坪村提醒" not in mine and "已处理的提醒" not in mine and "决定记录链异常" not in mine
    assert "杨山村提醒" in alerts_on(world.secretary, reverse("field:village", args=[world.v1.code]))
    theirs = alerts_on(v2_secretary, "/")
    assert "蒿坪村提醒：公示期满" in theirs and "杨山村提醒" not in theirs
    assert "杨山村提醒" in alerts_on(world.helper, "/")  # the helper of H1
    county = alerts_on(staff_user, "/")
    assert "杨山村提醒" in county and "蒿坪村提醒" in county
    assert alerts_on(staff_user, reverse("field:village", args=[world.v2.code])).count("提醒：") == 1
    card = page_text(logged_in(client, world.secretary).get(card_url(world.h1)))
    assert ours.message in card and "决定记录链异常" not in card
