"""The import and export endpoints (issue 7): who may do what, the dry-run report, the commit, downloads."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from assessments.models import Assessment
from assessments.selectors import current_assessment_year
from households.excel_columns import HOUSEHOLD_SHEET, INCOME_SHEET, MEMBER_SHEET
from households.models import Household, ImportJob, IncomeRecord, Member
from households.tests import HA, HB, ROW_OF_HA, good_sheets, registry_counts, write_workbook

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports/"
EXPORT = "/api/v1/households/export/"


def upload(world, tmp_path, role="county_clerk", sheets=None, name="栾川县贫困户.xlsx"):
    path = write_workbook(tmp_path / "upload.xlsx", sheets or good_sheets())
    file = SimpleUploadedFile(name, path.read_bytes())
    return world.client(role).post(IMPORTS, {"file": file}, format="multipart")


def uploaded(world, tmp_path, capture, **options) -> dict:
    """Upload and let the dry run go (it is dispatched after the commit); the job's report."""
    with capture(execute=True):
        response = upload(world, tmp_path, **options)
    assert response.status_code == 201, response.data
    assert response.data["status"] == "uploaded"  # the task runs once the upload is committed
    role = options.get("role", "county_clerk")
    return world.client(role).get(f"{IMPORTS}{response.data['id']}/").data


def commit(world, job_id: int, role="county_clerk"):
    return world.client(role).post(f"{IMPORTS}{job_id}/commit/")


def test_upload_dry_run_then_commit_writes_the_households(world, tmp_path, django_capture_on_commit_callbacks):
    job = uploaded(world, tmp_path, django_capture_on_commit_callbacks)

    assert (job["status"], job["progress"], job["error_count"], job["errors"]) == ("valid", 100, 0, [])
    assert (job["households"], job["members"], job["incomes"]) == (2, 5, 3)
    assert job["file_name"] == "栾川县贫困户.xlsx" and job["user"] == "lc_clerk"
    assert job["annotated_url"] is None and job["file_url"].endswith(f"/imports/{job['id']}/file/")
    assert not Household.objects.filter(household_number=HA).exists()

    with django_capture_on_commit_callbacks(execute=True):
        committed = commit(world, job["id"])

    assert committed.status_code == 200, committed.data
    assert committed.data["status"] == "committing"
    assert set(Household.objects.values_list("household_number", flat=True)) >= {HA, HB}
    detail = world.client("county_clerk").get(f"{IMPORTS}{job['id']}/").data
    assert detail["status"] == "committed" and "已导入" in detail["message"]
    assert (detail["households_created"], detail["members_created"], detail["incomes_created"]) == (2, 5, 3)


