"""Hostile and careless workbooks (issue 15, item 6): each is built in the test and must end in a clear error
naming the file, sheet, row and column, never a 500, a silent skip or a silently changed number; and a commit of
it writes nothing."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from households.excel_columns import HOUSEHOLD_SHEET, INCOME_SHEET, MEMBER_SHEET
from households.imports.read import FILE_SHEET
from households.imports.runner import import_workbook, run_job
from households.imports.services import check_upload
from households.imports.validate import NO_DATA_ROWS
from households.models import ImportJob, Member
from households.tests import (
    ROW_OF_HA,
    ROW_OF_ZHANG,
    ZHANG,
    good_sheets,
    registry_counts,
    write_workbook,
)

pytestmark = pytest.mark.django_db

UNREADABLE_FILE = "文件不是有效的Excel工作簿（.xlsx），请用下载的模板填写后上传。"
TEXT_FORMAT = "须以文本格式填写（在Excel中将该列设为文本后重新输入）。"


# --- Building the workbooks --------------------------------------------------------------------------------


def _good(path: Path, change: Callable[[dict], None] | None = None) -> Path:
    sheets = good_sheets()
    if change:
        change(sheets)
    return write_workbook(path, sheets)


def _edit(path: Path, edit: Callable) -> Path:
    """The clean workbook, changed with openpyxl (formats, headers, sheet names)."""
    _good(path)
    book = load_workbook(path)
    edit(book)
    book.save(path)
    return path


def _patch_part(path: Path, part: str, pattern: str, replacement: str) -> Path:
    """Rewrite one XML part of the workbook (what no spreadsheet program writes, but an attacker can)."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    text, count = re.subn(pattern, replacement, parts[part].decode())
    assert count == 1, f"{pattern} not found once in {part}"
    parts[part] = text.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def set_value(sheet: str, field: str, value, row: int = 0) -> Callable[[dict], None]:
    def change(sheets: dict) -> None:
        sheets[sheet][row][field] = value

    return change


def id_number_as_number(path: Path) -> Path:
    return _good(path, set_value(MEMBER_SHEET, "id_number", 4.10324194001015e17))


def date_cell_holding_20200901(path: Path) -> Path:
    def edit(book) -> None:
        cell = book[HOUSEHOLD_SHEET]["V2"]  # 明白卡发放日期
        cell.value = 20200901
        cell.number_format = "yyyy-mm-dd"

    return _edit(path, edit)


def formula_without_result(path: Path) -> Path:
    return _good(path, set_value(INCOME_SHEET, "wage_income", "=1000*12"))


def shared_string_out_of_range(path: Path) -> Path:
    _good(path)  # 住址 (C2 of 户信息, the first sheet), made a reference to a shared string that is not there
    return _patch_part(path, "xl/worksheets/sheet1.xml", r'<c r="C2"[^>]*>.*?</c>', '<c r="C2" t="s"><v>99999</v></c>')


def renamed_income_sheet(path: Path) -> Path:
    def edit(book) -> None:
        book[INCOME_SHEET].title = "2016年收入"

    return _edit(path, edit)


def only_headers(path: Path) -> Path:
    return write_workbook(path, {HOUSEHOLD_SHEET: [], MEMBER_SHEET: [], INCOME_SHEET: []})


def not_a_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    return path


def broken_sheet_xml(path: Path) -> Path:
    _good(path)
    return _patch_part(path, "xl/worksheets/sheet2.xml", r"</sheetData>", "<row><c>")


