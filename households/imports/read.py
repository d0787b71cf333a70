"""Reading an import workbook: which sheets and columns it has, and its data rows converted cell by cell by
the columns of ``households.excel_columns``, streamed from ``households.xlsx_reader``; and the list of errors
found, each by sheet, row and column (``RowError``), that the validation goes on filling.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl.utils import get_column_letter

from households.excel_columns import HOUSEHOLD_SHEET, MEMBER_SHEET, SHEETS, CellError, Column
from households.xlsx_reader import UnreadableCell, XlsxReader

MAX_REPORTED_ERRORS = 5000  # a file this broken is sent back after the first 5,000 errors
LOOKUP_CHUNK = 2000  # keys per IN (...) query; well under SQLite's and PostgreSQL's parameter limits
FILE_SHEET = "文件"  # the "sheet" of errors about the file as a whole
REQUIRED_SHEETS = (HOUSEHOLD_SHEET, MEMBER_SHEET)
NOTES_SHEET = "填写说明"  # the template's instructions (households.exports.template_workbook)
EXPECTED_SHEETS = "户信息、家庭成员、年度收入（可选）"


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int  # 1-based worksheet row; 0 = the sheet (or file) itself
    column: str  # the column's label, "" for a row, sheet or file error
    column_letter: str
    message: str

    def as_dict(self) -> dict:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "column_letter": self.column_letter,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"“{self.sheet}”表" if self.sheet != FILE_SHEET else "文件"
        if self.row:
            where += f"第{self.row}行"
        if self.column:
            where += f"“{self.column}”列（{self.column_letter}列）"
        return f"{where}：{self.message}"


class TooManyErrors(Exception):
    pass


@dataclass
class SheetColumns:
    """The columns found in one sheet's header row."""

    name: str
    columns: dict[str, tuple[Column, int]]  # field → (column, 0-based index in the row)
    header_row: int = 1

    def letter(self, field_name: str) -> str:
        column = self.columns.get(field_name)
        return get_column_letter(column[1] + 1) if column else ""

    def label(self, field_name: str) -> str:
        column = self.columns.get(field_name)
        return column[0].label if column else ""


class ErrorList:
    """The errors of one workbook, in the order found; raises TooManyErrors at ``MAX_REPORTED_ERRORS``."""

    def __init__(self) -> None:
        self.items: list[RowError] = []

    def add(self, sheet: SheetColumns | str, row: int, field_name: str, message: str) -> None:
        if isinstance(sheet, SheetColumns):
            error = RowError(sheet.name, row, sheet.label(field_name), sheet.letter(field_name), message)
        else:
            error = RowError(sheet, row, "", "", message)
        self.items.append(error)
        if len(self.items) >= MAX_REPORTED_ERRORS:
            raise TooManyErrors

    def add_messages(
        self, sheet: SheetColumns, row: int, messages: dict[str, list[str]], fallback: str, failed: set[str]
    ) -> None:
        """Messages by model field; a field not in the sheet is reported on ``fallback``'s column. Fields whose
        cell could not be read are skipped (their reading error is already reported)."""
        derived = {"gender": "id_number", "birth_date": "id_number", "__all__": fallback}
        for name, texts in messages.items():
            name = derived.get(name, name)
            if name in failed:
                continue
            target = name if name in sheet.columns else fallback
            for text in texts:
                self.add(sheet, row, target, text)


def chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def normalized_header(title: Any) -> str:
    """A header as compared with the columns' labels: full-width brackets, colons and letters as half-width
    (NFKC), without spaces, lower case; so ``务工时间（月）`` and ``务工时间 (月)`` are ``务工时间(月)``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(title))).lower()


def _has_data(book: XlsxReader, sheet_name: str) -> bool:
    rows = book.rows(sheet_name)
    try:
        return any(any(v is not None and str(v).strip() for v in values) for _, values in rows)
    finally:
        rows.close()


def read_sheets(book: XlsxReader, errors: ErrorList) -> dict[str, SheetColumns] | None:
    """The columns of every sheet of ``SHEETS`` the workbook has; None (with the errors) when a required sheet
    or a required column is missing, or a sheet that is not one of them holds data (a renamed sheet such as
    “2016年收入” would otherwise be skipped in silence; an empty “Sheet1” is passed over)."""
    found: dict[str, SheetColumns | None] = {}
    complete = True
    known = {name for name, _ in SHEETS} | {NOTES_SHEET}
    for sheet_name in book.sheetnames:
        if sheet_name not in known and _has_data(book, sheet_name):
            errors.add(
                sheet_name,
                0,
                "",
                f"无法识别的工作表“{sheet_name}”。工作簿应包含：{EXPECTED_SHEETS}；请把表名改为其中之一，或删除该表。",
            )
            complete = False
    for sheet_name, columns in SHEETS:
        if sheet_name not in book.sheetnames:
            if sheet_name in REQUIRED_SHEETS:
                errors.add(
                    sheet_name,
                    0,
                    "",
                    f"缺少工作表“{sheet_name}”。工作簿应包含：{EXPECTED_SHEETS}。",
                )
                complete = False
            continue
        found[sheet_name] = _header(book, sheet_name, columns, errors)
        complete = complete and found[sheet_name] is not None
    return found if complete else None


def _header(book: XlsxReader, sheet_name: str, columns: tuple[Column, ...], errors: ErrorList) -> SheetColumns | None:
    """The sheet's columns from its first row; None (with an error) when a required column is missing."""
    by_header: dict[str, Column] = {}
    for column in columns:
        by_header[normalized_header(column.label)] = column
        by_header[normalized_header(column.field)] = column
    rows = book.rows(sheet_name)
    try:
        header_row, titles = next(rows, (1, []))
    finally:
        rows.close()
    found: dict[str, tuple[Column, int]] = {}
    for index, title in enumerate(titles):
        column = by_header.get(normalized_header(title)) if title is not None else None
        if column is not None and column.field not in found:
            found[column.field] = (column, index)
    missing = [c.label for c in columns if c.required and c.field not in found]
    if missing:
        errors.add(
            sheet_name, header_row, "", f"缺少必填列：{'、'.join(missing)}。请使用下载的模板，不要修改第一行的列名。"
        )
        return None
    return SheetColumns(sheet_name, found, header_row)


@functools.cache
def _examples(sheet_name: str) -> dict[str, Any]:
    """The template's example row of a sheet, as read back (exports.template_workbook writes it)."""
    columns = dict(SHEETS)[sheet_name]
    return {c.field: c.read(c.example) for c in columns if c.example != ""}


def data_rows(
    book: XlsxReader, sheet: SheetColumns, errors: ErrorList
) -> Iterator[tuple[int, dict[str, Any], set[str]]]:
    """(row number, values by field, fields whose cell could not be read) of every non-empty data row."""
    examples = _examples(sheet.name)
    columns = list(sheet.columns.items())
    for row_number, values in book.rows(sheet.name):
        if row_number <= sheet.header_row:
            continue
        if not values or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        parsed: dict[str, Any] = {}
        failed: set[str] = set()
        for name, (column, index) in columns:
            raw = values[index] if index < len(values) else None
            if isinstance(raw, UnreadableCell):
                errors.add(sheet, row_number, name, raw.message)
                failed.add(name)
                continue
            try:
                value = column.read(raw)
            except CellError as exc:
                errors.add(sheet, row_number, name, str(exc))
                failed.add(name)
                continue
            if column.required and value in (None, "", []):
                errors.add(sheet, row_number, name, "必填项未填写。")
                failed.add(name)
                continue
            parsed[name] = value
        if examples and all(parsed.get(name) == value for name, value in examples.items() if name in sheet.columns):
            errors.add(sheet, row_number, "", "这是模板中的示例行，请删除或改为真实数据后再上传。")
            continue
        yield row_number, parsed, failed