def test_the_report_names_sheet_row_and_column_and_links_the_annotated_copy(
    world, tmp_path, django_capture_on_commit_callbacks
):
    sheets = good_sheets()
    sheets[HOUSEHOLD_SHEET][0]["status"] = "贫困"

    report = uploaded(world, tmp_path, django_capture_on_commit_callbacks, sheets=sheets)

    assert report["status"] == "invalid"
    assert report["errors"] == [
        {"sheet": HOUSEHOLD_SHEET, "row": ROW_OF_HA, "column": "户状态", "column_letter": "G",
         "message": report["errors"][0]["message"]}
    ]  # fmt: skip
    assert "“贫困”不是可选值" in report["errors"][0]["message"]
    annotated = world.client("county_clerk").get(report["annotated_url"])
    assert annotated.status_code == 200
    assert "attachment" in annotated["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(annotated.streaming_content)))
    assert book[HOUSEHOLD_SHEET]["G2"].comment is not None
    original = world.client("county_clerk").get(report["file_url"])
    assert b"".join(original.streaming_content)[:2] == b"PK"


def test_commit_is_refused_on_an_invalid_job_and_nothing_is_written(
    world, tmp_path, django_capture_on_commit_callbacks
):
    sheets = good_sheets()
    sheets[INCOME_SHEET][0]["wage_income"] = -1
    job = uploaded(world, tmp_path, django_capture_on_commit_callbacks, sheets=sheets)
    before = registry_counts()

    with django_capture_on_commit_callbacks(execute=True):
        response = commit(world, job["id"])

    assert response.status_code == 400
    assert "校验未通过，不能导入" in response.data["non_field_errors"][0]
    assert registry_counts() == before
    assert ImportJob.objects.get(pk=job["id"]).status == ImportJob.Status.INVALID


def test_a_committed_job_is_not_committed_twice(world, tmp_path, django_capture_on_commit_callbacks):
    job = uploaded(world, tmp_path, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        commit(world, job["id"])

    response = commit(world, job["id"])

    assert response.status_code == 400 and "已导入" in response.data["non_field_errors"][0]
    assert Member.objects.filter(household__household_number=HA).count() == 3


def test_uploading_needs_the_right_to_add_households(world, tmp_path):
    response = upload(world, tmp_path, role="supervisor")

    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_only_xlsx_files_within_the_size_limit_are_accepted(world, tmp_path, settings):
    client = world.client("county_clerk")
    csv_file = SimpleUploadedFile("户.csv", "户编号\n1\n".encode())
    response = client.post(IMPORTS, {"file": csv_file}, format="multipart")
    assert response.status_code == 400 and ".xlsx" in response.data["file"][0]

    settings.IMPORT_MAX_BYTES = 1000
    response = upload(world, tmp_path)
    assert response.status_code == 400 and "文件过大" in response.data["file"][0]

    response = client.post(IMPORTS, {}, format="multipart")
    assert response.status_code == 400 and response.data["file"]
    assert not ImportJob.objects.exists()


def test_each_user_sees_their_own_imports_and_city_wide_users_all(world, tmp_path, django_capture_on_commit_callbacks):
    job = uploaded(world, tmp_path, django_capture_on_commit_callbacks)

    assert [j["id"] for j in world.client("county_clerk").get(IMPORTS).data["results"]] == [job["id"]]
    assert [j["id"] for j in world.client("supervisor").get(IMPORTS).data["results"]] == [job["id"]]
    other = world.client("township_clerk")
    assert other.get(IMPORTS).data["results"] == []
    assert other.get(f"{IMPORTS}{job['id']}/").status_code == 404
    assert other.get(f"{IMPORTS}{job['id']}/file/").status_code == 404
    assert commit(world, job["id"], role="township_clerk").status_code == 404
    assert commit(world, job["id"], role="supervisor").status_code == 403
    assert not Household.objects.filter(household_number=HA).exists()


def test_the_template_download_opens_with_openpyxl_and_has_the_three_sheets(world):
    response = world.client("township_clerk").get(f"{IMPORTS}template/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[:3] == [HOUSEHOLD_SHEET, MEMBER_SHEET, INCOME_SHEET]


def test_imported_households_are_assessed(world, tmp_path, django_capture_on_commit_callbacks):
    job = uploaded(world, tmp_path, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        commit(world, job["id"])

    year = current_assessment_year()
    for number in (HA, HB):
        household = Household.objects.get(household_number=number)
        assert Assessment.objects.filter(household=household, year=year, is_current=True).exists()
    assert Assessment.objects.filter(household__household_number=HA, year=2019, is_current=True).exists()


# --- export ------------------------------------------------------------------------------------------------


def test_the_xlsx_export_is_limited_to_the_jurisdiction_and_the_filters(world, tmp_path):
    from households.imports.runner import import_workbook

    import_workbook(write_workbook(tmp_path / "f.xlsx", good_sheets()), user=world.users["county_clerk"], commit=True)
    client = world.client("county_clerk")

    response = client.get(EXPORT, {"format": "xlsx"})

    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    numbers = [row[0] for row in book[HOUSEHOLD_SHEET].iter_rows(min_row=2, values_only=True)]
    assert sorted(numbers) == sorted(["4103241002010001", HA, HB])  # not 嵩县's 4103251002010001
    assert book[INCOME_SHEET].max_row == 4

    filtered = client.get(EXPORT, {"format": "xlsx", "village": "410324100202"})
    book = load_workbook(io.BytesIO(b"".join(filtered.streaming_content)))
    assert [row[0] for row in book[HOUSEHOLD_SHEET].iter_rows(min_row=2, values_only=True)] == [HB]


def test_the_csv_export_streams_one_row_per_member(world, tmp_path):
    from households.imports.runner import import_workbook

    import_workbook(write_workbook(tmp_path / "f.xlsx", good_sheets()), user=world.users["county_clerk"], commit=True)

    response = world.client("township_clerk").get(EXPORT, {"format": "csv", "q": HA})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == [HA, HA, HA]
    assert all("*" in row[rows[0].index("身份证号")] for row in rows[1:])  # township staff: masked


def test_an_unknown_export_format_is_a_json_400(world):
    response = world.client("county_clerk").get(EXPORT, {"format": "pdf"})

    assert response.status_code == 400
    assert response.json() == {"format": ["导出格式应为 xlsx 或 csv。"]}


def test_an_outsider_exports_nothing_of_another_county(world):
    response = world.client("songxian_clerk").get(EXPORT, {"format": "csv", "county": "410324"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[1:] == []
    assert IncomeRecord.objects.count() == 0  # (nothing written either)
