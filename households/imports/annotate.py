"""The annotated copy of an import workbook: the same sheets and cells, with every faulty cell filled red and
commented with its error(s), so that a clerk corrects the file where the report points."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils.cell import column_index_from_string

from households.imports.read import RowError
from households.xlsx_reader import XlsxReader

ERROR_FILL = PatternFill(start_color="FFFFC7CE", end_color="FFFFC7CE", fill_type="solid")


def annotate_workbook(source: str | Path, target: str | Path, errors: list[RowError]) -> None:
    """Write a copy of ``source`` with every faulty cell filled red and commented with its error(s); errors of
    a whole row go to its first cell, errors of a sheet to its first cell. Streams both workbooks: memory stays
    flat for large files. Raises WorkbookError if ``source`` cannot be read."""
    marks: dict[str, dict[int, dict[int, list[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for error in errors:
        column = column_index_from_string(error.column_letter) if error.column_letter else 1
        marks[error.sheet][max(error.row, 1)][column].append(error.message)
    out = Workbook(write_only=True)
    with XlsxReader(source) as book:
        for sheet_name in book.sheetnames:
            target_sheet = out.create_sheet(sheet_name)
            marked = marks.get(sheet_name, {})
            next_row = 1
            for row_number, values in book.rows(sheet_name):
                while next_row < row_number:  # rows the file leaves out: keep the numbering
                    target_sheet.append(_cells(target_sheet, [], marked.get(next_row)))
                    next_row += 1
                target_sheet.append(_cells(target_sheet, values, marked.get(row_number)))
                next_row = row_number + 1
            for row_number in sorted(r for r in marked if r >= next_row):  # errors on rows past the end
                while next_row <= row_number:
                    target_sheet.append(_cells(target_sheet, [], marked.get(next_row)))
                    next_row += 1
    out.save(target)


def _cells(sheet, values: list, marked: dict[int, list[str]] | None) -> list:
    """One row for a write-only sheet: text that looks like a formula stays text; marked cells are filled red
    and commented."""
    width = max([len(values), *marked]) if marked else len(values)
    cells = []
    for column_number in range(1, width + 1):
        value = values[column_number - 1] if column_number <= len(values) else None
        messages = marked.get(column_number) if marked else None
        if not messages and not (isinstance(value, str) and value.startswith("=")):
            cells.append(value)
            continue
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        if messages:
            cell.fill = ERROR_FILL
            cell.comment = Comment("\n".join(messages), "校验")
        cells.append(cell)
    return cells
