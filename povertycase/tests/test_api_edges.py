"""The API at its edges (issue 15, items 4 and 5): unique values raced past ``full_clean``, JSON errors for every
4xx/5xx under /api/, oversized and deeply nested bodies, the bounded search, the cap on members per household and
place filters that do not tell which places exist."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.validators import UniqueValidator

from households import services
from households.filtersets import HouseholdFilterSet, household_search
from households.models import Household, IncomeRecord, Member
from testing.factories import HouseholdFactory, IncomeRecordFactory, MemberFactory, id_number_for

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def clerk(cast) -> APIClient:
    return client_for(cast.luanchuan_clerk)


def household_body(cast, number: str = "4103241002019001", *, members=None, incomes=None) -> dict:
    return {
        "household_number": number,
        "village": cast.village.pk,
        "address": "庄子村5组1号",
        "status": "in_poverty",
        "identified_year": 2016,
        "primary_cause": "illness",
        "members": members
        if members is not None
        else [
            {"name": "赵大山", "id_number": id_number_for(901), "relation": "head"},
            {"name": "赵小山", "id_number": id_number_for(902), "relation": "child"},
        ],
        "incomes": incomes or [],
    }


def the_check_misses(monkeypatch, model, method: str, when) -> list:
    """Simulate the race: the other request commits its row after this one's ``full_clean`` looked, so the
    uniqueness check (``method``) passes for ``when``'s rows and the database constraint fires on INSERT (an
    IntegrityError, not a ValidationError). The other request's row is written before the request (a row written
    during it would be rolled back with it); the check is skipped for the racing row."""
    skipped: list = []
    original = getattr(model, method)

    def check_that_misses(instance, *args, **kwargs):
        if instance.pk is None and when(instance):
            skipped.append(instance)
            return None
        return original(instance, *args, **kwargs)

    monkeypatch.setattr(model, method, check_that_misses)
    return skipped


def test_a_household_number_taken_meanwhile_is_a_400_naming_it(clerk, cast, monkeypatch):
    HouseholdFactory(village=cast.neighbour_village, household_number="4103241002019001")
    skipped = the_check_misses(monkeypatch, Household, "validate_unique", when=lambda h: True)
    monkeypatch.setattr(UniqueValidator, "__call__", lambda *args: None)  # the serializer's look, also passed

    response = clerk.post("/api/v1/households/", household_body(cast), format="json")

    assert skipped, "the race was not simulated"
    assert response.status_code == 400, response.content
    assert list(response.data) == ["household_number"]
    assert "户编号" in response.data["household_number"][0]
    assert Household.objects.filter(household_number="4103241002019001").count() == 1


def test_an_id_number_made_active_elsewhere_meanwhile_names_the_member(clerk, cast, monkeypatch):
    other = MemberFactory(household=HouseholdFactory(village=cast.village), id_number=id_number_for(902))
    skipped = the_check_misses(
        monkeypatch, Member, "validate_constraints", when=lambda m: m.id_number == id_number_for(902)
    )

    response = clerk.post("/api/v1/households/", household_body(cast), format="json")

    assert skipped, "the race was not simulated"
    assert response.status_code == 400, response.content
    assert response.data == {"members[1].id_number": [Member._meta.constraints[0].violation_error_message]}
    assert not Household.objects.filter(household_number="4103241002019001").exists()
    assert Member.objects.get(id_number=id_number_for(902)) == other


def test_an_income_year_written_meanwhile_names_the_income(cast):
    """A PUT's service finds no 2021 row, the other request commits one, this INSERT fails: the mapping from the
    database's error (SQLite's or PostgreSQL's) and the body to ``incomes[1].year``."""
    from django.db import IntegrityError, transaction

    from households.api.views import HouseholdViewSet
    from povertycase.api.errors import integrity_error_detail

    household = cast.household
    IncomeRecordFactory(household=household, year=2021)  # the other request's row, committed
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        IncomeRecord.objects.create(household=household, year=2021)
    view = HouseholdViewSet(kwargs={"pk": str(household.pk)}, action="update")
    body = {"incomes": [{"year": 2020}, {"year": 2021}]}

    assert integrity_error_detail(excinfo.value, view=view, data=body) == {
        "incomes[1].year": ["该户此年度已有收入记录，每户每年只能有一条。"]
    }
    # Another household's 2021 row is no clash of this one: the error is then named by the list, not a row.
    assert integrity_error_detail(excinfo.value, view=view, data={"incomes": [{"year": 2020}]}) == {
        "incomes": ["该户此年度已有收入记录，每户每年只能有一条。"]
    }


