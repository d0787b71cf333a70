"""Exit assessments in the back office (issue 3): the household page criterion by criterion, the eligibility
filters of the household list, the "recompute now" action, the assessment list, and the village and county
exit checks with what is still missing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import Assessment
from assessments.services import household_assess
from households import choices
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

YEAR = 2019
HOUSEHOLD_LIST = reverse("admin:households_household_changelist")
ASSESSMENT_LIST = reverse("admin:assessments_assessment_changelist")
READY, FAILING, UNASSESSED = "4103240001001001", "4103240001001002", "4103240001001003"


@pytest.fixture(autouse=True)
def _assessment_year(settings):
    settings.ASSESSMENT_YEAR = YEAR


@pytest.fixture
def clerk_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def households():
    """One household ready to exit, one failing income and education (a 12-year-old dropout), one not
    assessed yet; the first two are assessed for 2019, the failing one for 2018 as well."""
    village = VillageFactory(name="庙子村")
    ready = HouseholdFactory(household_number=READY, village=village)
    MemberFactory(household=ready, name="王建国", id_number=id_number_for(1))
    IncomeRecordFactory(household=ready, year=YEAR)

    failing = HouseholdFactory(household_number=FAILING, village=village)
    MemberFactory(
        household=failing, name="李桂兰", id_number=id_number_for(2, male=False), health=choices.Health.SERIOUS_ILLNESS
    )
    MemberFactory(
        household=failing,
        name="张小明",
        id_number=id_number_for(3, birth_date=dt.date(2007, 5, 1)),
        relation=choices.Relation.CHILD,
        school_status=choices.SchoolStatus.DROPOUT,
    )
    IncomeRecordFactory(household=failing, year=2018)

    unassessed = HouseholdFactory(household_number=UNASSESSED, village=village)
    MemberFactory(household=unassessed, name="赵玉梅", id_number=id_number_for(4, male=False))

    household_assess(household=ready, year=YEAR)
    household_assess(household=failing, year=YEAR)
    household_assess(household=failing, year=2018)
    return ready, failing, unassessed


def listed(response) -> list[str]:
    return sorted(household.household_number for household in response.context["cl"].result_list)


# --- the household page ----------------------------------------------------------------------------------


def test_household_page_shows_each_criterion_with_its_label_verdict_and_message(clerk_client, households):
    _, failing, _ = households
    response = clerk_client.get(reverse("admin:households_household_change", args=[failing.pk]))
    content = response.content.decode()

    assert response.status_code == 200
    assert "2019年：" in content and "✗ 未达到退出标准" in content
    for label in (
        "人均纯收入稳定超过扶贫标准",
        "不愁吃",
        "不愁穿",
        "义务教育有保障",
        "基本医疗有保障",
        "住房安全有保障",
    ):
        assert label in content
    assert "缺少2019年收入记录。" in content
    assert "张小明（12岁）辍学。" in content
    assert "全部成员参加基本医疗保险和大病保险。" in content
    assert content.count("criterion-failed") == 3  # 2019: income and education; 2018: education
    assert "有大病成员，存在因病返贫风险" in content and "李桂兰患有大病。" in content
    assert "2018年：" in content  # other years that have an assessment
    assert content.index("2019年：") < content.index("2018年：")  # the current year first


def test_household_page_of_an_eligible_household_shows_income_and_line(clerk_client, households):
    ready, _, _ = households
    content = clerk_client.get(reverse("admin:households_household_change", args=[ready.pk])).content.decode()
    assert "✓ 达到退出标准" in content
    assert "人均纯收入：9500.00元" in content and "扶贫标准：3218.00元" in content
    assert "criterion-failed" not in content


def test_household_page_says_when_the_current_year_is_not_assessed(clerk_client, households):
    _, _, unassessed = households
    content = clerk_client.get(reverse("admin:households_household_change", args=[unassessed.pk])).content.decode()
    assert "2019年尚未评估" in content


# --- the household list: column, filters, action -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", [READY]), ("no", [FAILING]), ("none", [UNASSESSED]), ("maybe", [])],
)
def test_eligible_filter_for_the_current_year(clerk_client, households, value, expected):
    response = clerk_client.get(HOUSEHOLD_LIST, {"eligible": value})
    assert response.status_code == 200
    assert listed(response) == expected


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [("income", [FAILING]), ("education", [FAILING]), ("water", []), ("unknown", [])],
)
def test_failing_criterion_filter_for_the_current_year(clerk_client, households, criterion, expected):
    assert listed(clerk_client.get(HOUSEHOLD_LIST, {"failing": criterion})) == expected


def test_filters_are_titled_with_the_year_and_count_with_facets(clerk_client, households):
    response = clerk_client.get(HOUSEHOLD_LIST, {"_facets": "1"})
    content = response.content.decode()
    assert "达到退出标准（2019年）" in content and "未达标指标（2019年）" in content
    assert "义务教育有保障 (1)" in content


def test_filters_only_look_at_the_current_year(clerk_client, households):
    _, failing, _ = households
    Assessment.objects.filter(household=failing, year=YEAR).delete()  # 2018 still fails education
    assert listed(clerk_client.get(HOUSEHOLD_LIST, {"failing": "education"})) == []
    assert listed(clerk_client.get(HOUSEHOLD_LIST, {"eligible": "none"})) == [FAILING, UNASSESSED]


def test_household_list_shows_the_current_verdict_without_a_query_per_row(
    clerk_client, households, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as few:
        response = clerk_client.get(HOUSEHOLD_LIST)
    verdicts = {h.household_number: h.eligible_now for h in response.context["cl"].result_list}
    assert verdicts == {READY: True, FAILING: False, UNASSESSED: None}
    village = households[0].village
    for _ in range(30):
        household = HouseholdFactory(village=village)
        household_assess(household=household, year=YEAR)
    with django_assert_max_num_queries(len(few.captured_queries)):
        clerk_client.get(HOUSEHOLD_LIST)


def test_recompute_now_assesses_the_selected_households_and_reports_in_chinese(clerk_client, households):
    ready, failing, unassessed = households
    late = HouseholdFactory(household_number="4103240001001004", village=ready.village, identified_year=2020)

    response = clerk_client.post(
        HOUSEHOLD_LIST,
        {"action": "recompute_now", "_selected_action": [h.pk for h in (ready, failing, unassessed, late)]},
        follow=True,
    )

    content = response.content.decode()
    assert "已按2019年标准重新评估3户：1户评估结果有变化，1户达到退出标准，2户未达标。" in content
    assert "另有1户不参与2019年评估" in content
    assessment = Assessment.objects.get(household=unassessed, year=YEAR, is_current=True)
    assert not assessment.eligible and not assessment.income_passed
    assert not Assessment.objects.filter(household=late).exists()
    assert Assessment.objects.filter(year=YEAR).count() == 3  # unchanged households were not rewritten


def test_recompute_now_writes_a_new_assessment_when_the_inputs_changed(clerk_client, households):
    _, failing, _ = households
    IncomeRecordFactory(household=failing, year=YEAR, wage_income=Decimal("20000"))
    failing.members.filter(name="张小明").update(school_status=choices.SchoolStatus.JUNIOR)

    response = clerk_client.post(
        HOUSEHOLD_LIST, {"action": "recompute_now", "_selected_action": [failing.pk]}, follow=True
    )

    assert "1户评估结果有变化，1户达到退出标准" in response.content.decode()
    current = Assessment.objects.get(household=failing, year=YEAR, is_current=True)
    assert current.eligible
    assert Assessment.objects.filter(household=failing, year=YEAR, is_current=False).count() == 1


def test_supervisors_may_not_recompute(client, households, django_user_model, city_admin):
    from assistance.choices import Role
    from assistance.models import Cadre
    from assistance.services import role_assign

    user = django_user_model.objects.create_user(username="supervisor")
    role_assign(actor=city_admin, cadre=Cadre.objects.create(user=user, name="督查"), role=Role.SUPERVISOR)
    client.force_login(user)
    response = client.get(HOUSEHOLD_LIST)
    assert "recompute_now" not in response.content.decode()


# --- the assessment list ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"year": YEAR}, [(READY, YEAR), (FAILING, YEAR)]),
        ({"year": 2018}, [(FAILING, 2018)]),
        ({"eligible__exact": "1"}, [(READY, YEAR)]),
        ({"failing": "education"}, [(FAILING, 2018), (FAILING, YEAR)]),
        ({"failing": "income", "year": 2018}, []),
    ],
)
def test_assessment_list_filters_by_year_eligible_and_failing_criterion(clerk_client, households, params, expected):
    response = clerk_client.get(ASSESSMENT_LIST, params)
    assert response.status_code == 200
    rows = sorted((a.household.household_number, a.year) for a in response.context["cl"].result_list)
    assert rows == sorted(expected)


def test_assessments_are_read_only_and_scoped(clerk_client, households):
    _, failing, _ = households
    assessment = Assessment.objects.get(household=failing, year=YEAR)
    url = reverse("admin:assessments_assessment_change", args=[assessment.pk])
    page = clerk_client.get(url)
    assert page.status_code == 200 and "张小明（12岁）辍学。" in page.content.decode()
    assert clerk_client.post(url, {"eligible": "on"}).status_code == 403
    assert clerk_client.get(reverse("admin:assessments_assessment_add")).status_code == 403

    elsewhere = VillageFactory(township=TownshipFactory(county=CountyFactory(code="410325", name="嵩县")))
    other = HouseholdFactory(household_number="4103250001000001", village=elsewhere)
    other_assessment = household_assess(household=other, year=YEAR)
    assert (
        clerk_client.get(reverse("admin:assessments_assessment_change", args=[other_assessment.pk])).status_code == 404
    )
    assert "4103250001000001" not in clerk_client.get(ASSESSMENT_LIST).content.decode()


# --- village and county exit ----------------------------------------------------------------------------------


@pytest.fixture
def village_with_poor_people():
    """A village of 100 people with 3 people in poverty (3%), missing its broadband."""
    village = VillageFactory(
        name="潭头村",
        registered_population=100,
        has_hardened_road=True,
        has_safe_water=True,
        has_power=True,
        has_radio_tv=True,
        has_cultural_venue=True,
        has_clinic=True,
        has_broadband=False,
    )
    household = HouseholdFactory(village=village, status=choices.HouseholdStatus.IN_POVERTY)
    for n in range(3):
        MemberFactory(
            household=household,
            id_number=id_number_for(40 + n),
            relation=choices.Relation.HEAD if n == 0 else choices.Relation.CHILD,
        )
    exited = HouseholdFactory(village=village, status=choices.HouseholdStatus.EXITED, exit_year=2018)
    MemberFactory(household=exited, id_number=id_number_for(50))
    return village


def test_village_page_shows_the_exit_check_with_what_is_missing(clerk_client, village_with_poor_people):
    village = village_with_poor_people
    content = clerk_client.get(reverse("admin:villages_village_change", args=[village.pk])).content.decode()
    assert "贫困发生率：<strong>3.00%</strong>" in content
    assert "贫困人口 3 人 / 户籍人口 100 人" in content
    assert "✗ 尚未达到出列条件" in content
    assert "贫困发生率3.00%，未低于2%" in content
    assert "通宽带未达标" in content
    assert "通硬化路未达标" not in content


def test_village_that_meets_every_condition_is_shown_ready_to_exit(clerk_client, village_with_poor_people):
    village = village_with_poor_people
    village.registered_population = 1000
    village.has_broadband = True
    village.save()
    content = clerk_client.get(reverse("admin:villages_village_change", args=[village.pk])).content.decode()
    assert "贫困发生率：<strong>0.30%</strong>" in content
    assert "✓ 已达到出列条件" in content


def test_village_list_shows_incidence_without_a_query_per_village(
    clerk_client, village_with_poor_people, django_assert_max_num_queries
):
    village_list = reverse("admin:villages_village_changelist")
    with CaptureQueriesContext(connection) as few:
        response = clerk_client.get(village_list)
    assert "3.00%" in response.content.decode()
    for _ in range(20):
        household = HouseholdFactory(village=VillageFactory(township=village_with_poor_people.township))
        MemberFactory(household=household, id_number=id_number_for(600 + household.pk))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = clerk_client.get(village_list)
    assert "0.08%" in response.content.decode()  # 1 poor person of 1200


def test_county_page_shows_the_exit_check_with_what_is_missing(clerk_client, village_with_poor_people):
    county = village_with_poor_people.county
    content = clerk_client.get(reverse("admin:villages_county_change", args=[county.pk])).content.decode()
    assert "贫困发生率：<strong>3.00%</strong>" in content
    assert "✗ 尚未达到摘帽条件" in content
    assert "未录入第三方评估错退率" in content
    assert "未录入第三方评估群众认可度" in content
    assert "贫困村出列0/1个" in content


def test_county_list_shows_incidence(clerk_client, village_with_poor_people):
    response = clerk_client.get(reverse("admin:villages_county_changelist"))
    assert "3.00%" in response.content.decode()


def test_township_page_shows_its_incidence(clerk_client, village_with_poor_people):
    township = village_with_poor_people.township
    content = clerk_client.get(reverse("admin:villages_township_change", args=[township.pk])).content.decode()
    assert "贫困发生率：<strong>3.00%</strong>" in content
