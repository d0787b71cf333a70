"""Units, cadres (logins with roles), role assignments and helper assignments over the API (DOMAIN.md §7).

The world is the shared cast's places (testing/cast.py) with ``villages.tests.test_api.world_of``: 栾川县 (T1:
V1, V2; T2: V3) and 嵩县 (T3: V4); H1 in V1 helped by h1_helper; one cadre per role, each role from today.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from assistance import services as assistance_services
from assistance.models import Cadre, HouseholdAssignment, RoleAssignment, Unit
from households.models import PersonalDataAccess
from povertycase.api.base import flatten_errors
from testing.cast import build_places, build_wang_household, cast_member
from testing.factories import city_admin_user
from villages.tests.test_api import World, world_of

pytestmark = pytest.mark.django_db

User = get_user_model()
TODAY = timezone.localdate()


def make_cadre(root, username: str, role: str | None = None, *, name: str | None = None, phone: str = "", **place):
    """A login with a cadre profile and (optionally) one role from today, granted by ``root`` through the
    service, so that the role's group and permissions are the real ones."""
    roles = [(role, {"starts_on": TODAY, **place})] if role else []
    return cast_member(username, name or username, *roles, actor=root, phone=phone)


@pytest.fixture
def world() -> World:
    """The cast's places but not its people: these tests count the cadres and roles each role sees (one cadre per
    role, no work-team members) and rely on roles and the helper's assignment starting today."""
    root, places = city_admin_user(), build_places()
    luanchuan, t1, v1 = places.luanchuan, places.chengguan, places.village
    users = {
        "county_staff": make_cadre(root, "lc_clerk", "county_staff", name="栾川县扶贫办刘", county=luanchuan),
        "township_staff": make_cadre(root, "t1_clerk", "township_staff", name="城关镇专干赵", township=t1),
        "first_secretary": make_cadre(root, "v1_secretary", "first_secretary", name="庄子村书记陈", village=v1),
        "helper": make_cadre(root, "h1_helper", "helper", name="帮扶人杨", phone="13912345678"),
        "supervisor": make_cadre(root, "city_supervisor", "supervisor", name="督查员周"),
        "no_role": make_cadre(root, "nobody"),
        "other_county": make_cadre(root, "sx_clerk", "county_staff", name="嵩县扶贫办孙", county=places.songxian),
    }
    world = world_of(root, places, build_wang_household(v1), users)
    assistance_services.household_assign_helper(
        actor=root, household=world.households["H1"], cadre=users["helper"].cadre
    )
    return world


def usernames(response) -> set[str]:
    assert response.status_code == 200, response.data
    return {row["username"] for row in response.data["results"]}


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Cadre.objects.count(), RoleAssignment.objects.count()


# --- units -------------------------------------------------------------------------------------------------


@pytest.fixture
def unit():
    return Unit.objects.create(name="洛阳市扶贫办", level="city")


@pytest.mark.parametrize("role", ["county_staff", "first_secretary", "helper", "other_county"])
def test_every_role_sees_the_units(world, unit, role):
    response = world.client(role).get("/api/v1/units/")
    assert response.status_code == 200
    assert [row["name"] for row in response.data["results"]] == ["洛阳市扶贫办"]
    assert world.client(role).get(f"/api/v1/units/{unit.pk}/").status_code == 200


def test_user_without_role_sees_no_unit(world, unit):
    assert world.client("no_role").get("/api/v1/units/").status_code == 403


def test_county_staff_creates_and_renames_a_unit(world):
    client = world.client("county_staff")
    response = client.post("/api/v1/units/", {"name": "栾川县交通局", "level": "county"}, format="json")
    assert response.status_code == 201, response.data
    created = Unit.objects.get(name="栾川县交通局")
    response = client.patch(f"/api/v1/units/{created.pk}/", {"name": "栾川县交通运输局"}, format="json")
    assert response.status_code == 200
    created.refresh_from_db()
    assert created.name == "栾川县交通运输局"


@pytest.mark.parametrize("role", ["first_secretary", "township_staff", "supervisor"])
def test_others_cannot_create_a_unit(world, role):
    response = world.client(role).post("/api/v1/units/", {"name": "某企业", "level": "enterprise"}, format="json")
    assert response.status_code == 403
    assert not Unit.objects.exists()


