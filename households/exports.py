"""The household-file workbook: the blank template, and streaming exports (.xlsx and CSV) of a filtered set
of households with their members and incomes. Exports use the import's columns, so an export re-imports
cleanly (round trip); ID numbers and phones are masked for users without the personal-data permission
(such an export is for reading, not for re-import), and every unmasked export is recorded."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from households.excel_columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_SHEET,
    INCOME_COLUMNS,
    INCOME_SHEET,
    MEMBER_COLUMNS,
    MEMBER_SHEET,
    SHEETS,
    Column,
)
from households.idcard import mask_id_number, mask_phone
from households.models import Household, IncomeRecord, Member, PersonalDataAccess
from households.personal_data import may_view_personal_data, record_reveal

EXPORT_CHUNK = 1000  # households per keyset page: three queries per page, memory flat
HEADER_FILL = PatternFill(start_color="FFDDEBF7", end_color="FFDDEBF7", fill_type="solid")
EXAMPLE_FONT = Font(color="FF808080", italic=True)
INSTRUCTIONS = (
    "填写说明",
    "1. 本工作簿有三张表：户信息（每户一行）、家庭成员（每人一行）、年度收入（每户每年一行），用“户编号”关联。",
    "2. 第一行为列名，请勿修改；第二行为示例（灰色斜体），导入前请删除示例行或改为真实数据。",
    "3. 村代码为12位国家行政区划代码；身份证号为18位，最后一位可为X；性别和出生日期由身份证号自动得出。",
    "4. 选项列请从下拉列表选择（填写中文选项）；是否类列填“是”或“否”；日期填2020-09-01格式。",
    "5. 每户须有且只有一名在户的户主；金额为元，不能为负数。",
    "6. 再次导入同一文件会更新同一批户和成员（按户编号、身份证号匹配），不会重复新增。",
    "7. 上传后系统先校验（不写入数据）：有错误时可下载标注错误的文件，改正后重新上传；校验通过后再确认导入。",
)


def _labels(column: Column) -> list[str] | None:
    read = column.read
    return str(read.labels).split("、") if hasattr(read, "labels") else None


def template_workbook() -> bytes:
    """The blank template: three sheets with Chinese headers, an example row and drop-down lists."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet_name, columns in SHEETS:
        sheet = workbook.create_sheet(sheet_name)
        for index, column in enumerate(columns, start=1):
            header = sheet.cell(row=1, column=index, value=column.label)
            header.fill = HEADER_FILL
            header.font = Font(bold=True, color="FFC00000" if column.required else "FF000000")
            example = sheet.cell(row=2, column=index, value=column.example if column.example != "" else None)
            example.font = EXAMPLE_FONT
            sheet.column_dimensions[get_column_letter(index)].width = column.width
            options = _labels(column)
            if options and len(",".join(options)) < 250:
                validation = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
                validation.error = f"请从下拉列表中选择：{'、'.join(options)}"
                validation.errorTitle = column.label
                sheet.add_data_validation(validation)
                validation.add(f"{get_column_letter(index)}2:{get_column_letter(index)}20000")
        sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    for row, line in enumerate(INSTRUCTIONS, start=1):
        notes.cell(row=row, column=1, value=line).font = Font(bold=row == 1)
    notes.column_dimensions["A"].width = 110
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _pages(queryset: QuerySet[Household]) -> Iterator[tuple[list[Household], dict, dict]]:
    """Households in keyset pages of ``EXPORT_CHUNK``, with their members and incomes (3 queries a page)."""
    last = 0
    base = queryset.select_related("village").order_by("id")
    while True:
        page = list(base.filter(id__gt=last)[:EXPORT_CHUNK])
        if not page:
            return
        ids = [h.pk for h in page]
        members: dict[int, list[Member]] = defaultdict(list)
        for member in Member.objects.filter(household_id__in=ids).order_by("household_id", "id"):
            members[member.household_id].append(member)
        incomes: dict[int, list[IncomeRecord]] = defaultdict(list)
        for record in IncomeRecord.objects.filter(household_id__in=ids).order_by("household_id", "year"):
            incomes[record.household_id].append(record)
        yield page, members, incomes
        last = ids[-1]


