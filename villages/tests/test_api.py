"""The administrative tree over the API: counties, townships and villages in each role's jurisdiction (with
their ancestors), the exit checks (DOMAIN.md §6), and who may change what.

The world (shared with the other API test modules through ``build_world``) is the shared cast (testing/cast.py):
栾川县 with townships T1 (villages V1, V2) and T2 (V3); 嵩县 with T3 (V4). Household H1 (three people, in poverty)
lives in V1, H4 in V4.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from households.models import Household
from testing.cast import Cast, Places
from testing.factories import HouseholdFactory, MemberFactory, VillageFactory, id_number_for
from villages.models import County, Township, Village

pytestmark = pytest.mark.django_db


@dataclass
class World:
    root: object
    counties: dict[str, County]
    townships: dict[str, Township]
    villages: dict[str, Village]
    households: dict[str, Household]
    users: dict[str, object]

    def client(self, role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(self.root if role == "superuser" else self.users[role])
        return client


def build_world(cast: Cast) -> World:
    """The shared cast (testing/cast.py) under the keys these tests use."""
    users = {
        "county_staff": cast.luanchuan_clerk,
        "township_staff": cast.township_clerk,
        "first_secretary": cast.secretary,
        "helper": cast.helper,
        "supervisor": cast.supervisor,
        "no_role": cast.nobody,
        "other_county": cast.songxian_clerk,
    }
    return world_of(cast.city_admin, cast, cast.household, users)


def world_of(root, places: Places, h1: Household, users: dict[str, object]) -> World:
    """The world around ``places``, household ``h1`` and ``users``: adds H4, a household of 嵩县."""
    h4 = HouseholdFactory(village=places.songxian_village, household_number="4103251002010001")
    MemberFactory(household=h4, name="张志强", id_number=id_number_for(200, area_code="410325"))
    return World(root, places.counties, places.townships, places.villages, {"H1": h1, "H4": h4}, users)


@pytest.fixture
def world(cast) -> World:
    return build_world(cast)


def names(response) -> set[str]:
    assert response.status_code == 200, response.data
    return {row["code"] for row in response.data["results"]}


# --- scoping: list and retrieve ----------------------------------------------------------------------------

COUNTIES_SEEN = {
    "county_staff": {"410324"},
    "township_staff": {"410324"},
    "first_secretary": {"410324"},
    "helper": {"410324"},
    "supervisor": {"410324", "410325"},
    "other_county": {"410325"},
}
TOWNSHIPS_SEEN = {
    "county_staff": {"410324100", "410324101"},
    "township_staff": {"410324100"},
    "first_secretary": {"410324100"},
    "helper": {"410324100"},
    "supervisor": {"410324100", "410324101", "410325100"},
    "other_county": {"410325100"},
}
VILLAGES_SEEN = {
    "county_staff": {"410324100201", "410324100202", "410324101201"},
    "township_staff": {"410324100201", "410324100202"},
    "first_secretary": {"410324100201"},
    "helper": {"410324100201"},
    "supervisor": {"410324100201", "410324100202", "410324101201", "410325100201"},
    "other_county": {"410325100201"},
}


@pytest.mark.parametrize("role", COUNTIES_SEEN)
def test_county_list_shows_own_county_and_no_other(world, role):
    assert names(world.client(role).get("/api/v1/counties/")) == COUNTIES_SEEN[role]


@pytest.mark.parametrize("role", TOWNSHIPS_SEEN)
def test_township_list_shows_jurisdiction_and_ancestors(world, role):
    assert names(world.client(role).get("/api/v1/townships/")) == TOWNSHIPS_SEEN[role]


@pytest.mark.parametrize("role", VILLAGES_SEEN)
def test_village_list_shows_jurisdiction(world, role):
    assert names(world.client(role).get("/api/v1/villages/")) == VILLAGES_SEEN[role]


@pytest.mark.parametrize("resource", ["counties", "townships", "villages"])
def test_user_without_role_is_refused(world, resource):
    assert world.client("no_role").get(f"/api/v1/{resource}/").status_code == 403


def test_outsider_gets_404_for_a_county_township_or_village(world):
    client = world.client("county_staff")
    assert client.get(f"/api/v1/counties/{world.counties['songxian'].pk}/").status_code == 404
    assert client.get(f"/api/v1/townships/{world.townships['T3'].pk}/").status_code == 404
    response = client.get(f"/api/v1/villages/{world.villages['V4'].pk}/")
    assert response.status_code == 404
    assert response.data["detail"] == "未找到，或不在您的辖区内。"


def test_first_secretary_cannot_see_a_neighbouring_village_of_the_same_township(world):
    response = world.client("first_secretary").get(f"/api/v1/villages/{world.villages['V2'].pk}/")
    assert response.status_code == 404


# --- exit checks -------------------------------------------------------------------------------------------


def test_village_detail_has_the_exit_check(world):
    response = world.client("county_staff").get(f"/api/v1/villages/{world.villages['V1'].pk}/")
    assert response.status_code == 200
    check = response.data["exit_check"]
    # 3 people in poverty out of 1200 registered: 0.25%.
    assert check["poor_people"] == 3
    assert check["registered_population"] == 1200
    assert check["incidence"] == "0.25%"
    assert check["eligible"] is False
    assert "通硬化路未达标" in check["missing"]
    assert response.data["township_code"] == "410324100"
    assert response.data["county_code"] == "410324"


def test_village_list_carries_exit_checks_without_a_query_per_village(world):
    client = world.client("supervisor")
    client.get("/api/v1/villages/")  # the user's jurisdiction and permissions are then cached
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/villages/")
    for n in range(6):
        VillageFactory(township=world.townships["T2"], code=f"4103241013{n:02d}")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/villages/")
    assert len(response.data["results"]) == 10
    assert all("exit_check" in row for row in response.data["results"])
    assert len(many.captured_queries) == len(few.captured_queries)
    by_code = {row["code"]: row["exit_check"] for row in response.data["results"]}
    assert by_code["410324100201"]["poor_people"] == 3
    assert by_code["410324100202"]["poor_people"] == 0


def test_county_detail_has_the_exit_check_and_the_list_does_not(world):
    client = world.client("county_staff")
    detail = client.get(f"/api/v1/counties/{world.counties['luanchuan'].pk}/")
    assert detail.status_code == 200
    check = detail.data["exit_check"]
    assert check["poor_people"] == 3
    assert check["registered_population"] == 3600
    assert check["incidence"] == "0.08%"
    assert "未录入第三方评估错退率" in check["missing"]
    assert check["eligible"] is False
    listed = client.get("/api/v1/counties/")
    assert "exit_check" not in listed.data["results"][0]


def test_township_detail_has_its_incidence(world):
    response = world.client("township_staff").get(f"/api/v1/townships/{world.townships['T1'].pk}/")
    assert response.status_code == 200
    assert response.data["incidence"] == {"incidence": "0.13%", "poor_people": 3, "registered_population": 2400}
    assert response.data["county_code"] == "410324"


# --- filters -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "庄子"}, {"410324100201"}),
        ({"q": "410324101"}, {"410324101201"}),
        ({"code": "410324100202"}, {"410324100202"}),
        ({"county": "410325"}, {"410325100201"}),
        ({"township": "410324100"}, {"410324100201", "410324100202"}),
        ({"is_poverty_village": "false"}, {"410324100202"}),
    ],
)
def test_village_filters(world, params, expected):
    assert names(world.client("supervisor").get("/api/v1/villages/", params)) == expected


def test_village_filters_by_ids(world):
    client = world.client("supervisor")
    by_county = client.get("/api/v1/villages/", {"county_id": world.counties["songxian"].pk})
    assert names(by_county) == {"410325100201"}
    by_township = client.get("/api/v1/villages/", {"township_id": world.townships["T2"].pk})
    assert names(by_township) == {"410324101201"}


def test_township_filters(world):
    client = world.client("supervisor")
    assert names(client.get("/api/v1/townships/", {"county": "410325"})) == {"410325100"}
    assert names(client.get("/api/v1/townships/", {"county_id": world.counties["luanchuan"].pk})) == {
        "410324100",
        "410324101",
    }
    assert names(client.get("/api/v1/townships/", {"q": "潭头"})) == {"410324101"}


def test_county_filters(world):
    client = world.client("supervisor")
    assert names(client.get("/api/v1/counties/", {"q": "嵩"})) == {"410325"}
    assert names(client.get("/api/v1/counties/", {"code": "410324"})) == {"410324"}


def test_out_of_range_id_filter_is_a_400_not_a_server_error(world):
    response = world.client("supervisor").get("/api/v1/villages/", {"county_id": "99999999999999999999999"})
    assert response.status_code == 400
    assert "county_id" in response.data


def test_filter_within_scope_does_not_reach_outside_it(world):
    assert names(world.client("county_staff").get("/api/v1/villages/", {"county": "410325"})) == set()


# --- village update ----------------------------------------------------------------------------------------


def test_county_staff_updates_a_villages_exit_indicators(world):
    village = world.villages["V1"]
    response = world.client("county_staff").patch(
        f"/api/v1/villages/{village.pk}/",
        {"has_hardened_road": True, "registered_population": 1500, "collective_income_yuan": "52000.50"},
        format="json",
    )
    assert response.status_code == 200, response.data
    village.refresh_from_db()
    assert village.has_hardened_road is True
    assert village.registered_population == 1500
    assert village.collective_income_yuan == Decimal("52000.50")
    assert response.data["exit_check"]["incidence"] == "0.20%"
    assert "通硬化路未达标" not in response.data["exit_check"]["missing"]
    assert village.history.first().history_user == world.users["county_staff"]


def test_village_code_and_township_cannot_be_changed(world):
    village = world.villages["V1"]
    response = world.client("county_staff").patch(
        f"/api/v1/villages/{village.pk}/",
        {"code": "410324100299", "township": world.townships["T2"].pk, "has_power": True},
        format="json",
    )
    assert response.status_code == 400
    assert "村代码不能在此修改" in response.data["code"][0]
    assert "所属乡镇不能在此修改" in response.data["township"][0]
    village.refresh_from_db()
    assert (village.code, village.township_id, village.has_power) == (
        "410324100201",
        world.townships["T1"].pk,
        False,
    )


def test_village_update_with_unchanged_code_is_accepted(world):
    village = world.villages["V1"]
    response = world.client("county_staff").patch(
        f"/api/v1/villages/{village.pk}/", {"code": village.code, "has_power": True}, format="json"
    )
    assert response.status_code == 200, response.data


def test_village_update_errors_are_field_level_and_in_chinese(world):
    village = world.villages["V1"]
    response = world.client("county_staff").patch(
        f"/api/v1/villages/{village.pk}/",
        {"registered_population": -5, "collective_income_yuan": "-1", "exit_year": 1999},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.data) == {"registered_population", "collective_income_yuan", "exit_year"}
    assert "2013" in response.data["exit_year"][0]
    assert "0" in response.data["registered_population"][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.data["registered_population"][0])
    village.refresh_from_db()
    assert village.registered_population == 1200


@pytest.mark.parametrize(("role", "status"), [("township_staff", 403), ("first_secretary", 403), ("other_county", 404)])
def test_village_update_refused_for_others_changes_nothing(world, role, status):
    village = world.villages["V1"]
    response = world.client(role).patch(f"/api/v1/villages/{village.pk}/", {"has_power": True}, format="json")
    assert response.status_code == status
    village.refresh_from_db()
    assert village.has_power is False


def test_villages_are_not_deleted_through_the_api(world):
    village = world.villages["V2"]
    for role in ("county_staff", "superuser"):
        assert world.client(role).delete(f"/api/v1/villages/{village.pk}/").status_code == 405
    assert Village.objects.filter(pk=village.pk).exists()


# --- counties and townships: superusers only ---------------------------------------------------------------


def test_county_staff_cannot_create_or_change_counties_or_townships(world):
    client = world.client("county_staff")
    county = world.counties["luanchuan"]
    assert client.post("/api/v1/counties/", {"code": "410326", "name": "汝阳县"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/counties/{county.pk}/", {"name": "改名县"}, format="json").status_code == 403
    response = client.post(
        "/api/v1/townships/", {"code": "410324102", "name": "新镇", "county": county.pk}, format="json"
    )
    assert response.status_code == 403
    assert County.objects.count() == 2
    assert Township.objects.count() == 3
    county.refresh_from_db()
    assert county.name == "栾川县"


def test_superuser_creates_and_updates_a_county(world):
    client = world.client("superuser")
    response = client.post("/api/v1/counties/", {"code": "410326", "name": "汝阳县"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["exit_check"]["incidence"] == "—"
    county = County.objects.get(code="410326")
    response = client.patch(f"/api/v1/counties/{county.pk}/", {"public_recognition_rate": "95.50"}, format="json")
    assert response.status_code == 200
    county.refresh_from_db()
    assert county.public_recognition_rate == Decimal("95.50")


def test_county_code_is_checked_by_the_model(world):
    response = world.client("superuser").post("/api/v1/counties/", {"code": "4103", "name": "坏县"}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == ["县级代码应为6位数字（国家行政区划代码），当前为“4103”。"]
    assert not County.objects.filter(name="坏县").exists()


def test_township_code_must_start_with_its_countys(world):
    response = world.client("superuser").post(
        "/api/v1/townships/",
        {"code": "410325109", "name": "错镇", "county": world.counties["luanchuan"].pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.data["code"] == ["乡镇代码“410325109”应以所属县代码“410324”开头。"]


def test_superuser_creates_a_village(world):
    response = world.client("superuser").post(
        "/api/v1/villages/",
        {"code": "410324101202", "name": "新村", "township": world.townships["T2"].pk, "registered_population": 800},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["county"] == world.counties["luanchuan"].pk
    assert Village.objects.get(code="410324101202").county_id == world.counties["luanchuan"].pk