def test_unit_errors_are_field_level_and_in_chinese(world, unit):
    client = world.client("county_staff")
    response = client.post("/api/v1/units/", {"name": "洛阳市扶贫办", "level": "village"}, format="json")
    assert response.status_code == 400
    assert set(response.data) == {"name", "level"}
    assert "已存在" in response.data["name"][0]
    assert "不是合法选项" in response.data["level"][0]
    assert Unit.objects.count() == 1


def test_units_are_not_deleted(world, unit):
    assert world.client("county_staff").delete(f"/api/v1/units/{unit.pk}/").status_code == 405
    assert Unit.objects.filter(pk=unit.pk).exists()


# --- cadres: scoping and masking ----------------------------------------------------------------------------

CADRES_SEEN = {
    "county_staff": {"lc_clerk", "t1_clerk", "v1_secretary", "h1_helper"},
    "township_staff": {"t1_clerk", "v1_secretary", "h1_helper"},
    "first_secretary": {"v1_secretary", "h1_helper"},
    "helper": {"h1_helper"},
    "other_county": {"sx_clerk"},
}


@pytest.mark.parametrize("role", CADRES_SEEN)
def test_cadre_list_shows_the_cadres_of_the_jurisdiction(world, role):
    assert usernames(world.client(role).get("/api/v1/cadres/")) == CADRES_SEEN[role]


def test_supervisor_sees_every_cadre(world):
    assert usernames(world.client("supervisor").get("/api/v1/cadres/", {"page_size": 100})) == {
        "lc_clerk",
        "t1_clerk",
        "v1_secretary",
        "h1_helper",
        "city_supervisor",
        "nobody",
        "sx_clerk",
    }


def test_cadre_list_does_not_query_per_cadre(world):
    client = world.client("county_staff")
    client.get("/api/v1/cadres/")  # the user's jurisdiction and permissions are then cached
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/cadres/")
    for n in range(5):
        make_cadre(world.root, f"extra{n}", "work_team", village=world.villages["V3"])
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/cadres/")
    assert len(response.data["results"]) == 9
    assert len(many.captured_queries) == len(few.captured_queries)


def test_cadre_of_another_county_is_404(world):
    other = world.users["other_county"].cadre
    assert world.client("county_staff").get(f"/api/v1/cadres/{other.pk}/").status_code == 404


def test_cadre_detail_lists_the_roles_inside_the_jurisdiction(world):
    secretary = world.users["first_secretary"].cadre
    response = world.client("county_staff").get(f"/api/v1/cadres/{secretary.pk}/")
    assert response.status_code == 200
    (role,) = response.data["roles"]
    assert role["role"] == "first_secretary"
    assert role["village"] == world.villages["V1"].pk
    assert role["place_name"] == "庄子村"
    assert role["is_active"] is True
    assert "password" not in response.data


def test_cadre_phone_is_masked_without_personal_data_permission(world):
    helper = world.users["helper"].cadre
    masked = world.client("township_staff").get(f"/api/v1/cadres/{helper.pk}/")
    assert masked.data["phone"] == "139****5678"
    assert not PersonalDataAccess.objects.exists()
    shown = world.client("county_staff").get(f"/api/v1/cadres/{helper.pk}/")
    assert shown.data["phone"] == "13912345678"
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.model, access.object_ids) == (world.users["county_staff"], "cadre", [helper.pk])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "书记"}, {"v1_secretary"}),
        ({"role": "township_staff"}, {"t1_clerk"}),
        ({"township": "410324100"}, {"t1_clerk", "v1_secretary"}),
        ({"county": "410324"}, {"lc_clerk", "t1_clerk", "v1_secretary"}),
        ({"village": "410324100201"}, {"v1_secretary"}),
    ],
)
def test_cadre_filters(world, params, expected):
    assert usernames(world.client("county_staff").get("/api/v1/cadres/", params)) == expected


# --- cadres: creation with login and roles ------------------------------------------------------------------


def new_cadre(world, **overrides) -> dict:
    payload = {
        "username": "t2_clerk",
        "password": "Tantou-Zhen-2024",
        "name": "吴潭头",
        "position": "扶贫专干",
        "phone": "0379-66820011",
        "roles": [{"role": "township_staff", "township": world.townships["T2"].pk}],
    }
    payload.update(overrides)
    return payload


