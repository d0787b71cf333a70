"""The OpenAPI 3 schema at /api/schema/ (drf-spectacular): valid, generated without warnings, and listing
every resource of the API."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = [
    "/api/v1/auth/token/",
    "/api/v1/households/",
    "/api/v1/households/{id}/",
    "/api/v1/households/{id}/eligibility/",
    "/api/v1/households/{id}/assess/",
    "/api/v1/households/{id}/history/",
    "/api/v1/members/",
    "/api/v1/members/{id}/",
    "/api/v1/incomes/",
    "/api/v1/incomes/{id}/",
    "/api/v1/counties/",
    "/api/v1/counties/{id}/",
    "/api/v1/townships/",
    "/api/v1/townships/{id}/",
    "/api/v1/villages/",
    "/api/v1/villages/{id}/",
    "/api/v1/poverty-lines/",
    "/api/v1/poverty-lines/{id}/",
    "/api/v1/assessments/",
    "/api/v1/assessments/{id}/",
    "/api/v1/cadres/",
    "/api/v1/cadres/{id}/",
    "/api/v1/assignments/",
    "/api/v1/assignments/{id}/",
    "/api/v1/assignments/{id}/end/",
    "/api/v1/household-assignments/",
    "/api/v1/household-assignments/{id}/",
    "/api/v1/units/",
    "/api/v1/units/{id}/",
]


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema


@pytest.mark.parametrize("path", EXPECTED_PATHS)
def test_schema_lists_every_resource(schema, path):
    assert path in schema["paths"]


def _properties(schema: dict, component: str) -> dict:
    return schema["components"]["schemas"][component]["properties"]


def test_cadre_password_is_write_only_and_never_in_a_response(schema):
    assert _properties(schema, "CadreCreateRequest")["password"]["writeOnly"] is True
    assert "password" not in _properties(schema, "Cadre")
    created = schema["paths"]["/api/v1/cadres/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Cadre"


def test_village_update_body_has_only_the_editable_fields(schema):
    editable = set(_properties(schema, "PatchedVillageRequest"))
    assert {"has_hardened_road", "registered_population", "collective_income_yuan", "exit_year"} <= editable
    assert not editable & {"code", "name", "township", "county", "exit_check"}


def test_exit_checks_are_described(schema):
    for component in ("Village", "CountyDetail"):
        assert _properties(schema, component)["exit_check"]["allOf"] == [{"$ref": "#/components/schemas/ExitCheck"}]
    assert _properties(schema, "TownshipDetail")["incidence"]["allOf"] == [{"$ref": "#/components/schemas/Incidence"}]
    assert set(_properties(schema, "ExitCheck")) == {
        "incidence",
        "poor_people",
        "registered_population",
        "eligible",
        "missing",
    }


def test_resources_without_delete_offer_none(schema):
    for path in ("/api/v1/cadres/{id}/", "/api/v1/assignments/{id}/", "/api/v1/villages/{id}/", "/api/v1/units/{id}/"):
        assert "delete" not in schema["paths"][path]
    assert set(schema["paths"]["/api/v1/assessments/{id}/"]) - {"parameters"} == {"get"}


def test_schema_generation_has_no_warnings(tmp_path):
    # The same check as CI: ``manage.py spectacular --validate --fail-on-warn``.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text(encoding="utf-8").startswith("openapi: 3.")
