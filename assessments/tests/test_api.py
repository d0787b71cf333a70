"""Poverty lines (public standards, DOMAIN.md §3) and stored assessments (§4) over the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessments.models import Assessment, LineKind, PovertyLine
from assessments.services import household_assess
from households.models import Household
from testing.factories import IncomeRecordFactory
from villages.tests.test_api import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(cast) -> World:
    return build_world(cast)


@pytest.fixture
def lines():
    """The national lines of 2014–2020 come with the migrations; two regional lines are added."""
    return {
        "national": PovertyLine.objects.get(year=2015, kind=LineKind.POVERTY, region_code=""),
        "henan": PovertyLine.objects.create(
            year=2017, region_code="41", region_name="河南省", amount=Decimal("3335"), source="河南省"
        ),
        "songxian": PovertyLine.objects.create(
            year=2017, region_code="410325", region_name="嵩县", amount=Decimal("3400")
        ),
    }


# --- poverty lines -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["county_staff", "first_secretary", "helper", "other_county", "supervisor"])
def test_every_role_sees_every_poverty_line(world, lines, role):
    response = world.client(role).get("/api/v1/poverty-lines/")
    assert response.status_code == 200
    assert {row["id"] for row in response.data["results"]} == set(PovertyLine.objects.values_list("pk", flat=True))
    assert len(response.data["results"]) == 9


def test_poverty_line_of_another_county_is_retrievable(world, lines):
    response = world.client("county_staff").get(f"/api/v1/poverty-lines/{lines['songxian'].pk}/")
    assert response.status_code == 200
    assert response.data["amount"] == "3400.00"
    assert response.data["region_code"] == "410325"


def test_user_without_role_sees_no_poverty_line(world, lines):
    assert world.client("no_role").get("/api/v1/poverty-lines/").status_code == 403


def test_poverty_line_filters(world, lines):
    client = world.client("county_staff")
    by_year = client.get("/api/v1/poverty-lines/", {"year": 2017, "region_code": "41"}).data["results"]
    assert [r["id"] for r in by_year] == [lines["henan"].pk]
    assert {r["year"] for r in client.get("/api/v1/poverty-lines/", {"verified": "true"}).data["results"]} == {
        2015,
        2016,
        2020,
    }
    assert [r["id"] for r in client.get("/api/v1/poverty-lines/", {"q": "嵩县"}).data["results"]] == [
        lines["songxian"].pk
    ]


def test_county_staff_cannot_create_or_change_a_poverty_line(world, lines):
    client = world.client("county_staff")
    response = client.post("/api/v1/poverty-lines/", {"year": 2021, "amount": "4100"}, format="json")
    assert response.status_code == 403
    response = client.patch(f"/api/v1/poverty-lines/{lines['national'].pk}/", {"amount": "1"}, format="json")
    assert response.status_code == 403
    assert PovertyLine.objects.count() == 9
    assert PovertyLine.objects.get(pk=lines["national"].pk).amount == Decimal("2855")


def test_superuser_creates_and_updates_a_poverty_line(world, lines):
    client = world.client("superuser")
    response = client.post(
        "/api/v1/poverty-lines/", {"year": 2021, "amount": "4100", "source": "待核实"}, format="json"
    )
    assert response.status_code == 201, response.data
    assert response.data["kind"] == LineKind.POVERTY
    assert response.data["region_code"] == ""
    line = PovertyLine.objects.get(year=2021)
    response = client.patch(f"/api/v1/poverty-lines/{line.pk}/", {"verified": True}, format="json")
    assert response.status_code == 200
    line.refresh_from_db()
    assert line.verified is True
    assert line.history.first().history_user == world.root


def test_duplicate_poverty_line_is_refused_in_chinese(world, lines):
    response = world.client("superuser").post("/api/v1/poverty-lines/", {"year": 2015, "amount": "3000"}, format="json")
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["该年度、类别和地区已有标准。"]}
    assert PovertyLine.objects.filter(year=2015).count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"year": 2018, "region_code": "41", "amount": "0"}, "amount", "标准须大于0元。"),
        ({"year": 2018, "amount": "2995", "region_code": "4103X"}, "region_code", "地区代码应为2位"),
    ],
)
def test_poverty_line_field_errors_are_in_chinese(world, payload, field, message):
    response = world.client("superuser").post("/api/v1/poverty-lines/", payload, format="json")
    assert response.status_code == 400
    assert message in response.data[field][0]
    assert PovertyLine.objects.filter(year=2018).count() == 1  # the national row only


def test_poverty_lines_are_not_deleted(world, lines):
    response = world.client("superuser").delete(f"/api/v1/poverty-lines/{lines['national'].pk}/")
    assert response.status_code == 405
    assert PovertyLine.objects.count() == 9


# --- assessments -------------------------------------------------------------------------------------------


@pytest.fixture
def assessed(world, lines):
    """H1 assessed for 2015 twice (the second time with food insecure: the first row is kept, not current);
    H4 (one person, 9,500 yuan net) assessed for 2015 once: eligible."""
    h1, h4 = world.households["H1"], world.households["H4"]
    IncomeRecordFactory(household=h1, year=2015)
    IncomeRecordFactory(household=h4, year=2015)
    old = household_assess(household=h1, year=2015)
    Household.objects.filter(pk=h1.pk).update(food_secure=False)
    new = household_assess(household=h1, year=2015)
    other = household_assess(household=h4, year=2015)
    old.refresh_from_db()
    assert not old.is_current and new.is_current and new.pk != old.pk
    assert other.eligible and not new.eligible
    return {"old": old, "new": new, "other": other}


def ids(response) -> set[int]:
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("county_staff", {"new"}),
        ("first_secretary", {"new"}),
        ("helper", {"new"}),
        ("township_staff", {"new"}),
        ("other_county", {"other"}),
        ("supervisor", {"new", "other"}),
    ],
)
def test_assessment_list_shows_current_rows_in_jurisdiction(world, assessed, role, visible):
    assert ids(world.client(role).get("/api/v1/assessments/")) == {assessed[name].pk for name in visible}


def test_assessment_of_another_county_is_404(world, assessed):
    assert world.client("county_staff").get(f"/api/v1/assessments/{assessed['other'].pk}/").status_code == 404
    assert world.client("no_role").get(f"/api/v1/assessments/{assessed['new'].pk}/").status_code == 403


def test_assessment_detail_has_every_criterion(world, assessed):
    response = world.client("first_secretary").get(f"/api/v1/assessments/{assessed['new'].pk}/")
    assert response.status_code == 200
    data = response.data
    assert data["household_number"] == "4103241002010001"
    assert data["village_code"] == "410324100201"
    assert data["is_current"] is True
    assert data["eligible"] is False
    assert data["food_passed"] is False
    assert data["poverty_line"] == "2855.00"
    food = next(c for c in data["criteria"] if c["criterion"] == "food")
    assert food["passed"] is False
    assert food["message"]


def test_earlier_assessment_stays_retrievable(world, assessed):
    response = world.client("county_staff").get(f"/api/v1/assessments/{assessed['old'].pk}/")
    assert response.status_code == 200
    assert response.data["is_current"] is False


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"is_current": "false"}, {"old"}),
        ({"all": "true"}, {"old", "new", "other"}),
        ({"failing": "food"}, {"new"}),
        ({"failing": "food", "all": "true"}, {"new"}),
        ({"eligible": "false"}, {"new"}),
        ({"eligible": "true"}, {"other"}),
        ({"year": 2016}, set()),
        ({"county": "410325"}, {"other"}),
        ({"village": "410324100201"}, {"new"}),
        ({"township": "410324100"}, {"new"}),
    ],
)
def test_assessment_filters(world, assessed, params, expected):
    found = ids(world.client("supervisor").get("/api/v1/assessments/", params))
    assert found == {assessed[name].pk for name in expected}


def test_assessment_filters_by_ids(world, assessed):
    client = world.client("supervisor")
    h1 = world.households["H1"]
    assert ids(client.get("/api/v1/assessments/", {"household": h1.pk, "all": "true"})) == {
        assessed["old"].pk,
        assessed["new"].pk,
    }
    assert ids(client.get("/api/v1/assessments/", {"county_id": world.counties["luanchuan"].pk})) == {
        assessed["new"].pk
    }
    assert ids(client.get("/api/v1/assessments/", {"village_id": world.villages["V4"].pk})) == {assessed["other"].pk}


def test_unknown_criterion_is_refused(world, assessed):
    response = world.client("supervisor").get("/api/v1/assessments/", {"failing": "happiness"})
    assert response.status_code == 400
    assert "failing" in response.data


def test_assessments_are_read_only(world, assessed):
    client = world.client("county_staff")
    before = Assessment.objects.count()
    assert (
        client.post("/api/v1/assessments/", {"household": world.households["H1"].pk}, format="json").status_code == 405
    )
    assert (
        client.patch(f"/api/v1/assessments/{assessed['new'].pk}/", {"eligible": True}, format="json").status_code == 405
    )
    assert client.delete(f"/api/v1/assessments/{assessed['new'].pk}/").status_code == 405
    assert Assessment.objects.count() == before