def test_county_staff_creates_a_cadre_who_then_logs_in_and_sees_only_their_township(world, unit):
    response = world.client("county_staff").post("/api/v1/cadres/", new_cadre(world, unit=unit.pk), format="json")
    assert response.status_code == 201, response.data
    assert "password" not in response.data
    assert response.data["username"] == "t2_clerk"
    assert response.data["unit_name"] == "洛阳市扶贫办"
    assert [r["role"] for r in response.data["roles"]] == ["township_staff"]
    cadre = Cadre.objects.get(user__username="t2_clerk")
    assert cadre.history.first().history_user == world.users["county_staff"]

    token = APIClient().post(
        "/api/v1/auth/token/", {"username": "t2_clerk", "password": "Tantou-Zhen-2024"}, format="json"
    )
    assert token.status_code == 200, token.data
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.data['token']}")
    villages = client.get("/api/v1/villages/")
    assert villages.status_code == 200
    assert [row["code"] for row in villages.data["results"]] == ["410324101201"]
    assert client.get(f"/api/v1/villages/{world.villages['V1'].pk}/").status_code == 404
    assert client.get("/api/v1/households/").data["results"] == []


def test_password_is_never_returned_and_is_stored_hashed(world):
    response = world.client("superuser").post("/api/v1/cadres/", new_cadre(world, roles=[]), format="json")
    assert response.status_code == 201, response.data
    assert "Tantou-Zhen-2024" not in response.content.decode()
    user = User.objects.get(username="t2_clerk")
    assert user.password != "Tantou-Zhen-2024"
    assert user.check_password("Tantou-Zhen-2024")


@pytest.mark.parametrize(
    ("role_payload", "key", "message"),
    [
        ({"role": "first_secretary", "county": "luanchuan"}, "roles[1]", "“驻村第一书记”须绑定到村。"),
        ({"role": "first_secretary", "village": "V4"}, "roles[1].village", "不存在或不在您的辖区内"),
        ({"role": "county_staff", "county": "songxian"}, "roles[1].county", "不存在或不在您的辖区内"),
        ({"role": "supervisor"}, "roles", "只有市级管理员可以分配全市范围的角色。"),
        ({"role": "mayor", "county": "luanchuan"}, "roles[1].role", "不是合法选项"),
    ],
)
def test_cadre_with_an_invalid_role_is_refused_and_nothing_is_saved(world, role_payload, key, message):
    """The first role (work team of V1) is valid; the second is not: the whole request is refused."""
    places = {**world.counties, **world.villages}
    role = {k: places[v].pk if k in ("county", "village") else v for k, v in role_payload.items()}
    before = counts()
    payload = new_cadre(world, roles=[{"role": "work_team", "village": world.villages["V1"].pk}, role])
    response = world.client("county_staff").post("/api/v1/cadres/", payload, format="json")
    assert response.status_code == 400
    assert message in response.data[key][0], response.data
    assert counts() == before
    assert not User.objects.filter(username="t2_clerk").exists()


def test_first_invalid_role_is_reported_under_its_index(world):
    payload = new_cadre(world, roles=[{"role": "first_secretary", "county": world.counties["luanchuan"].pk}])
    response = world.client("county_staff").post("/api/v1/cadres/", payload, format="json")
    assert response.status_code == 400
    assert response.data == {"roles[0]": ["“驻村第一书记”须绑定到村。"]}
    assert not Cadre.objects.filter(name="吴潭头").exists()


def test_nested_list_errors_are_flattened_with_indexes():
    # DRF ≥ 3.16 reports a nested list's errors as {index: errors}; the API spells them roles[1].village.
    assert flatten_errors({"roles": {1: {"village": ["不在辖区内"]}}}) == {"roles[1].village": ["不在辖区内"]}
    assert flatten_errors({"roles": [{}, {"village": ["不在辖区内"]}]}) == {"roles[1].village": ["不在辖区内"]}