# (workbook, sheet, row, column label, message)
CASES = {
    "ID number in a number cell": (
        id_number_as_number, MEMBER_SHEET, ROW_OF_ZHANG, "身份证号", f"身份证号{TEXT_FORMAT}"),
    "phone in a number cell": (
        lambda p: _good(p, set_value(HOUSEHOLD_SHEET, "phone", 13937912345)),
        HOUSEHOLD_SHEET, ROW_OF_HA, "联系电话", f"联系电话{TEXT_FORMAT}"),
    "household number in a number cell": (
        lambda p: _good(p, set_value(INCOME_SHEET, "household_number", 4103241002010101)),
        INCOME_SHEET, 2, "户编号", f"户编号{TEXT_FORMAT}"),
    "1E+30 in an amount": (
        lambda p: _good(p, set_value(INCOME_SHEET, "wage_income", 1e30)),
        INCOME_SHEET, 2, "工资性收入", f"数值过大，当前为“{int(1e30)}”。"),
    "1E+40 in land": (
        lambda p: _good(p, set_value(HOUSEHOLD_SHEET, "cultivated_land_mu", 1e40)),
        HOUSEHOLD_SHEET, ROW_OF_HA, "耕地面积(亩)", f"数值过大，当前为“{int(1e40)}”。"),
    "a year of 13 digits": (
        lambda p: _good(p, set_value(INCOME_SHEET, "year", 2020000000000)),
        INCOME_SHEET, 2, "年度", "数值过大，当前为“2020000000000”。"),
    "20200901 in a date-formatted cell": (
        date_cell_holding_20200901, HOUSEHOLD_SHEET, ROW_OF_HA, "明白卡发放日期",
        "单元格设为日期格式，但其中的数值20200901不是有效日期，请填写日期（如2020-09-01）或设为文本格式。"),
    "a formula without a cached result": (
        formula_without_result, INCOME_SHEET, 2, "工资性收入", "公式没有计算结果，请在Excel中保存后重新上传。"),
    "a shared string index out of range": (
        shared_string_out_of_range, HOUSEHOLD_SHEET, ROW_OF_HA, "住址",
        "单元格的文字在文件中找不到（文件已损坏），请在Excel中另存后重新上传。"),
    "a sheet renamed 2016年收入": (
        renamed_income_sheet, "2016年收入", 0, "",
        "无法识别的工作表“2016年收入”。工作簿应包含：户信息、家庭成员、年度收入（可选）；请把表名改为其中之一，或删除该表。"),
    "only headers": (only_headers, FILE_SHEET, 0, "", NO_DATA_ROWS),
    "not a zip": (not_a_zip, FILE_SHEET, 0, "", UNREADABLE_FILE),
    "broken sheet XML": (broken_sheet_xml, FILE_SHEET, 0, "", UNREADABLE_FILE),
}  # fmt: skip


@pytest.mark.parametrize(("build", "sheet", "row", "column", "message"), CASES.values(), ids=CASES.keys())
def test_a_hostile_workbook_is_refused_on_its_cell(world, tmp_path, build, sheet, row, column, message):
    path = build(tmp_path / "file.xlsx")
    before = registry_counts()

    dry_run = import_workbook(path, user=world.users["county_clerk"], commit=False)

    assert [e for e in dry_run.errors if (e.sheet, e.row, e.column) == (sheet, row, column)], [
        str(e) for e in dry_run.errors
    ]
    assert message in [e.message for e in dry_run.errors if (e.sheet, e.row, e.column) == (sheet, row, column)]
    committed = import_workbook(path, user=world.users["county_clerk"], commit=True)
    assert committed.errors
    assert registry_counts() == before


@pytest.mark.parametrize(("build", "sheet", "row", "column", "message"), CASES.values(), ids=CASES.keys())
def test_a_job_reports_the_hostile_cell_and_marks_it_in_the_annotated_copy(
    world, tmp_path, build, sheet, row, column, message
):
    path = build(tmp_path / "file.xlsx")
    job = ImportJob(user=world.users["county_clerk"], file_name="file.xlsx")
    job.file.save("file.xlsx", ContentFile(path.read_bytes()), save=False)
    job.save()

    run_job(job, commit=False)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID
    assert {"sheet": sheet, "row": row, "column": column, "message": message} in [
        {key: error[key] for key in ("sheet", "row", "column", "message")} for error in job.errors
    ]
    if row:
        letter = next(e["column_letter"] for e in job.errors if (e["sheet"], e["row"]) == (sheet, row))
        with job.annotated_file.open("rb") as handle:
            assert load_workbook(handle)[sheet][f"{letter}{row}"].comment is not None


