"""Who may do what, where, over the API: a generated matrix of roles × objects × actions.

Four households stand in the tree: H1 in village V1 and H2 in village V2 (both township T1 of 栾川县),
H3 in township T2 of 栾川县, H4 in 嵩县. Each role is bound to one place. For every cell the expected answer
is written out below by hand (not derived from the code under test), and every refused write is checked to
have changed nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from rest_framework.test import APIClient

from assistance import services as assistance_services
from households.idcard import build_id_number
from households.models import Household, Member
from testing.cast import build_people, build_places
from testing.factories import HouseholdFactory, MemberFactory, city_admin_user

pytestmark = pytest.mark.django_db

ROLES = ["county_staff", "township_staff", "first_secretary", "helper", "supervisor", "no_role", "other_county"]
HOUSEHOLDS = ["H1", "H2", "H3", "H4"]

# Which households each role sees (list and retrieve).
VISIBLE = {
    "county_staff": {"H1", "H2", "H3"},
    "township_staff": {"H1", "H2"},
    "first_secretary": {"H1"},
    "helper": {"H1"},
    "supervisor": {"H1", "H2", "H3", "H4"},
    "no_role": set(),
    "other_county": {"H4"},
}
# Roles allowed to change a household they see; to create one in a village they reach.
MAY_CHANGE = {"county_staff", "township_staff", "first_secretary", "helper", "other_county"}
MAY_CREATE = {"county_staff", "township_staff", "first_secretary", "other_county"}
# Nobody but a superuser deletes a household (a wrongly registered household is set to `removed`).
MAY_DELETE: set[str] = set()


@pytest.fixture
def world(db):
    """The shared cast's places and people (testing/cast.py), but households of its own, one in each village with
    one member (the cast's household has three): the helper helps H1."""
    places = build_places()
    people = build_people(places)
    households = {}
    for index, (name, village) in enumerate(zip(HOUSEHOLDS, places.villages.values(), strict=True)):
        household = HouseholdFactory(village=village, household_number=f"H{index + 1}-{village.code}")
        MemberFactory(household=household)
        households[name] = household
    users = {
        "county_staff": people["luanchuan_clerk"],
        "township_staff": people["township_clerk"],
        "first_secretary": people["secretary"],
        "helper": people["helper"],
        "supervisor": people["supervisor"],
        "no_role": people["nobody"],
        "other_county": people["songxian_clerk"],
    }
    assistance_services.household_assign_helper(
        actor=city_admin_user(), household=households["H1"], cadre=users["helper"].cadre
    )
    return {"households": households, "villages": places.villages, "users": users}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_household_list_shows_exactly_the_roles_jurisdiction(world, role):
    response = client_for(world["users"][role]).get("/api/v1/households/", {"page_size": 100})
    if role == "no_role":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    seen = {row["household_number"] for row in response.data["results"]}
    expected = {world["households"][h].household_number for h in VISIBLE[role]}
    assert seen == expected


@pytest.mark.parametrize(("role", "target"), list(itertools.product(ROLES, HOUSEHOLDS)))
def test_household_retrieve(world, role, target):
    household = world["households"][target]
    response = client_for(world["users"][role]).get(f"/api/v1/households/{household.pk}/")
    if role == "no_role":
        assert response.status_code == 403
    elif target in VISIBLE[role]:
        assert response.status_code == 200
        assert response.data["household_number"] == household.household_number
        assert [m["name"] for m in response.data["members"]] == [m.name for m in household.members.all()]
    else:
        assert response.status_code == 404  # not 403: existence does not leak


@pytest.mark.parametrize(("role", "target"), list(itertools.product(ROLES, HOUSEHOLDS)))
def test_household_update(world, role, target):
    household = world["households"][target]
    before = Household.objects.get(pk=household.pk).address
    response = client_for(world["users"][role]).patch(
        f"/api/v1/households/{household.pk}/", {"address": "新地址1号"}, format="json"
    )
    after = Household.objects.get(pk=household.pk).address
    if role in MAY_CHANGE and target in VISIBLE[role]:
        assert response.status_code == 200, response.data
        assert after == "新地址1号"
        assert household.history.first().history_user == world["users"][role]
    else:
        assert response.status_code in (403, 404)
        if role not in ("no_role", "supervisor") and target not in VISIBLE[role]:
            assert response.status_code == 404
        assert after == before


@pytest.mark.parametrize(("role", "target"), list(itertools.product(ROLES, HOUSEHOLDS)))
def test_household_delete(world, role, target):
    household = world["households"][target]
    response = client_for(world["users"][role]).delete(f"/api/v1/households/{household.pk}/")
    assert role not in MAY_DELETE
    assert response.status_code in (403, 404)
    assert Household.objects.filter(pk=household.pk).exists()
    assert Member.objects.filter(household=household).count() == 1


def _new_household_payload(village, number: str) -> dict:
    return {
        "household_number": number,
        "village": village.pk,
        "identified_year": 2015,
        "primary_cause": "illness",
        "members": [
            {
                "name": "李建国",
                "id_number": build_id_number(village.county.code, dt.date(1970, 1, 1), 123),
                "relation": "head",
            }
        ],
        "incomes": [{"year": 2020, "wage_income": "9000.00"}],
    }


@pytest.mark.parametrize(("role", "village_name"), list(itertools.product(ROLES, ["V1", "V2", "V3", "V4"])))
def test_household_create_in_a_village(world, role, village_name):
    village = world["villages"][village_name]
    reaches = {
        "county_staff": {"V1", "V2", "V3"},
        "township_staff": {"V1", "V2"},
        "first_secretary": {"V1"},
        "helper": set(),
        "supervisor": {"V1", "V2", "V3", "V4"},
        "no_role": set(),
        "other_county": {"V4"},
    }[role]
    households_before, members_before = Household.objects.count(), Member.objects.count()
    response = client_for(world["users"][role]).post(
        "/api/v1/households/", _new_household_payload(village, f"NEW-{village.code}"), format="json"
    )
    if role in MAY_CREATE and village_name in reaches:
        assert response.status_code == 201, response.data
        created = Household.objects.get(household_number=f"NEW-{village.code}")
        assert created.village == village
        assert created.members.get().gender == "male"
        assert created.incomes.get().year == 2020
        return
    if role in MAY_CREATE:
        assert response.status_code == 400
        assert "village" in response.data  # an out-of-scope village is refused as unknown
    else:
        assert response.status_code == 403
    assert (Household.objects.count(), Member.objects.count()) == (households_before, members_before)


@pytest.mark.parametrize("role", ["county_staff", "township_staff"])
def test_moving_a_household_out_of_the_jurisdiction_is_refused(world, role):
    household = world["households"]["H1"]
    response = client_for(world["users"][role]).patch(
        f"/api/v1/households/{household.pk}/", {"village": world["villages"]["V4"].pk}, format="json"
    )
    assert response.status_code == 400
    assert "village" in response.data
    household.refresh_from_db()
    assert household.village == world["villages"]["V1"]


@pytest.mark.parametrize(("role", "target"), list(itertools.product(ROLES, HOUSEHOLDS)))
def test_member_and_income_lists_follow_the_household_scope(world, role, target):
    household = world["households"][target]
    client = client_for(world["users"][role])
    members = client.get("/api/v1/members/", {"household": household.pk})
    incomes = client.get("/api/v1/incomes/", {"household": household.pk})
    if role == "no_role":
        assert members.status_code == incomes.status_code == 403
        return
    expected = 1 if target in VISIBLE[role] else 0
    assert members.data["count"] == expected
    assert incomes.status_code == 200


@pytest.mark.parametrize(("role", "target"), list(itertools.product(ROLES, HOUSEHOLDS)))
def test_member_update_is_refused_outside_the_scope_and_changes_nothing(world, role, target):
    member = world["households"][target].members.get()
    response = client_for(world["users"][role]).patch(
        f"/api/v1/members/{member.pk}/", {"school_status": "dropout"}, format="json"
    )
    member.refresh_from_db()
    if role in MAY_CHANGE and target in VISIBLE[role]:
        assert response.status_code == 200, response.data
        assert member.school_status == "dropout"
    else:
        assert response.status_code in (403, 404)
        assert member.school_status == "not_applicable"


@pytest.mark.parametrize(("role", "target"), list(itertools.product(ROLES, HOUSEHOLDS)))
def test_eligibility_endpoints_follow_the_scope(world, role, target):
    household = world["households"][target]
    client = client_for(world["users"][role])
    assess = client.post(f"/api/v1/households/{household.pk}/assess/", {"year": 2020}, format="json")
    if role == "no_role":
        assert assess.status_code == 403
    elif target in VISIBLE[role]:
        assert assess.status_code == 200
        assert [c["criterion"] for c in assess.data["criteria"]] == [
            "income",
            "food",
            "clothing",
            "education",
            "medical",
            "housing",
            "water",
        ]
        got = client.get(f"/api/v1/households/{household.pk}/eligibility/", {"year": 2020})
        assert got.status_code == 200
        assert got.data == assess.data
    else:
        assert assess.status_code == 404