def test_cadre_without_a_role_is_refused_for_county_staff(world):
    before = counts()
    response = world.client("county_staff").post("/api/v1/cadres/", new_cadre(world, roles=[]), format="json")
    assert response.status_code == 400
    assert response.data == {"roles": ["请至少为干部分配一个角色。"]}
    assert counts() == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"username": "lc_clerk"}, "username", "登录名“lc_clerk”已被使用。"),
        ({"username": "bad name!"}, "username", "用户名"),
        ({"password": "123"}, "password", "密码"),
        ({"phone": "电话号码"}, "phone", "联系电话只能包含数字和“-”。"),
        ({"name": ""}, "name", "该字段不能为空。"),
    ],
)
def test_cadre_field_errors_are_in_chinese_and_nothing_is_saved(world, overrides, field, message):
    before = counts()
    response = world.client("county_staff").post("/api/v1/cadres/", new_cadre(world, **overrides), format="json")
    assert response.status_code == 400
    assert message in " ".join(response.data[field]), response.data
    assert counts() == before


@pytest.mark.parametrize("role", ["township_staff", "first_secretary", "supervisor"])
def test_only_county_staff_create_cadres(world, role):
    before = counts()
    response = world.client(role).post("/api/v1/cadres/", new_cadre(world), format="json")
    assert response.status_code == 403
    assert counts() == before


# --- cadres: update, no delete ------------------------------------------------------------------------------


def test_county_staff_updates_a_cadres_profile(world, unit):
    clerk = world.users["township_staff"].cadre
    response = world.client("county_staff").patch(
        f"/api/v1/cadres/{clerk.pk}/",
        {"name": "赵城关", "position": "副站长", "phone": "13700001111", "unit": unit.pk},
        format="json",
    )
    assert response.status_code == 200, response.data
    clerk.refresh_from_db()
    assert (clerk.name, clerk.position, clerk.phone, clerk.unit) == ("赵城关", "副站长", "13700001111", unit)
    assert clerk.history.first().history_user == world.users["county_staff"]


def test_cadre_update_errors(world):
    clerk = world.users["township_staff"].cadre
    client = world.client("county_staff")
    response = client.patch(f"/api/v1/cadres/{clerk.pk}/", {"phone": "1370000x"}, format="json")
    assert response.status_code == 400
    assert response.data == {"phone": ["联系电话只能包含数字和“-”。"]}
    response = client.patch(f"/api/v1/cadres/{clerk.pk}/", {"roles": [{"role": "helper"}]}, format="json")
    assert response.status_code == 400
    assert "assignments" in response.data["roles"][0]
    clerk.refresh_from_db()
    assert clerk.phone == ""
    assert clerk.roles.count() == 1


@pytest.mark.parametrize(("role", "status"), [("township_staff", 403), ("first_secretary", 403), ("other_county", 404)])
def test_cadre_update_refused_for_others_changes_nothing(world, role, status):
    clerk = world.users["county_staff"].cadre
    response = world.client(role).patch(f"/api/v1/cadres/{clerk.pk}/", {"name": "改名"}, format="json")
    assert response.status_code == status
    clerk.refresh_from_db()
    assert clerk.name == "栾川县扶贫办刘"


def test_cadres_are_ended_not_deleted(world):
    clerk = world.users["township_staff"].cadre
    for role in ("county_staff", "superuser"):
        assert world.client(role).delete(f"/api/v1/cadres/{clerk.pk}/").status_code == 405
    assert Cadre.objects.filter(pk=clerk.pk).exists()


# --- role assignments ---------------------------------------------------------------------------------------


def assignment_of(world, role: str) -> RoleAssignment:
    return world.users[role].cadre.roles.get()


def test_assignment_list_is_scoped(world):
    seen = world.client("county_staff").get("/api/v1/assignments/")
    assert {row["cadre_name"] for row in seen.data["results"]} == {"栾川县扶贫办刘", "城关镇专干赵", "庄子村书记陈"}
    own = world.client("helper").get("/api/v1/assignments/")
    assert [row["role"] for row in own.data["results"]] == ["helper"]
    other = assignment_of(world, "other_county")
    assert world.client("county_staff").get(f"/api/v1/assignments/{other.pk}/").status_code == 404


def test_assignment_filters(world):
    client = world.client("supervisor")
    rows = client.get("/api/v1/assignments/", {"county": "410325"}).data["results"]
    assert [row["cadre_name"] for row in rows] == ["嵩县扶贫办孙"]
    rows = client.get("/api/v1/assignments/", {"township_id": world.townships["T1"].pk}).data["results"]
    assert {row["role"] for row in rows} == {"township_staff", "first_secretary"}
    rows = client.get("/api/v1/assignments/", {"role": "supervisor", "active": "true"}).data["results"]
    assert [row["place_name"] for row in rows] == ["全市"]


