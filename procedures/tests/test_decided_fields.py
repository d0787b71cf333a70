"""Status, identified year and exit year are written only by decisions (DOMAIN.md §5): every other path that could
write them — the API's PATCH and PUT, the admin form, an Excel update — refuses them, naming the field, and writes
nothing; registration (API, admin, import) records the ``registered`` decision with its source."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from households.excel_columns import HOUSEHOLD_SHEET
from households.imports.runner import import_workbook
from households.models import Household
from households.services import DECIDED_FIELD_MESSAGE
from households.tests import (
    HA,
    ROW_OF_HA,
    build_import_world,
    error_at,
    good_sheets,
    registry_counts,
    write_workbook,
)
from households.tests.test_admin import post_data
from procedures.choices import DecisionKind, DecisionSource
from procedures.models import Decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def import_world(django_capture_on_commit_callbacks):
    """The Excel import tests' world (households/tests), as if committed."""
    with django_capture_on_commit_callbacks(execute=True):
        return build_import_world()


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def household_state(household: Household) -> tuple:
    household.refresh_from_db()
    return household.status, household.identified_year, household.exit_year, household.history.count()


@pytest.mark.parametrize(
    "change",
    [{"status": "exited", "exit_year": 2020}, {"status": "exited"}, {"exit_year": 2020}, {"identified_year": 2014}],
)
def test_an_api_patch_of_a_decided_field_is_refused_naming_it(cast, change):
    household = cast.household
    before = household_state(household)

    response = api(cast.luanchuan_clerk).patch(f"/api/v1/households/{household.pk}/", change, format="json")

    assert response.status_code == 400
    assert set(response.json()) == set(change)
    assert all(messages == [DECIDED_FIELD_MESSAGE] for messages in response.json().values())
    assert household_state(household) == before


def test_an_api_put_that_changes_the_status_is_refused_and_writes_nothing(cast):
    household = cast.household
    client = api(cast.luanchuan_clerk)
    body = client.get(f"/api/v1/households/{household.pk}/").json()
    before = household_state(household)
    body["status"] = "exited"
    body["exit_year"] = 2020
    body["address"] = "改过的地址"

    response = client.put(f"/api/v1/households/{household.pk}/", body, format="json")

    assert response.status_code == 400
    assert {"status", "exit_year"} <= set(response.json())
    assert household_state(household) == before
    assert household.address != "改过的地址"


def test_a_registration_through_the_api_records_its_decision(cast):
    body = {
        "household_number": f"{cast.village.code}7001",
        "village": cast.village.pk,
        "identified_year": 2016,
        "status": "in_poverty",
        "primary_cause": "illness",
        "members": [{"name": "刘春华", "id_number": "410324196803140017", "relation": "head"}],
    }

    response = api(cast.luanchuan_clerk).post("/api/v1/households/", body, format="json")

    assert response.status_code == 201, response.json()
    decision = Decision.objects.get(household_id=response.json()["id"])
    assert (decision.kind, decision.source, decision.decided_by) == (
        DecisionKind.REGISTERED,
        DecisionSource.API,
        cast.luanchuan_clerk,
    )


def test_the_admin_form_shows_the_decided_fields_read_only_and_ignores_them(client, cast):
    household = cast.household
    client.force_login(cast.luanchuan_clerk)
    url = reverse("admin:households_household_change", args=[household.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    assert not {"status", "identified_year", "exit_year"} & set(form.fields)
    data = post_data(page)
    data.update({"status": "exited", "exit_year": "2020", "identified_year": "2014"})
    before = household_state(household)[:3]

    response = client.post(url, data)

    assert response.status_code == 302
    assert household_state(household)[:3] == before


def test_the_admin_add_form_registers_with_a_form_decision(client, cast):
    client.force_login(cast.luanchuan_clerk)
    add_url = reverse("admin:households_household_add")
    page = client.get(add_url)
    assert {"status", "identified_year"} <= set(page.context["adminform"].form.fields)
    data = post_data(page)
    data.update(
        {
            "household_number": f"{cast.village.code}7002",
            "village": str(cast.village.pk),
            "identified_year": "2016",
            "status": "in_poverty",
            "primary_cause": "illness",
            "members-0-name": "陈国庆",
            "members-0-id_number": "410324196803140017",
            "members-0-relation": "head",
            "members-0-work_months": "0",
            "members-0-is_active": "on",
        }
    )

    response = client.post(add_url, data)

    assert response.status_code == 302
    household = Household.objects.get(household_number=f"{cast.village.code}7002")
    assert household.decisions.get().source == DecisionSource.FORM


def test_an_excel_update_that_changes_the_status_is_a_cell_error(import_world, tmp_path):
    first = write_workbook(tmp_path / "first.xlsx", good_sheets())
    assert import_workbook(first, user=import_world.users["county_clerk"], commit=True).ok
    assert Decision.objects.filter(household__household_number=HA, source=DecisionSource.IMPORT).count() == 1
    sheets = good_sheets()
    sheets[HOUSEHOLD_SHEET][ROW_OF_HA - 2]["status"] = "已脱贫"
    sheets[HOUSEHOLD_SHEET][ROW_OF_HA - 2]["exit_year"] = 2020
    second = write_workbook(tmp_path / "second.xlsx", sheets)
    before = registry_counts()

    result = import_workbook(second, user=import_world.users["county_clerk"], commit=True)

    assert error_at(result, HOUSEHOLD_SHEET, ROW_OF_HA, "户状态").message == DECIDED_FIELD_MESSAGE
    assert error_at(result, HOUSEHOLD_SHEET, ROW_OF_HA, "脱贫年度").message == DECIDED_FIELD_MESSAGE
    assert registry_counts() == before
    assert Household.objects.get(household_number=HA).status == "in_poverty"


def test_re_importing_the_same_statuses_is_not_an_error(import_world, tmp_path):
    path = write_workbook(tmp_path / "file.xlsx", good_sheets())
    assert import_workbook(path, user=import_world.users["county_clerk"], commit=True).ok

    again = import_workbook(path, user=import_world.users["county_clerk"], commit=True)

    assert again.ok, again.errors
    assert Decision.objects.filter(kind=DecisionKind.REGISTERED, source=DecisionSource.IMPORT).count() == 2


def test_the_decision_log_is_listed_per_household_and_scoped(cast):
    from procedures import services

    services.household_remove(actor=cast.luanchuan_clerk, household=cast.household, reason="识别不准。")
    response = api(cast.luanchuan_clerk).get("/api/v1/decisions/", {"household": cast.household.pk})
    outsider = api(cast.songxian_clerk).get("/api/v1/decisions/", {"household": cast.household.pk})

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["household"], row["kind"], row["reason"]) == (cast.household.pk, "removed", "识别不准。")
    assert row["household_number"] == cast.household.household_number and len(row["hash"]) == 64
    assert outsider.status_code == 200 and outsider.json()["count"] == 0


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_decision_log_cannot_be_written_through_the_api(cast, method):
    from procedures import services

    decision = services.household_remove(actor=cast.luanchuan_clerk, household=cast.household, reason="识别不准。")
    decision_row = Decision.objects.get(household=decision)
    url = "/api/v1/decisions/" if method == "post" else f"/api/v1/decisions/{decision_row.pk}/"

    response = getattr(api(cast.city_admin), method)(url, {"reason": "改过"}, format="json")

    assert response.status_code == 405
    assert Decision.objects.get(pk=decision_row.pk).reason == "识别不准。"