def test_an_unknown_integrity_error_stays_a_500_in_json(cast, monkeypatch):
    from django.db import IntegrityError

    def broken(*args, **kwargs):
        raise IntegrityError("NOT NULL constraint failed: somewhere.else")

    monkeypatch.setattr(services, "household_create", broken)
    client = Client(raise_request_exception=False)
    client.force_login(cast.luanchuan_clerk)

    response = client.post("/api/v1/households/", household_body(cast), content_type="application/json")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "服务器内部错误" in response.json()["detail"]


def test_service_constraint_errors_are_keyed_by_the_field(clerk, cast):
    MemberFactory(household=HouseholdFactory(village=cast.village), id_number=id_number_for(902), relation="head")
    incomes = [{"year": 2020, "wage_income": "1"}, {"year": 2020, "wage_income": "2"}]

    response = clerk.post("/api/v1/households/", household_body(cast, incomes=incomes), format="json")

    assert response.status_code == 400
    assert "members[1].id_number" in response.data, response.data
    assert "incomes[1].year" in response.data, response.data
    assert not any(key.endswith("__all__") or key == "members[1]" for key in response.data)


# --- 2. JSON for every 4xx/5xx under /api/ ---------------------------------------------------------------------------


def test_an_unknown_api_url_is_a_json_404(cast):
    client = Client()
    client.force_login(cast.luanchuan_clerk)

    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "未找到该接口地址。"}