def test_county_staff_grants_a_role_in_their_county(world):
    secretary = world.users["first_secretary"].cadre
    response = world.client("county_staff").post(
        "/api/v1/assignments/",
        {"cadre": secretary.pk, "role": "work_team", "village": world.villages["V2"].pk},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["starts_on"] == TODAY.isoformat()
    assert response.data["level"] == "village"
    assert secretary.roles.filter(role="work_team", village=world.villages["V2"]).exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"role": "work_team", "village": "V4"}, "village", "不存在或不在您的辖区内"),
        ({"role": "work_team", "township": "T1"}, "non_field_errors", "“驻村工作队员”须绑定到村。"),
        ({"role": "supervisor"}, "role", "只有市级管理员可以分配全市范围的角色。"),
        (
            {"role": "work_team", "village": "V2", "starts_on": "2024-05-01", "ends_on": "2024-04-01"},
            "ends_on",
            "结束日期不能早于开始日期。",
        ),
    ],
)
def test_refused_role_grant_names_the_field_and_saves_nothing(world, payload, field, message):
    places = {**world.townships, **world.villages}
    data = {k: places[v].pk if k in ("township", "village") else v for k, v in payload.items()}
    data["cadre"] = world.users["first_secretary"].cadre.pk
    before = RoleAssignment.objects.count()
    response = world.client("county_staff").post("/api/v1/assignments/", data, format="json")
    assert response.status_code == 400
    assert message in response.data[field][0], response.data
    assert RoleAssignment.objects.count() == before


def test_role_cannot_be_granted_to_a_cadre_outside_the_jurisdiction(world):
    other = world.users["other_county"].cadre
    response = world.client("county_staff").post(
        "/api/v1/assignments/",
        {"cadre": other.pk, "role": "work_team", "village": world.villages["V1"].pk},
        format="json",
    )
    assert response.status_code == 400
    assert "cadre" in response.data
    assert other.roles.count() == 1


def test_township_staff_cannot_grant_roles(world):
    before = RoleAssignment.objects.count()
    response = world.client("township_staff").post(
        "/api/v1/assignments/",
        {"cadre": world.users["first_secretary"].cadre.pk, "role": "work_team", "village": world.villages["V2"].pk},
        format="json",
    )
    assert response.status_code == 403
    assert RoleAssignment.objects.count() == before


