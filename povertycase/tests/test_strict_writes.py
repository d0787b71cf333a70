"""Strict writes (issue 11): a key an API write does not take is refused with 400 naming it, never silently dropped.

A misspelt field (``{"staus": "exited"}``) used to answer 200 and write a history row. Now every write of the API,
nested rows included (``members[1].staus``), refuses unknown keys (未知字段) and read-only ones (该字段只读), and
writes nothing; a read-only value equal to the stored one is accepted, so that a client may PUT back what it read.
Multipart uploads and query parameters are not affected.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from PIL import Image
from rest_framework import serializers
from rest_framework.test import APIClient

from assistance.models import Visit
from households.models import Household, ImportJob
from povertycase.api.serializers import READ_ONLY_FIELD, UNKNOWN_FIELD, StrictFieldsMixin
from procedures.choices import Kind, State
from procedures.models import Application
from testing.factories import (
    ApplicationFactory,
    HouseholdMeasureFactory,
    IncomeRecordFactory,
    MicroLoanFactory,
    PovertyLineFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def rows_everywhere() -> dict[str, int]:
    """Row counts of every model (history and logs included): a refused write changes none of them."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def household_url(household: Household) -> str:
    return f"/api/v1/households/{household.pk}/"


@pytest.fixture
def household(cast):
    """The cast's 王建国 household with an income record, as the county clerk of 栾川县 reads it."""
    IncomeRecordFactory(household=cast.household, year=2020, wage_income=Decimal("9000.00"))
    return cast.household


@pytest.fixture
def clerk(cast) -> APIClient:
    return client_for(cast.luanchuan_clerk)


# --- unknown and read-only keys --------------------------------------------------------------------------------


def test_a_misspelt_status_is_refused_naming_it_and_nothing_is_written(clerk, household):
    before, history = rows_everywhere(), household.history.count()

    response = clerk.patch(household_url(household), {"staus": "exited"}, format="json")

    assert response.status_code == 400
    assert response.data == {"staus": [UNKNOWN_FIELD]}
    assert UNKNOWN_FIELD.startswith("未知字段")
    assert rows_everywhere() == before
    assert household.history.count() == history
    assert Household.objects.get(pk=household.pk).status == household.status


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        pytest.param("household", {"village_name": "别的村"}, "village_name", id="household-village-name"),
        pytest.param("household", {"head_name": "李四"}, "head_name", id="household-head-name"),
        pytest.param("member", {"gender": "female"}, "gender", id="member-gender"),
        pytest.param("member", {"birth_date": "1980-01-01"}, "birth_date", id="member-birth-date"),
        pytest.param("income", {"net_income": "99999.00"}, "net_income", id="income-net"),
    ],
)
def test_a_changed_read_only_field_is_refused_and_nothing_is_written(clerk, household, url, body, field):
    target = {
        "household": household_url(household),
        "member": f"/api/v1/members/{household.members.get(relation='head').pk}/",
        "income": f"/api/v1/incomes/{household.incomes.get().pk}/",
    }[url]
    before = rows_everywhere()

    response = clerk.patch(target, body, format="json")

    assert response.status_code == 400
    assert response.data == {field: [READ_ONLY_FIELD]}
    assert READ_ONLY_FIELD == "该字段只读，不能修改。"
    assert rows_everywhere() == before


