"""The back office of Excel imports and exports (issue 7): upload and dry run, the report page, "确认导入",
downloads, and the household list's "导出Excel" action."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from households.excel_columns import HOUSEHOLD_SHEET, MEMBER_SHEET
from households.models import Household, ImportJob
from households.tests import HA, good_sheets, registry_counts, write_workbook

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:households_importjob_upload")
JOBS = reverse("admin:households_importjob_changelist")
HOUSEHOLDS = reverse("admin:households_household_changelist")


def login(client, world, role: str):
    client.force_login(world.users[role])
    return client


def admin_upload(client, tmp_path, capture, sheets=None, name="栾川县.xlsx"):
    path = write_workbook(tmp_path / "upload.xlsx", sheets or good_sheets())
    with capture(execute=True):
        response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, path.read_bytes())})
    assert response.status_code == 302, response.context and response.context["form"].errors
    return ImportJob.objects.get(), response


def test_a_county_clerk_uploads_checks_and_commits(client, world, tmp_path, django_capture_on_commit_callbacks):
    login(client, world, "county_clerk")
    listing = client.get(JOBS).content.decode()
    assert "上传Excel并校验" in listing and "下载导入模板" in listing

    job, response = admin_upload(client, tmp_path, django_capture_on_commit_callbacks)

    assert response["Location"] == reverse("admin:households_importjob_change", args=[job.pk])
    assert job.status == ImportJob.Status.VALID and job.user == world.users["county_clerk"]
    page = client.get(response["Location"]).content.decode()
    assert 'class="commit-import"' in page and "下载原文件" in page and "校验通过" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:households_importjob_commit", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED
    assert Household.objects.filter(household_number=HA).exists()
    page = client.get(response["Location"]).content.decode()
    assert "已导入：新增2户" in page and 'class="commit-import"' not in page  # no button any more


def test_an_invalid_upload_shows_its_errors_and_cannot_be_committed(
    client, world, tmp_path, django_capture_on_commit_callbacks
):
    login(client, world, "county_clerk")
    sheets = good_sheets()
    sheets[MEMBER_SHEET][0]["relation"] = "亲戚"
    job, response = admin_upload(client, tmp_path, django_capture_on_commit_callbacks, sheets=sheets)
    before = registry_counts()

    page = client.get(response["Location"]).content.decode()

    assert job.status == ImportJob.Status.INVALID
    assert "“亲戚”不是可选值" in page and "与户主关系（D）" in page and "下载标注错误的文件" in page
    assert 'class="commit-import"' not in page
    refused = client.post(reverse("admin:households_importjob_commit", args=[job.pk]), follow=True)
    assert "校验未通过，不能导入" in refused.content.decode()
    assert registry_counts() == before
    annotated = client.get(reverse("admin:households_importjob_download", args=[job.pk, "annotated"]))
    book = load_workbook(io.BytesIO(b"".join(annotated.streaming_content)))
    assert book[MEMBER_SHEET]["D2"].comment is not None


def test_the_upload_form_refuses_other_files(client, world):
    login(client, world, "county_clerk")

    response = client.post(UPLOAD, {"file": SimpleUploadedFile("户.xls", b"\xd0\xcf\x11\xe0")})

    assert response.status_code == 200 and "只能上传Excel工作簿（.xlsx）" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_supervisor_reads_imports_but_cannot_upload(client, world, tmp_path, django_capture_on_commit_callbacks):
    login(client, world, "county_clerk")
    job, _ = admin_upload(client, tmp_path, django_capture_on_commit_callbacks)
    login(client, world, "supervisor")

    assert client.get(UPLOAD).status_code == 403
    assert "上传Excel并校验" not in client.get(JOBS).content.decode()
    assert client.get(reverse("admin:households_importjob_change", args=[job.pk])).status_code == 200
    assert client.post(reverse("admin:households_importjob_commit", args=[job.pk])).status_code == 403
    assert not Household.objects.filter(household_number=HA).exists()


def test_another_users_import_is_not_found(client, world, tmp_path, django_capture_on_commit_callbacks):
    login(client, world, "county_clerk")
    job, _ = admin_upload(client, tmp_path, django_capture_on_commit_callbacks)
    login(client, world, "township_clerk")

    assert job.file_name not in client.get(JOBS).content.decode()
    assert client.get(reverse("admin:households_importjob_change", args=[job.pk])).status_code == 404
    assert client.post(reverse("admin:households_importjob_commit", args=[job.pk])).status_code == 404
    download = reverse("admin:households_importjob_download", args=[job.pk, "original"])
    assert client.get(download).status_code == 404


def test_the_household_list_exports_the_selected_households(client, world):
    login(client, world, "county_clerk")
    selected = [world.households["H1"].pk, world.households["H4"].pk]  # H4 is in 嵩县: out of reach

    response = client.post(HOUSEHOLDS, {"action": "export_households_xlsx", "_selected_action": selected})

    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [r[0] for r in book[HOUSEHOLD_SHEET].iter_rows(min_row=2, values_only=True)] == ["4103241002010001"]


def test_the_admin_template_download(client, world):
    login(client, world, "township_clerk")

    response = client.get(reverse("admin:households_importjob_template"))

    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content)).sheetnames[0] == HOUSEHOLD_SHEET