def test_ending_a_role_takes_away_its_access(world):
    clerk = make_cadre(world.root, "old_clerk", name="老专干")
    assignment = assistance_services.role_assign(
        actor=world.root,
        cadre=clerk.cadre,
        role="township_staff",
        township=world.townships["T1"],
        starts_on=dt.date(2020, 1, 1),
    )
    assert clerk.groups.exists()
    response = world.client("county_staff").post(
        f"/api/v1/assignments/{assignment.pk}/end/", {"ends_on": "2023-12-31"}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["ends_on"] == "2023-12-31"
    assert response.data["is_active"] is False
    assignment.refresh_from_db()
    assert assignment.ends_on == dt.date(2023, 12, 31)
    assert assignment.history.first().history_user == world.users["county_staff"]
    clerk = User.objects.get(pk=clerk.pk)
    assert not clerk.groups.exists()
    client = APIClient()
    client.force_authenticate(clerk)
    assert client.get("/api/v1/households/").status_code == 403


def test_ending_a_role_defaults_to_today(world):
    assignment = assignment_of(world, "first_secretary")
    response = world.client("county_staff").post(f"/api/v1/assignments/{assignment.pk}/end/", {}, format="json")
    assert response.status_code == 200
    assert response.data["ends_on"] == TODAY.isoformat()


def test_end_date_before_start_is_refused(world):
    assignment = assignment_of(world, "first_secretary")
    response = world.client("county_staff").post(
        f"/api/v1/assignments/{assignment.pk}/end/",
        {"ends_on": (TODAY - dt.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.data == {"ends_on": ["结束日期不能早于开始日期。"]}
    assignment.refresh_from_db()
    assert assignment.ends_on is None


@pytest.mark.parametrize(("role", "status"), [("township_staff", 403), ("other_county", 404)])
def test_others_cannot_end_a_role(world, role, status):
    assignment = assignment_of(world, "first_secretary")
    response = world.client(role).post(f"/api/v1/assignments/{assignment.pk}/end/", {}, format="json")
    assert response.status_code == status
    assignment.refresh_from_db()
    assert assignment.ends_on is None


def test_assignments_are_neither_edited_nor_deleted(world):
    assignment = assignment_of(world, "first_secretary")
    client = world.client("county_staff")
    assert (
        client.patch(f"/api/v1/assignments/{assignment.pk}/", {"role": "work_team"}, format="json").status_code == 405
    )
    assert client.delete(f"/api/v1/assignments/{assignment.pk}/").status_code == 405
    assignment.refresh_from_db()
    assert assignment.role == "first_secretary"


# --- helper (household) assignments -------------------------------------------------------------------------


@pytest.fixture
def second_helper(world):
    """A work-team member of V2 who also helps households: visible to the staff of 栾川县 and of T1."""
    user = make_cadre(world.root, "v2_helper", "helper", name="帮扶人吴")
    assistance_services.role_assign(actor=world.root, cadre=user.cadre, role="work_team", village=world.villages["V2"])
    return user.cadre


def test_household_assignment_list_is_scoped(world):
    h1 = world.households["H1"]
    for role in ("county_staff", "township_staff", "first_secretary", "helper"):
        rows = world.client(role).get("/api/v1/household-assignments/").data["results"]
        assert [(row["household"], row["cadre_name"]) for row in rows] == [(h1.pk, "帮扶人杨")]
    assert world.client("other_county").get("/api/v1/household-assignments/").data["results"] == []
    assignment = HouseholdAssignment.objects.get()
    assert world.client("other_county").get(f"/api/v1/household-assignments/{assignment.pk}/").status_code == 404


def test_township_staff_hands_a_household_to_another_helper(world, second_helper):
    h1 = world.households["H1"]
    tomorrow = TODAY + dt.timedelta(days=1)
    response = world.client("township_staff").post(
        "/api/v1/household-assignments/",
        {"household": h1.pk, "cadre": second_helper.pk, "starts_on": tomorrow.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["cadre_name"] == "帮扶人吴"
    previous = HouseholdAssignment.objects.get(cadre=world.users["helper"].cadre)
    assert previous.ends_on == TODAY
    assert (
        HouseholdAssignment.objects.get(cadre=second_helper).history.first().history_user
        == world.users["township_staff"]
    )


@pytest.mark.parametrize(
    ("target", "field", "message"),
    [
        ("H4", "household", "不存在或不在您的辖区内"),
        ("not_a_helper", "cadre", "没有“帮扶责任人”角色"),
        ("same_day", "starts_on", "新的帮扶开始日期须晚于原帮扶责任人的开始日期。"),
    ],
)
def test_refused_helper_assignment_names_the_field_and_saves_nothing(world, second_helper, target, field, message):
    household = world.households["H4" if target == "H4" else "H1"]
    cadre = world.users["first_secretary"].cadre if target == "not_a_helper" else second_helper
    before = list(HouseholdAssignment.objects.values_list("pk", "ends_on"))
    response = world.client("county_staff").post(
        "/api/v1/household-assignments/", {"household": household.pk, "cadre": cadre.pk}, format="json"
    )
    assert response.status_code == 400
    assert message in response.data[field][0], response.data
    assert list(HouseholdAssignment.objects.values_list("pk", "ends_on")) == before


@pytest.mark.parametrize("role", ["first_secretary", "helper", "supervisor"])
def test_others_cannot_assign_helpers(world, second_helper, role):
    before = HouseholdAssignment.objects.count()
    response = world.client(role).post(
        "/api/v1/household-assignments/",
        {"household": world.households["H1"].pk, "cadre": second_helper.pk},
        format="json",
    )
    assert response.status_code == 403
    assert HouseholdAssignment.objects.count() == before


def test_helper_assignments_are_not_deleted(world):
    assignment = HouseholdAssignment.objects.get()
    assert world.client("county_staff").delete(f"/api/v1/household-assignments/{assignment.pk}/").status_code == 405
    assert HouseholdAssignment.objects.filter(pk=assignment.pk).exists()