def test_unknown_keys_are_reported_with_the_bodys_other_errors(clerk, household):
    response = clerk.patch(
        household_url(household), {"staus": "exited", "house_safety_grade": "Z", "address": "新址"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.data) == {"staus", "house_safety_grade"}
    assert response.data["staus"] == [UNKNOWN_FIELD]
    assert Household.objects.get(pk=household.pk).address == household.address


def test_a_serializers_own_message_for_a_field_it_guards_wins_over_read_only(cast):
    village = cast.village
    response = client_for(cast.luanchuan_clerk).patch(
        f"/api/v1/villages/{village.pk}/", {"code": "410324100299", "staus": 1}, format="json"
    )

    assert response.status_code == 400
    assert "村代码不能在此修改" in response.data["code"][0]
    assert response.data["staus"] == [UNKNOWN_FIELD]
    village.refresh_from_db()
    assert village.code == "410324100201"


def test_a_read_only_field_given_on_creation_is_refused(clerk, cast):
    body = {
        "household_number": "4103241002019001",
        "village": cast.village.pk,
        "address": "庄子村5组1号",
        "status": "in_poverty",
        "identified_year": 2016,
        "primary_cause": "illness",
        "created_at": "2016-01-01T00:00:00+08:00",
        "members": [{"name": "赵大山", "id_number": "410324198001010019", "relation": "head"}],
    }
    before = rows_everywhere()

    response = clerk.post("/api/v1/households/", body, format="json")

    assert response.status_code == 400
    assert response.data == {"created_at": [READ_ONLY_FIELD]}
    assert rows_everywhere() == before


# --- nested rows ----------------------------------------------------------------------------------------------


def read_back(clerk, household) -> dict:
    response = clerk.get(household_url(household))
    assert response.status_code == 200
    return response.json()


def test_unknown_keys_in_nested_rows_are_named_by_row_and_nothing_is_written(clerk, household):
    body = read_back(clerk, household)
    body["members"][1]["staus"] = "left"
    body["incomes"][0]["wage"] = "1.00"
    body["address"] = "庄子村3组16号"
    before = rows_everywhere()

    response = clerk.put(household_url(household), body, format="json")

    assert response.status_code == 400
    assert response.data == {"members[1].staus": [UNKNOWN_FIELD], "incomes[0].wage": [UNKNOWN_FIELD]}
    assert rows_everywhere() == before


def test_a_put_echoing_back_what_get_returned_is_accepted(clerk, household):
    body = read_back(clerk, household)
    body["address"] = "庄子村3组16号"
    body["incomes"][0]["wage_income"] = "9500.00"

    response = clerk.put(household_url(household), body, format="json")

    assert response.status_code == 200, response.data
    household.refresh_from_db()
    assert household.address == "庄子村3组16号"
    assert household.incomes.get().wage_income == Decimal("9500.00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda b: b.update(village_code="410324100202"), "village_code", id="top-level"),
        pytest.param(lambda b: b.update(id=b["id"] + 1000), "id", id="top-level-id"),
        pytest.param(lambda b: b["members"][2].update(gender="female"), "members[2].gender", id="member"),
        pytest.param(lambda b: b["incomes"][0].update(net_income="1.00"), "incomes[0].net_income", id="income"),
    ],
)
def test_a_put_changing_a_read_only_value_it_read_is_refused(clerk, household, change, field):
    body = read_back(clerk, household)
    body["address"] = "庄子村3组16号"
    change(body)
    before = rows_everywhere()

    response = clerk.put(household_url(household), body, format="json")

    assert response.status_code == 400
    assert response.data == {field: [READ_ONLY_FIELD]}
    assert rows_everywhere() == before


def test_an_income_row_read_back_with_an_id_of_no_row_of_the_household_is_refused_in_full(clerk, household, cast):
    """An income row's ``id`` is read-only (rows are matched by year): an id that is not the household's own
    matches no stored row, so none of the row's read-only values can be an echo."""
    other = IncomeRecordFactory(household__village=cast.village, year=2020)
    body = read_back(clerk, household)
    body["incomes"][0]["id"] = other.pk
    before = rows_everywhere()

    response = clerk.put(household_url(household), body, format="json")

    assert response.status_code == 400
    assert set(response.data) == {"incomes[0].id", "incomes[0].net_income", "incomes[0].transfer_income"}
    assert all(messages == [READ_ONLY_FIELD] for messages in response.data.values())
    assert rows_everywhere() == before


def test_a_member_id_may_be_given_in_a_household_write_because_it_matches_the_rows(clerk, household):
    body = read_back(clerk, household)
    body["members"][0]["name"] = "王建民"

    response = clerk.put(household_url(household), body, format="json")

    assert response.status_code == 200, response.data
    assert household.members.get(pk=body["members"][0]["id"]).name == "王建民"
    assert household.members.count() == 3


# --- actions, uploads, query parameters ----------------------------------------------------------------------


