"""A streaming reader of .xlsx workbooks: sheet names, then one sheet's rows as plain Python values.

openpyxl's read-only mode does the same but builds an object per cell (and, for a file written in write-only
mode, first scans every sheet for its size): reading a county's file of 20,000 households (120,000 rows)
took 90 s with it, and takes a few seconds here. Values are those of openpyxl's ``values_only``: str, int,
float, bool, datetime (for numbers formatted as dates), None for an empty cell. Only the cell values are read
(no formulas: the cached result is taken, as with openpyxl's ``data_only=True``). A cell that cannot be read
(a formula without a cached result, a date out of range, a reference to a shared string that does not exist)
is an ``UnreadableCell`` saying why, in Chinese, when the caller asks (``unreadable_cells=True``, the import's
validation, which reports it on its cell instead of failing the file); otherwise it is read as empty (None).

The XML is parsed with lxml, without entity resolution or network access, and a workbook that would expand
past ``max_uncompressed_bytes`` or ``max_expansion_ratio`` times its compressed size is refused before it is
read (``WorkbookTooLarge``).
"""

from __future__ import annotations

import datetime as dt
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

# A 20 MB upload of real data expands to ~200 MB (ratio ~10); the caller passes the limits of its settings.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_EXPANSION_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024  # below this, a high ratio (a sheet of empty rows) holds no memory worth refusing

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
DOC_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
ROW, CELL, VALUE, INLINE, TEXT, RUN, FORMULA = (f"{MAIN}{name}" for name in ("row", "c", "v", "is", "t", "r", "f"))
# Number formats that are dates although their code is not in openpyxl's table: the East Asian built-in
# formats (27–36, 50–58; e.g. yyyy"年"m"月"d"日" in Chinese Excel).
EAST_ASIAN_DATE_FORMATS = frozenset({*range(27, 37), *range(50, 59)})


class WorkbookError(Exception):
    """The file is not a readable .xlsx workbook."""


class WorkbookTooLarge(WorkbookError):
    """The workbook would expand past the limits (a zip bomb); the message is Chinese and says which."""


@dataclass(frozen=True)
class UnreadableCell:
    """A cell whose value cannot be read; ``message`` (Chinese) says why and what to do."""

    message: str


NO_CACHED_RESULT = UnreadableCell("公式没有计算结果，请在Excel中保存后重新上传。")
MISSING_SHARED_STRING = UnreadableCell("单元格的文字在文件中找不到（文件已损坏），请在Excel中另存后重新上传。")
BAD_NUMBER = UnreadableCell("单元格的数值无法读取（文件已损坏），请在Excel中另存后重新上传。")


def expansion_refusal(archive: zipfile.ZipFile, *, max_uncompressed_bytes: int, max_expansion_ratio: int) -> str | None:
    """Why the archive is refused as a zip bomb (Chinese), or None. The sizes are those the archive declares;
    ``zipfile`` never inflates a member past its declared size (it fails on the CRC), so they bound memory."""
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    compressed = sum(info.compress_size for info in infos)
    if total > max_uncompressed_bytes:
        return (
            f"文件解压后过大（{total / 1024 / 1024:.0f} MB），上限为{max_uncompressed_bytes / 1024 / 1024:.0f} MB，"
            "请分乡镇或分批导入。"
        )
    if total > RATIO_FLOOR_BYTES and total > max_expansion_ratio * max(compressed, 1):
        ratio = total // max(compressed, 1)
        return f"文件解压后是压缩时的{ratio}倍（上限{max_expansion_ratio}倍），不像正常的Excel工作簿，已拒绝。"
    return None


def _parser_options() -> dict:
    return {"resolve_entities": False, "no_network": True, "huge_tree": True}


def _xml(archive: zipfile.ZipFile, name: str) -> etree._Element:
    with archive.open(name) as handle:
        return etree.parse(handle, etree.XMLParser(**_parser_options())).getroot()