def test_an_unknown_page_outside_the_api_stays_html(cast):
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_an_oversized_body_is_a_json_413(clerk, cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = household_body(cast) | {"address": "号" * 20_000}

    response = clerk.post("/api/v1/households/", body, format="json")

    assert response.status_code == 413
    assert "上限" in response.data["detail"]
    assert not Household.objects.filter(household_number="4103241002019001").exists()


def test_an_oversized_form_body_under_the_api_is_a_json_413(cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client = Client()

    response = client.post("/api/v1/auth/token/", {"username": "x" * 5_000, "password": "y"})

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "上限" in response.json()["detail"]


def test_deeply_nested_json_is_a_400_not_a_500(clerk):
    response = clerk.generic("POST", "/api/v1/households/", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": ["JSON 嵌套层级过深。"]}


# --- 3. bounded search -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (" ".join(f"词{n}" for n in range(11)), "最多10个"),
        ("王 芳", "至少2个字符"),
        ("7", "至少2个字符"),
        ("王" * 201, "200"),
    ],
)
def test_a_search_over_the_bounds_is_refused_naming_q(clerk, q, message):
    response = clerk.get("/api/v1/households/", {"q": q})

    assert response.status_code == 400
    assert list(response.data) == ["q"]
    assert message in response.data["q"][0]


def test_the_field_page_answers_a_refused_search_without_a_500_or_the_whole_register(cast):
    client = Client()
    client.force_login(cast.secretary)
    number = cast.household.household_number

    refused = client.get("/", {"q": " ".join(["庄子"] * 2_000)})
    found = client.get("/", {"q": number})

    assert (refused.status_code, found.status_code) == (200, 200)
    assert number not in refused.content.decode()
    assert number in found.content.decode()


def test_a_search_within_the_bounds_still_finds(clerk, cast):
    head = cast.household.members.get(relation="head")

    response = clerk.get("/api/v1/households/", {"q": f"{head.name} {head.id_number[-4:]}"})

    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [cast.household.pk]


def test_the_filterset_reports_the_bound_and_household_search_cuts_instead_of_raising(cast):
    words = " ".join(["庄子"] * 2_000)
    filterset = HouseholdFilterSet({"q": words}, queryset=Household.objects.all())

    assert not filterset.is_valid()
    assert "最多10个" in filterset.errors["q"][0]
    assert not filterset.qs.exists()  # the field page lists nothing rather than every household
    sql = str(household_search(Household.objects.all(), words).query)
    assert sql.count("EXISTS") == 10


# --- 4. members per household ----------------------------------------------------------------------------------------


def test_more_members_than_the_cap_are_refused_by_the_api(clerk, cast, settings):
    settings.HOUSEHOLD_MAX_MEMBERS = 3
    members = [{"name": "赵大山", "id_number": id_number_for(900), "relation": "head"}] + [
        {"name": f"赵{n}", "id_number": id_number_for(910 + n), "relation": "child"} for n in range(3)
    ]

    response = clerk.post("/api/v1/households/", household_body(cast, members=members), format="json")

    assert response.status_code == 400
    assert response.data == {"members": ["每户成员最多3人，本次提交了4人。"]}
    assert not Household.objects.filter(household_number="4103241002019001").exists()


def test_the_cap_holds_for_a_replace_and_the_default_is_30(cast, settings):
    assert settings.HOUSEHOLD_MAX_MEMBERS == 30
    settings.HOUSEHOLD_MAX_MEMBERS = 1
    household = cast.household
    members = [{"name": m.name, "id_number": m.id_number, "relation": m.relation} for m in household.members.all()] + [
        {"name": "新成员", "id_number": id_number_for(950), "relation": "child"}
    ]

    with pytest.raises(ValidationError) as excinfo:
        services.household_replace(user=None, household=household, members=members, incomes=[])

    assert list(excinfo.value.message_dict) == ["members"]
    assert "最多1人" in excinfo.value.message_dict["members"][0]
    assert not Member.objects.filter(id_number=id_number_for(950)).exists()


# --- 5. place filters do not probe for existence ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["village_id", "township_id", "county_id"])
def test_an_out_of_scope_place_answers_like_a_missing_one(cast, name):
    client = client_for(cast.songxian_clerk)  # 嵩县: 栾川县's places are out of scope
    place = {"village_id": cast.village, "township_id": cast.chengguan, "county_id": cast.luanchuan}[name]

    out_of_scope = client.get("/api/v1/households/", {name: place.pk})
    missing = client.get("/api/v1/households/", {name: 999_999})

    assert (out_of_scope.status_code, missing.status_code) == (200, 200)
    assert out_of_scope.data["results"] == missing.data["results"] == []
    assert out_of_scope.data["count"] == missing.data["count"] == 0


def test_a_place_filter_still_filters_and_refuses_a_non_number(clerk, cast):
    found = clerk.get("/api/v1/households/", {"village_id": [cast.village.pk, 999_999]})
    elsewhere = clerk.get("/api/v1/households/", {"village_id": cast.neighbour_village.pk})
    invalid = clerk.get("/api/v1/households/", {"village_id": "abc"})

    assert cast.household.pk in [row["id"] for row in found.data["results"]]
    assert cast.household.pk not in [row["id"] for row in elsewhere.data["results"]]
    assert invalid.status_code == 400
    assert "village_id" in json.loads(invalid.content)


# --- 1, for real: two connections on PostgreSQL ----------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("migrated_data_restored")
@pytest.mark.parametrize("clash", ["household_number", "members[1].id_number"])
def test_two_real_connections_racing_for_a_unique_value_get_a_400(require_services, clash):
    """The other request inserts the same value and holds its transaction open: this request's checks do not see
    the uncommitted row, its INSERT waits for the other's commit, then fails in the database."""
    import threading
    import time

    from django.db import connections, transaction

    from testing.cast import build_cast

    if connection.vendor != "postgresql":
        require_services("two concurrent transactions need PostgreSQL")
    cast = build_cast()
    body = household_body(cast)
    inserted = threading.Event()
    errors: list[Exception] = []

    def the_other_request() -> None:
        try:
            with transaction.atomic():
                if clash == "household_number":
                    HouseholdFactory(village=cast.village, household_number=body["household_number"])
                else:
                    MemberFactory(household=HouseholdFactory(village=cast.village), id_number=id_number_for(902))
                inserted.set()
                time.sleep(1.0)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    other = threading.Thread(target=the_other_request)
    other.start()
    assert inserted.wait(10)
    response = client_for(cast.luanchuan_clerk).post("/api/v1/households/", body, format="json")
    other.join()

    assert errors == []
    assert response.status_code == 400, response.content
    assert list(response.data) == [clash]
    assert Household.objects.filter(household_number=body["household_number"]).count() == (
        1 if clash == "household_number" else 0
    )