def test_an_id_number_in_a_number_cell_is_never_stored_as_another_number(world, tmp_path):
    path = id_number_as_number(tmp_path / "file.xlsx")

    import_workbook(path, user=world.users["county_clerk"], commit=True)

    assert not Member.objects.filter(id_number__in=["410324194001014976", "410324194001015000", ZHANG]).exists()


@pytest.mark.parametrize("header", ["务工时间（月）", "务工时间 (月)", "务工时间（ 月 ）", "WORK_MONTHS"])
def test_a_header_with_full_width_brackets_or_spaces_is_the_same_column(world, tmp_path, header):
    def edit(book) -> None:
        sheet = book[MEMBER_SHEET]
        cell = next(c for c in sheet[1] if c.value == "务工时间(月)")
        cell.value = header

    path = _edit(tmp_path / "file.xlsx", edit)

    result = import_workbook(path, user=world.users["county_clerk"], commit=True)

    assert result.ok, [str(e) for e in result.errors]
    assert Member.objects.get(id_number=ZHANG).work_months == 6


def test_an_empty_default_sheet_is_passed_over(world, tmp_path):
    path = _edit(tmp_path / "file.xlsx", lambda book: book.create_sheet("Sheet1"))

    result = import_workbook(path, user=world.users["county_clerk"], commit=False)

    assert result.ok, [str(e) for e in result.errors]


# --- Zip bombs -----------------------------------------------------------------------------------------------

RATIO_REFUSAL = re.compile(r"文件解压后是压缩时的\d+倍（上限100倍），不像正常的Excel工作簿，已拒绝。")


def zip_bomb(path: Path) -> Path:
    """The clean workbook with 8 MB of zeros inside: a few kilobytes packed."""
    _good(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/zeros.bin", b"\0" * (8 * 1024 * 1024))
    return path


def test_a_zip_bomb_is_refused_by_the_dry_run(world, tmp_path):
    path = zip_bomb(tmp_path / "file.xlsx")
    before = registry_counts()

    result = import_workbook(path, user=world.users["county_clerk"], commit=True)

    assert [(e.sheet, e.row, e.column) for e in result.errors] == [(FILE_SHEET, 0, "")]
    assert RATIO_REFUSAL.fullmatch(result.errors[0].message), result.errors[0].message
    assert registry_counts() == before


def test_a_zip_bomb_is_refused_at_upload(tmp_path):
    path = zip_bomb(tmp_path / "file.xlsx")

    with pytest.raises(ValidationError) as refusal:
        check_upload(SimpleUploadedFile("file.xlsx", path.read_bytes()))

    assert RATIO_REFUSAL.fullmatch(refusal.value.messages[0]), refusal.value.messages


def test_a_workbook_past_the_uncompressed_limit_is_refused(world, tmp_path, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
    settings.IMPORT_MAX_EXPANSION_RATIO = 100_000
    path = _good(tmp_path / "file.xlsx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/zeros.bin", b"\0" * (11 * 1024 * 1024))
    expected = "文件解压后过大（11 MB），上限为10 MB，请分乡镇或分批导入。"

    result = import_workbook(path, user=world.users["county_clerk"], commit=False)
    with pytest.raises(ValidationError) as refusal:
        check_upload(SimpleUploadedFile("file.xlsx", path.read_bytes()))

    assert [e.message for e in result.errors] == [expected]
    assert refusal.value.messages == [expected]


def test_a_clean_workbook_passes_the_upload_checks_and_can_be_read_after(world, tmp_path):
    upload = SimpleUploadedFile("file.xlsx", _good(tmp_path / "file.xlsx").read_bytes())

    check_upload(upload)

    assert upload.read(2) == b"PK"  # the check rewound the file for storing