def _resolve(base: str, target: str) -> str:
    """A relationship target relative to the part ``base`` (or absolute, from the package root)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """rId → (type, target part) of ``part``'s relationships."""
    rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if rels_name not in archive.NameToInfo:
        return {}
    return {
        rel.get("Id"): (rel.get("Type", ""), _resolve(part, rel.get("Target", "")))
        for rel in _xml(archive, rels_name).iter(f"{RELS}Relationship")
    }


def _string_item(item: etree._Element) -> str:
    """The text of a shared or inline string: plain ``<t>`` or rich-text runs, without phonetic guides."""
    if len(item) == 1 and item[0].tag == TEXT:  # the usual case, without a search
        return item[0].text or ""
    plain = item.find(TEXT)
    if plain is not None:
        return plain.text or ""
    return "".join(run.findtext(TEXT) or "" for run in item.iterfind(RUN))


_COLUMN_INDEXES: dict[str, int] = {}


def _column_index(reference: str) -> int:
    """0-based column of a cell reference (``"AB12"`` → 27)."""
    letters = reference.rstrip("0123456789")
    index = _COLUMN_INDEXES.get(letters)
    if index is None:
        index = _COLUMN_INDEXES[letters] = column_index_from_string(letters) - 1
    return index


def _date(serial: int | float, epoch) -> dt.datetime | UnreadableCell:
    """A number in a date-formatted cell as a date; one that is no date (20200901 typed into it) says so."""
    try:
        return from_excel(serial, epoch)
    except (OverflowError, ValueError):
        return UnreadableCell(
            f"单元格设为日期格式，但其中的数值{serial}不是有效日期，请填写日期（如2020-09-01）或设为文本格式。"
        )