def test_a_procedure_step_with_an_unknown_key_is_refused_nested_objection_included(cast, household):
    application = ApplicationFactory(household=household, kind=Kind.EXIT, state=State.VILLAGE_NOTICE)
    url = f"/api/v1/exit-applications/{application.pk}/transition/"
    before = rows_everywhere()

    response = client_for(cast.township_clerk).post(
        url,
        {"action": "object", "note": "x", "objection": {"text": "有车", "raised_by": "村民", "when": "昨天"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.data == {"note": [UNKNOWN_FIELD], "objection.when": [UNKNOWN_FIELD]}
    assert rows_everywhere() == before
    assert Application.objects.get(pk=application.pk).state == State.VILLAGE_NOTICE


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(buffer, format="PNG")
    return buffer.getvalue()


def visit_body(household, **extra) -> dict:
    photo = SimpleUploadedFile("visit.png", png(), content_type="image/png")
    body = {"household": household.pk, "visited_on": "2024-05-06", "purpose": "走访", "findings": "粮食充足"}
    return {**body, "photo": photo, **extra}


def test_a_multipart_visit_with_a_photo_is_accepted_and_an_unknown_key_refused(cast, household, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    secretary = client_for(cast.secretary)

    refused = secretary.post("/api/v1/visits/", visit_body(household, mood="好"), format="multipart")
    assert refused.status_code == 400
    assert refused.data == {"mood": [UNKNOWN_FIELD]}
    assert not Visit.objects.exists()

    # A browser form's CSRF token is transport, not data.
    accepted = secretary.post("/api/v1/visits/", visit_body(household, csrfmiddlewaretoken="token"), format="multipart")
    assert accepted.status_code == 201, accepted.data
    assert Visit.objects.get().photo.name.startswith("visits/")


def test_an_import_upload_with_an_unknown_form_key_is_refused(cast):
    workbook = SimpleUploadedFile("户档案.xlsx", b"PK\x03\x04", content_type="application/octet-stream")

    response = client_for(cast.luanchuan_clerk).post(
        "/api/v1/imports/", {"file": workbook, "sheet": "户"}, format="multipart"
    )

    assert response.status_code == 400
    assert response.data["sheet"] == [UNKNOWN_FIELD]
    assert not ImportJob.objects.exists()


def test_query_parameters_are_not_write_fields(cast, household):
    client = client_for(cast.luanchuan_clerk)

    compliance = client.get("/api/v1/compliance/", {"year": 2020, "page": 1, "format": "json"})
    households = client.get("/api/v1/households/", {"page_size": 10, "unknown_filter": "x"})
    eligibility = client.get(f"{household_url(household)}eligibility/", {"year": 2020, "extra": 1})

    assert compliance.status_code == 200, compliance.data
    assert households.status_code == 200 and households.data["count"] >= 1
    assert eligibility.status_code in (200, 404)  # 404: not assessed yet; never a 400 for the extra parameter


def test_the_mixin_reports_through_is_valid_without_raising():
    class Row(serializers.Serializer):
        amount = serializers.IntegerField()

    class Body(StrictFieldsMixin, serializers.Serializer):
        name = serializers.CharField()
        rows = Row(many=True)
        made = serializers.CharField(read_only=True)

    body = Body(data={"name": "x", "made": "y", "rows": [{"amount": 1}, {"amount": "z", "extra": 1}]})

    assert body.is_valid() is False
    assert body.errors["made"] == [READ_ONLY_FIELD]
    assert body.errors["rows"][1]["extra"] == [UNKNOWN_FIELD]
    assert "amount" in body.errors["rows"][1]  # the row's own error, merged with the refused key
    assert Body(data={"name": "x", "rows": [{"amount": 1}]}).is_valid() is True


# --- everywhere -------------------------------------------------------------------------------------------------

# The token endpoint is Django REST framework's own login form, not a write of our data.
NOT_A_DATA_WRITE = {"/api/v1/auth/token/"}


def write_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and path not in NOT_A_DATA_WRITE
    )


@pytest.fixture
def one_of_each(cast, household) -> dict[str, int]:
    """An object behind every ``{id}`` of the API's write paths, by the path's resource."""
    loan = MicroLoanFactory(household=household, borrower=household.members.get(relation="head"))
    return {
        "assignments": cast.secretary.cadre.roles.get().pk,
        "cadres": cast.secretary.cadre.pk,
        "counties": cast.luanchuan.pk,
        "townships": cast.chengguan.pk,
        "villages": cast.village.pk,
        "households": household.pk,
        "members": household.members.get(relation="head").pk,
        "incomes": household.incomes.get().pk,
        "poverty-lines": PovertyLineFactory().pk,
        "units": UnitFactory().pk,
        "measures": HouseholdMeasureFactory(household=household).pk,
        "loans": loan.pk,
        "exit-applications": ApplicationFactory(household=household).pk,
        "identification-applications": ApplicationFactory(
            household=household, kind=Kind.IDENTIFICATION, state=State.APPLIED
        ).pk,
    }


def test_every_write_of_the_api_refuses_an_unknown_key_and_writes_nothing(cast, one_of_each):
    operations = write_operations()
    assert len(operations) > 30  # the schema was read: every resource and action with a body
    root = client_for(cast.city_admin)

    for method, path in operations:
        resource = path.removeprefix("/api/v1/").split("/")[0]
        url = path.replace("{id}", str(one_of_each[resource])) if "{id}" in path else path
        before = rows_everywhere()

        response = root.generic(method, url, '{"zz_unknown": 1}', content_type="application/json")

        assert response.status_code == 400, (method, path, response.status_code, response.data)
        assert response.data.get("zz_unknown") == [UNKNOWN_FIELD], (method, path, response.data)
        assert rows_everywhere() == before, (method, path)