def _value(column: Column, obj, *, reveal: bool):
    if column.field == "household_number":
        return obj.household_number if isinstance(obj, Household) else obj.household.household_number
    if column.field == "village":
        return obj.village.code
    value = getattr(obj, column.field)
    if not reveal and column.field == "id_number":
        return mask_id_number(value)
    if not reveal and column.field == "phone":
        return mask_phone(value)
    return column.write(value)


def _household_row(household: Household, reveal: bool) -> list:
    return [_value(c, household, reveal=reveal) for c in HOUSEHOLD_COLUMNS]


def _member_row(member: Member, household: Household, reveal: bool) -> list:
    member.household = household  # already loaded: no query per member
    return [_value(c, member, reveal=reveal) for c in MEMBER_COLUMNS]


def _income_row(record: IncomeRecord, household: Household) -> list:
    record.household = household
    return [_value(c, record, reveal=True) for c in INCOME_COLUMNS]


FORMULA_STARTS = ("=", "+", "-", "@")  # text that a spreadsheet would run as a formula (CSV/formula injection)


def _xlsx_row(sheet, values: list) -> list:
    """Empty cells are left out of the file (None); text that starts like a formula is stored as text."""
    row = []
    for value in values:
        if value == "":
            value = None
        elif isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            value = cell
        row.append(value)
    return row


def _csv_row(values: list) -> list:
    return [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v for v in values]


def export_xlsx(queryset: QuerySet[Household], *, user, path: str = "", request_path: str = "") -> str:
    """Write the households of ``queryset`` (already scoped) to an .xlsx file; returns its path.
    openpyxl's write-only mode streams rows to disk, so memory does not grow with the number of households."""
    reveal = may_view_personal_data(user)
    workbook = Workbook(write_only=True)
    sheets = {name: workbook.create_sheet(name) for name, _ in SHEETS}
    for name, columns in SHEETS:
        sheet = sheets[name]
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=column.label)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
    household_sheet, member_sheet, income_sheet = (sheets[n] for n in (HOUSEHOLD_SHEET, MEMBER_SHEET, INCOME_SHEET))
    exported: list[int] = []
    for page, members, incomes in _pages(queryset):
        for household in page:
            household_sheet.append(_xlsx_row(household_sheet, _household_row(household, reveal)))
            for member in members.get(household.pk, []):
                member_sheet.append(_xlsx_row(member_sheet, _member_row(member, household, reveal)))
            for record in incomes.get(household.pk, []):
                income_sheet.append(_xlsx_row(income_sheet, _income_row(record, household)))
            exported.append(household.pk)
    if not path:
        descriptor, path = tempfile.mkstemp(suffix=".xlsx", prefix="households_")
        os.close(descriptor)
    workbook.save(path)
    record_reveal(
        user=user,
        channel=PersonalDataAccess.Channel.EXPORT,
        model="household",
        object_ids=exported,
        path=request_path,
    )
    return path


class TemporaryExportFile(io.FileIO):
    """An export file opened for download and deleted when closed (Django closes a FileResponse's file after
    sending it)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, "rb")
        self.path = path

    def close(self) -> None:
        try:
            super().close()
        finally:
            Path(self.path).unlink(missing_ok=True)


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = [c.label for c in HOUSEHOLD_COLUMNS] + [c.label for c in MEMBER_COLUMNS[1:]]


def export_csv_rows(queryset: QuerySet[Household], *, user, request_path: str = "") -> Iterator[str]:
    """CSV lines, one per member with the household's columns repeated (UTF-8 with BOM for Excel); a household
    without members is one line. A generator for StreamingHttpResponse: one keyset page in memory at a time.
    Incomes are in the .xlsx only. Text that a spreadsheet would run as a formula is prefixed with '."""
    reveal = may_view_personal_data(user)
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    exported: list[int] = []
    for page, members, _incomes in _pages(queryset):
        for household in page:
            household_cells = _household_row(household, reveal)
            for member in members.get(household.pk, []) or [None]:
                member_cells = _member_row(member, household, reveal)[1:] if member else []
                yield writer.writerow(_csv_row(household_cells + member_cells))
            exported.append(household.pk)
    record_reveal(
        user=user,
        channel=PersonalDataAccess.Channel.EXPORT,
        model="household",
        object_ids=exported,
        path=request_path,
    )


__all__ = [
    "INCOME_SHEET",
    "MEMBER_SHEET",
    "TemporaryExportFile",
    "export_csv_rows",
    "export_xlsx",
    "template_workbook",
]