class XlsxReader:
    """``with XlsxReader(path) as book: book.sheetnames; for number, values in book.rows("户信息"): ...``"""

    def __init__(
        self,
        path: str | Path | IO[bytes],
        *,
        max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES,
        max_expansion_ratio: int = MAX_EXPANSION_RATIO,
        unreadable_cells: bool = False,
    ) -> None:
        self._limits = {"max_uncompressed_bytes": max_uncompressed_bytes, "max_expansion_ratio": max_expansion_ratio}
        self._unreadable_cells = unreadable_cells
        try:
            self._archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise WorkbookError(str(exc)) from exc
        try:
            self._load()
        except WorkbookError:
            self._archive.close()
            raise
        except (
            KeyError,
            IndexError,
            etree.LxmlError,
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            NotImplementedError,  # a compression method zipfile does not know
        ) as exc:
            self._archive.close()
            raise WorkbookError(str(exc)) from exc

    def _load(self) -> None:
        archive = self._archive
        refusal = expansion_refusal(archive, **self._limits)
        if refusal:
            raise WorkbookTooLarge(refusal)
        root_rels = _relationships(archive, "")
        workbook_part = next((target for kind, target in root_rels.values() if kind == OFFICE_DOCUMENT), None)
        workbook_part = workbook_part or "xl/workbook.xml"
        workbook = _xml(archive, workbook_part)
        properties = workbook.find(f"{MAIN}workbookPr")
        date1904 = properties is not None and properties.get("date1904", "0").lower() in ("1", "true")
        self._epoch = MAC_EPOCH if date1904 else WINDOWS_EPOCH
        rels = _relationships(archive, workbook_part)
        self._sheets: dict[str, str] = {}
        for sheet in workbook.iter(f"{MAIN}sheet"):
            kind, target = rels.get(sheet.get(f"{DOC_RELS}id"), ("", ""))
            if kind.endswith("/worksheet") and target in archive.NameToInfo:
                self._sheets[sheet.get("name", "")] = target
        self._shared: list[str] = []
        self._date_styles: frozenset[int] = frozenset()
        for kind, target in rels.values():
            if target not in archive.NameToInfo:
                continue
            if kind.endswith("/sharedStrings"):
                self._shared = self._read_shared_strings(target)
            elif kind.endswith("/styles"):
                self._date_styles = self._read_date_styles(target)

    def _read_shared_strings(self, part: str) -> list[str]:
        strings = []
        with self._archive.open(part) as handle:
            for _, item in etree.iterparse(handle, events=("end",), tag=f"{MAIN}si", **_parser_options()):
                strings.append(_string_item(item))
                item.clear()
        return strings

    def _read_date_styles(self, part: str) -> frozenset[int]:
        """Indexes of the cell formats (``s`` attribute of a cell) whose number format is a date."""
        styles = _xml(self._archive, part)
        custom = {
            int(fmt.get("numFmtId", "-1")): fmt.get("formatCode", "")
            for fmt in styles.iterfind(f"{MAIN}numFmts/{MAIN}numFmt")
        }
        dates = set()
        for index, xf in enumerate(styles.iterfind(f"{MAIN}cellXfs/{MAIN}xf")):
            number_format = int(xf.get("numFmtId", "0"))
            code = custom.get(number_format) or BUILTIN_FORMATS.get(number_format, "")
            if number_format in EAST_ASIAN_DATE_FORMATS or (code and is_date_format(code)):
                dates.add(index)
        return frozenset(dates)

    # --- public ---------------------------------------------------------------------------------------

    @property
    def sheetnames(self) -> list[str]:
        return list(self._sheets)

    def rows(self, sheet_name: str) -> Iterator[tuple[int, list[Any]]]:
        """(1-based row number, values) of every row written in the file, in order; rows that are not written
        are empty and skipped (the numbers say where they were); trailing empty cells are dropped."""
        number = 0
        try:
            with self._archive.open(self._sheets[sheet_name]) as handle:
                for _, row in etree.iterparse(handle, events=("end",), tag=ROW, **_parser_options()):
                    number = int(row.get("r") or 0) or number + 1
                    values = self._values(row)
                    # Free the parsed row and its finished siblings: memory stays flat.
                    row.clear(keep_tail=True)
                    parent = row.getparent()
                    while row.getprevious() is not None:
                        del parent[0]
                    yield number, values
        except (etree.LxmlError, zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise WorkbookError(str(exc)) from exc

    def _values(self, row: etree._Element) -> list[Any]:
        # One loop with everything inlined: this runs for every cell of the file (two million for a county).
        values: list[Any] = []
        shared, date_styles, epoch = self._shared, self._date_styles, self._epoch
        for cell in row:
            if cell.tag != CELL:
                continue
            reference = cell.get("r")
            if reference:
                index = _column_index(reference)
                if index > len(values):
                    values.extend([None] * (index - len(values)))
            else:
                index = len(values)
            kind = cell.get("t")
            value = None
            # The value is the cell's last child (after a formula) in every writer we know; search otherwise.
            wanted = INLINE if kind == "inlineStr" else VALUE
            last = cell[-1] if len(cell) else None
            if last is not None and last.tag != wanted:
                last = cell.find(wanted)
            if last is not None and kind == "inlineStr":
                value = _string_item(last)
            elif last is not None and last.text is not None:
                text = last.text
                try:
                    if kind is None or kind == "n":
                        value = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
                        style = cell.get("s")
                        if style is not None and date_styles and int(style) in date_styles:
                            value = _date(value, epoch)
                    elif kind == "s":
                        value = (
                            shared[int(text)] if text.isdigit() and int(text) < len(shared) else MISSING_SHARED_STRING
                        )
                    elif kind == "b":
                        value = text.strip() in ("1", "true")
                    elif kind == "d":
                        value = from_ISO8601(text)
                    else:
                        value = text  # "str" (a formula's text result) or "e" (an error such as #N/A)
                except (ValueError, OverflowError):
                    value = BAD_NUMBER
            elif kind != "str" and cell.find(FORMULA) is not None:
                # A formula whose result was never computed (written by a program, not saved by Excel); a text
                # formula ("str") with an empty <v/> did compute: an empty text.
                value = NO_CACHED_RESULT
            if value.__class__ is UnreadableCell and not self._unreadable_cells:
                value = None
            if index == len(values):
                values.append(value)
            else:
                values[index] = value
        while values and values[-1] is None:
            values.pop()
        return values

    def close(self) -> None:
        self._archive.close()

    def __enter__(self) -> XlsxReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


__all__ = ["UnreadableCell", "WorkbookError", "WorkbookTooLarge", "XlsxReader", "expansion_refusal"]
