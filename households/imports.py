"""Import of household-file workbooks (DOMAIN.md §2): a dry run that reports every error by sheet, row and
column in Chinese, a copy of the workbook with the faulty cells marked, and an all-or-nothing commit.

The workbook has three sheets joined by 户编号 (``households.excel_columns``). Rows are matched to the registry
by 户编号 (households), 户编号 + 身份证号 (members) and 户编号 + 年度 (incomes), so re-importing a file updates the
same rows and creates no duplicates; members and incomes already on file that the workbook does not mention
are kept. Columns missing from a sheet leave those fields untouched on existing rows; an empty cell means the
field's empty value (or its default).

Checks (issue 7): every cell is converted by its column's reader (unknown labels, negative amounts, missing
required values, malformed numbers and dates), then the model's field validators and ``clean()`` run on the
row; the ID number is checked (§8) and must not be twice in the file nor active in another household of the
registry; the village must exist and be inside the user's jurisdiction, an existing household must be too;
every household keeps exactly one active head.

Sized for a county's file of 20,000 households (70,000 member rows): the workbook is streamed
(``households.xlsx_reader``) and each member and income row is validated as it is read, so only the planned
model instances stay in memory; the model checks are the field validators and ``clean()`` (``clean_fields``
costs a query per foreign key and ten times the time); the writes are bulk statements with their history rows,
in batches. Figures in README.md ("Excel import and export").
"""

from __future__ import annotations

import functools
import io
import logging
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from assistance.jurisdiction import jurisdiction_for, scope_to
from households.choices import Relation
from households.excel_columns import HOUSEHOLD_SHEET, INCOME_SHEET, MEMBER_SHEET, SHEETS, CellError, Column
from households.idcard import parse_id_number
from households.models import Household, ImportJob, IncomeRecord, Member
from households.pgcopy import COPY_ESCAPES, copy_text
from households.xlsx_reader import WorkbookError, XlsxReader
from villages.models import Village

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 5000  # a file this broken is sent back after the first 5,000 errors
LOOKUP_CHUNK = 2000  # keys per IN (...) query; well under SQLite's and PostgreSQL's parameter limits
# Rows per write statement (COPY, UPDATE … FROM (VALUES …), or the ORM's bulk statements) and per batch of
# history rows built in memory: 2,000 members × 21 values stay under PostgreSQL's 65,535 parameters. With it
# the commit of 20,000 households writes in about 8 s of its 27 s (bench_import, README).
WRITE_BATCH = 2000
ERROR_FILL = PatternFill(start_color="FFFFC7CE", end_color="FFFFC7CE", fill_type="solid")
FILE_SHEET = "文件"  # the "sheet" of errors about the file as a whole
REQUIRED_SHEETS = (HOUSEHOLD_SHEET, MEMBER_SHEET)
ALLOWED_EXTENSIONS = (".xlsx",)


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


@dataclass
class ImportResult:
    errors: list[RowError]
    households: int = 0
    members: int = 0
    incomes: int = 0
    households_created: int = 0
    households_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    incomes_created: int = 0
    incomes_updated: int = 0
    household_ids: list[int] = field(default_factory=list)
    years: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Errors:
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


# --- Model fields: the value of an empty cell and the checks of a value -----------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    attname: str
    empty: Callable[[], Any]  # the value an empty cell stands for
    validators: tuple
    blank: bool


@functools.cache
def _specs(model: type[models.Model]) -> dict[str, _FieldSpec]:
    specs = {}
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        if model_field.null:
            empty: Callable[[], Any] = type(None)
        elif model_field.has_default():
            empty = model_field.get_default
        else:
            empty = str
        specs[model_field.name] = _FieldSpec(
            model_field.attname, empty, tuple(model_field.validators), model_field.blank
        )
    return specs


def _assign(instance: models.Model, values: dict[str, Any], skip: Iterable[str] = ()) -> None:
    specs = _specs(type(instance))
    for name, value in values.items():
        if name in skip:
            continue
        spec = specs[name]
        setattr(instance, spec.attname, spec.empty() if value is None or value == "" else value)


def _field_messages(instance: models.Model, names: Iterable[str], failed: set[str]) -> dict[str, list[str]]:
    """The model's field validators (length, range, digits) on the fields the file gave: ``clean_fields``
    without its foreign-key queries and its re-conversion of values the column readers already converted."""
    specs = _specs(type(instance))
    messages: dict[str, list[str]] = {}
    for name in names:
        spec = specs.get(name)
        if spec is None or name in failed:
            continue
        value = getattr(instance, spec.attname)
        if value is None or value == "" or value == []:
            if not spec.blank:
                messages.setdefault(name, []).append("必填项未填写。")
            continue
        for validator in spec.validators:
            try:
                validator(value)
            except ValidationError as exc:
                messages.setdefault(name, []).extend(exc.messages)
    return messages


def _clean_messages(instance: models.Model) -> dict[str, list[str]]:
    try:
        instance.clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


def _merge(*dicts: dict[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for messages in dicts:
        for name, texts in messages.items():
            merged.setdefault(name, []).extend(texts)
    return merged


# --- Reading -------------------------------------------------------------------------------------------------


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _header(book: XlsxReader, sheet_name: str, columns: tuple[Column, ...], errors: _Errors) -> SheetColumns | None:
    """The sheet's columns from its first row; None (with an error) when a required column is missing."""
    by_header: dict[str, Column] = {}
    for column in columns:
        by_header[column.label] = column
        by_header[column.field] = column
    rows = book.rows(sheet_name)
    try:
        header_row, titles = next(rows, (1, []))
    finally:
        rows.close()
    found: dict[str, tuple[Column, int]] = {}
    for index, title in enumerate(titles):
        column = by_header.get(str(title).strip()) if title is not None else None
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


def _data_rows(
    book: XlsxReader, sheet: SheetColumns, errors: _Errors
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


# --- Validating ------------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    households: dict[str, Household] = field(default_factory=dict)  # household_number → instance
    household_rows: dict[str, int] = field(default_factory=dict)  # household_number → its row in 户信息
    members: list[Member] = field(default_factory=list)
    incomes: list[IncomeRecord] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=dict)  # model → the fields the workbook gives


class _Validator:
    """Reads the workbook sheet by sheet and builds the plan of what a commit would write."""

    def __init__(self, user, errors: _Errors, progress: Callable[[int], None]) -> None:
        self.user = user
        self.errors = errors
        self.progress = progress
        self.plan = _Plan()

    def run(self, path: str | Path) -> _Plan:
        try:
            with XlsxReader(path) as book:
                sheets = self._sheets(book)
                if sheets is None:
                    return self.plan
                self.progress(10)
                self._households(book, sheets[HOUSEHOLD_SHEET])
                self.progress(30)
                self._members(book, sheets[MEMBER_SHEET])
                self.progress(70)
                if sheets.get(INCOME_SHEET) is not None:
                    self._incomes(book, sheets[INCOME_SHEET])
                self.progress(85)
        except WorkbookError as exc:
            logger.info("unreadable workbook %s: %s", path, exc)
            self.errors.add(FILE_SHEET, 0, "", "文件不是有效的Excel工作簿（.xlsx），请用下载的模板填写后上传。")
        return self.plan

    def _sheets(self, book: XlsxReader) -> dict[str, SheetColumns | None] | None:
        found: dict[str, SheetColumns | None] = {}
        complete = True
        for sheet_name, columns in SHEETS:
            if sheet_name not in book.sheetnames:
                if sheet_name in REQUIRED_SHEETS:
                    self.errors.add(
                        sheet_name,
                        0,
                        "",
                        f"缺少工作表“{sheet_name}”。工作簿应包含：户信息、家庭成员、年度收入（可选）。",
                    )
                    complete = False
                continue
            found[sheet_name] = _header(book, sheet_name, columns, self.errors)
            complete = complete and found[sheet_name] is not None
        if not complete:
            return None
        self.plan.fields = {
            "household": {n for n in found[HOUSEHOLD_SHEET].columns if n != "village"},
            "member": {n for n in found[MEMBER_SHEET].columns if n != "household_number"},
            "income": set(found[INCOME_SHEET].columns) - {"household_number"} if found.get(INCOME_SHEET) else set(),
        }
        return found

    # --- 户信息 ---

    def _households(self, book: XlsxReader, sheet: SheetColumns) -> None:
        self.household_sheet = sheet
        rows = list(_data_rows(book, sheet, self.errors))
        codes = sorted({values["village"] for _, values, _ in rows if values.get("village")})
        villages = {
            v.code: v
            for chunk in _chunks(codes)
            for v in Village.objects.filter(code__in=chunk).only("id", "code", "name", "county_id", "township_id")
        }
        numbers = sorted({values["household_number"] for _, values, _ in rows if values.get("household_number")})
        existing = {
            h.household_number: h
            for chunk in _chunks(numbers)
            for h in Household.objects.filter(household_number__in=chunk)
        }
        writable = {
            number
            for chunk in _chunks(numbers)
            for number in scope_to(self.user, Household.objects.filter(household_number__in=chunk)).values_list(
                "household_number", flat=True
            )
        }
        jurisdiction = jurisdiction_for(self.user)

        def may_register_in(village: Village) -> bool:
            # The household scope's village path (assistance.jurisdiction): a helper's households do not count.
            return (
                jurisdiction.everything
                or village.county_id in jurisdiction.county_ids
                or village.township_id in jurisdiction.township_ids
                or village.pk in jurisdiction.village_ids
            )

        names = self.plan.fields["household"]
        for row, values, failed in rows:
            number = values.get("household_number")
            if not number:
                continue
            if number in self.plan.household_rows:
                first = self.plan.household_rows[number]
                self.errors.add(sheet, row, "household_number", f"户编号{number}与第{first}行重复。")
                continue
            self.plan.household_rows[number] = row
            household = existing.get(number)
            if household is not None and number not in writable:
                self.errors.add(
                    sheet, row, "household_number", f"户编号{number}已是辖区外的贫困户，不能在此导入或修改。"
                )
                continue
            code = values.get("village")
            village = villages.get(code) if code else None
            if code and village is None:
                self.errors.add(sheet, row, "village", f"村代码{code}不存在，请核对12位行政区划代码。")
            elif village is not None and not may_register_in(village):
                self.errors.add(sheet, row, "village", f"村代码{code}（{village.name}）不在您的辖区内。")
            household = household or Household(household_number=number)
            if village is not None:
                household.village_id = village.pk
            _assign(household, values, skip=("household_number", "village"))
            messages = _merge(_field_messages(household, names, failed), _clean_messages(household))
            if messages:
                self.errors.add_messages(sheet, row, messages, "household_number", failed)
            self.plan.households[number] = household

    # --- 家庭成员 ---

    def _members(self, book: XlsxReader, sheet: SheetColumns) -> None:
        plan, errors = self.plan, self.errors
        by_pk = {h.pk: number for number, h in plan.households.items() if h.pk}
        existing: dict[tuple[str, str], Member] = {}
        active_heads: dict[str, set[int]] = defaultdict(set)  # household_number → pks of its active heads
        for chunk in _chunks(list(by_pk)):
            for member in Member.objects.filter(household_id__in=chunk):
                number = by_pk[member.household_id]
                key = (number, member.id_number)
                if key not in existing or member.is_active:  # an ID that left and came back: the active row
                    existing[key] = member
                if member.is_active and member.relation == Relation.HEAD:
                    active_heads[number].add(member.pk)

        names = plan.fields["member"] - {"id_number"}
        mentioned: set[int] = set()  # pks of the members on file that the workbook lists
        heads: dict[str, list[int]] = defaultdict(list)  # household_number → rows of its active heads
        seen_in_household: dict[tuple[str, str], int] = {}
        seen_active: dict[str, int] = {}
        leaving: set[tuple[str, str]] = set()  # (household_number, id_number) marked 不在户 in the workbook
        planned_rows: list[int] = []
        uncertain: set[str] = set()
        for row, values, failed in _data_rows(book, sheet, errors):
            number = values.get("household_number")
            if not number:
                continue
            if number not in plan.household_rows:
                errors.add(sheet, row, "household_number", f"户编号{number}不在“户信息”表中。")
                continue
            household = plan.households.get(number)
            if household is None:
                continue  # the household itself was refused (reported on its row)
            id_number = str(values.get("id_number") or "").upper()
            member = existing.get((number, id_number)) if household.pk else None
            if member is not None:
                mentioned.add(member.pk)
            member = member or Member()
            member.household = household
            _assign(member, values, skip=("household_number",))
            messages = _merge(_field_messages(member, names, failed), _clean_messages(member))
            if "id_number" not in failed:
                try:
                    parsed = parse_id_number(member.id_number)
                except ValidationError as exc:
                    messages.setdefault("id_number", []).extend(exc.messages)
                else:
                    member.id_number, member.gender, member.birth_date = parsed.number, parsed.gender, parsed.birth_date
            if "relation" in failed or "is_active" in failed:
                uncertain.add(number)  # whether this row is a head is unknown: no head count for its household
            elif member.is_active and member.relation == Relation.HEAD:
                heads[number].append(row)
            if messages:
                errors.add_messages(sheet, row, messages, "id_number", failed)
                continue
            key = (number, member.id_number)
            if key in seen_in_household:
                errors.add(
                    sheet,
                    row,
                    "id_number",
                    f"户{number}中已有此身份证号（第{seen_in_household[key]}行），同一人只能登记一行。",
                )
                continue
            seen_in_household[key] = row
            if member.is_active:
                if member.id_number in seen_active:
                    errors.add(
                        sheet,
                        row,
                        "id_number",
                        f"身份证号与第{seen_active[member.id_number]}行重复：同一身份证号只能是一名在户成员。",
                    )
                    continue
                seen_active[member.id_number] = row
            else:
                leaving.add(key)
            plan.members.append(member)
            planned_rows.append(row)

        self._check_registry_ids(sheet, planned_rows, leaving)
        self._check_heads(sheet, heads, active_heads, mentioned, uncertain)

    def _check_registry_ids(self, sheet: SheetColumns, rows: list[int], leaving: set[tuple[str, str]]) -> None:
        """An ID number may be active in one household only, in the whole registry (DOMAIN.md §2)."""
        active = [(row, m) for row, m in zip(rows, self.plan.members, strict=True) if m.is_active]
        holders: dict[str, tuple[int, str]] = {}
        for chunk in _chunks([m.id_number for _, m in active]):
            for pk, id_number, number in Member.objects.filter(id_number__in=chunk, is_active=True).values_list(
                "pk", "id_number", "household__household_number"
            ):
                holders[id_number] = (pk, number)
        for row, member in active:
            holder = holders.get(member.id_number)
            if holder is None or holder[0] == member.pk:
                continue
            pk, number = holder
            if (number, member.id_number) in leaving:
                continue  # the workbook moves the person: 不在户 in the old household, 在户 in the new one
            self.errors.add(
                sheet,
                row,
                "id_number",
                f"身份证号已是户{number}的在户成员：同一身份证号只能属于一名在户成员。"
                f"如确已迁入本户，请在原户办理减少（或在本文件中把原户该成员标为不在户）。",
            )

    def _check_heads(
        self,
        sheet: SheetColumns,
        heads: dict[str, list[int]],
        active_heads: dict[str, set[int]],
        mentioned: set[int],
        uncertain: set[str],
    ) -> None:
        """Exactly one active head per household, counting the members on file the workbook does not list."""
        for number, row in self.plan.household_rows.items():
            if number not in self.plan.households or number in uncertain:
                continue
            kept = len(active_heads.get(number, set()) - mentioned)
            rows = heads.get(number, [])
            count = len(rows) + kept
            if count == 0:
                self.errors.add(
                    self.household_sheet,
                    row,
                    "household_number",
                    f"户{number}没有在户的户主：每户须有且只有一名，请在“家庭成员”表中把一名在户成员的与户主关系填为“户主”。",
                )
            elif count > 1:
                where = "、".join(f"第{r}行" for r in rows)
                extra = f"，另有{kept}名已在系统中（本文件未列出）" if kept else ""
                for head_row in rows:
                    self.errors.add(
                        sheet,
                        head_row,
                        "relation",
                        f"户{number}有{count}名在户的户主（{where}{extra}），每户须有且只有一名。",
                    )

    # --- 年度收入 ---

    def _incomes(self, book: XlsxReader, sheet: SheetColumns) -> None:
        plan, errors = self.plan, self.errors
        by_pk = {h.pk: number for number, h in plan.households.items() if h.pk}
        existing: dict[tuple[str, int], IncomeRecord] = {}
        for chunk in _chunks(list(by_pk)):
            for record in IncomeRecord.objects.filter(household_id__in=chunk):
                existing[(by_pk[record.household_id], record.year)] = record
        names = plan.fields["income"]
        seen: dict[tuple[str, int], int] = {}
        for row, values, failed in _data_rows(book, sheet, errors):
            number, year = values.get("household_number"), values.get("year")
            if not number:
                continue
            if number not in plan.household_rows:
                errors.add(sheet, row, "household_number", f"户编号{number}不在“户信息”表中。")
                continue
            household = plan.households.get(number)
            if household is None or year is None:
                continue
            if (number, year) in seen:
                errors.add(
                    sheet,
                    row,
                    "year",
                    f"户{number}的{year}年收入与第{seen[(number, year)]}行重复，每户每年只能有一条。",
                )
                continue
            seen[(number, year)] = row
            record = existing.get((number, year)) or IncomeRecord(year=year)
            record.household = household
            _assign(record, values, skip=("household_number",))
            messages = _field_messages(record, names, failed)
            if messages:
                errors.add_messages(sheet, row, messages, "year", failed)
                continue
            plan.incomes.append(record)


# --- Writing -------------------------------------------------------------------------------------------------


def _editable(model, names: set[str]) -> list[str]:
    allowed = {f.name for f in model._meta.concrete_fields if not f.primary_key}
    return sorted(n for n in names if n in allowed)


def _copy_supported(connection) -> bool:
    """PostgreSQL through psycopg2 (``COPY … FROM STDIN``); anything else writes through the ORM."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")


class _Writer:
    """Bulk writes of one commit, each row with its history row (django-simple-history's table) naming the
    user and the reason. On PostgreSQL new rows and all history rows go through ``COPY`` and updates through
    one ``UPDATE … FROM (VALUES …)`` per batch: the ORM's ``bulk_create`` spends most of its time preparing
    values one by one, and ``bulk_update`` writes a ``CASE`` per field that PostgreSQL evaluates against every
    row of the batch (20 s for 2,000 households). Elsewhere (SQLite) django-simple-history's bulk helpers."""

    def __init__(self, model: type[models.Model], user, reason: str, when) -> None:
        self.model, self.user, self.reason, self.when = model, user, reason, when
        self.connection = connections[router.db_for_write(model)]
        self.copy = _copy_supported(self.connection)
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.texts = [(f.attname, copy_text(f)) for f in self.fields]

    def create(self, objs: list) -> None:
        for batch in _chunks(objs, WRITE_BATCH):
            if not self.copy:
                bulk_create_with_history(
                    batch, self.model, batch_size=WRITE_BATCH, default_user=self.user, default_change_reason=self.reason
                )
                continue
            meta = self.model._meta
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(batch)],
                )
                for obj, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                    obj.pk = pk
            for model_field in self.fields:  # what Model.save() would set
                if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                    for obj in batch:
                        setattr(obj, model_field.attname, self.when)
            self._copy(meta.db_table, [meta.pk.column, *(f.column for f in self.fields)], self._lines(batch))
            self._history(batch, "+")

    def update(self, objs: list, names: list[str]) -> None:
        for batch in _chunks(objs, WRITE_BATCH):
            if not self.copy or not names:
                bulk_update_with_history(
                    batch,
                    self.model,
                    names,
                    batch_size=WRITE_BATCH,
                    default_user=self.user,
                    default_change_reason=self.reason,
                )
                continue
            self._update_from_values(batch, names)
            self._history(batch, "~")

    def _lines(self, objs: list, suffix: str = "") -> Iterator[str]:
        texts = self.texts
        for obj in objs:
            yield f"{obj.pk}\t" + "\t".join(text(getattr(obj, attname)) for attname, text in texts) + suffix + "\n"

    def _history(self, objs: list, kind: str) -> None:
        user_id = "\\N" if self.user is None or self.user.pk is None else str(self.user.pk)
        suffix = "\t" + "\t".join([self.when.isoformat(), self.reason.translate(COPY_ESCAPES), kind, user_id])
        meta = self.model._meta
        columns = [meta.pk.column, *(f.column for f in self.fields)]
        columns += ["history_date", "history_change_reason", "history_type", "history_user_id"]
        self._copy(self.model.history.model._meta.db_table, columns, self._lines(objs, suffix))

    def _copy(self, table: str, columns: list[str], lines: Iterable[str]) -> None:
        quote = self.connection.ops.quote_name
        buffer = io.StringIO("".join(lines))
        with self.connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN", buffer
            )

    def _update_from_values(self, objs: list, names: list[str]) -> None:
        """``UPDATE t SET f = v.f … FROM (VALUES …) AS v(id, f, …) WHERE t.id = v.id``."""
        connection, meta = self.connection, self.model._meta
        fields = [meta.get_field(name) for name in names]
        quote = connection.ops.quote_name
        casts = [f"%s::{meta.pk.db_type(connection)}", *(f"%s::{f.db_type(connection)}" for f in fields)]
        row = "(" + ", ".join(casts) + ")"
        params: list = []
        for obj in objs:
            params.append(obj.pk)
            params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)
        columns = ", ".join(quote(c) for c in ["id", *(f.column for f in fields)])
        assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
        table = quote(meta.db_table)
        sql = (
            f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(objs))}) AS v({columns}) "
            f"WHERE {table}.{quote(meta.pk.column)} = v.{quote('id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _write(plan: _Plan, user, reason: str, result: ImportResult) -> None:
    now = timezone.now()
    households = list(plan.households.values())
    new = [h for h in households if h.pk is None]
    old = [h for h in households if h.pk is not None]
    for household in old:
        household.updated_at = now
    households_writer = _Writer(Household, user, reason, now)
    households_writer.update(old, [*_editable(Household, plan.fields["household"] | {"village"}), "updated_at"])
    households_writer.create(new)  # sets their primary keys (COPY: from the sequence; ORM: PostgreSQL, SQLite ≥ 3.35)

    for member in plan.members:
        member.household_id = member.household.pk
    updates = [m for m in plan.members if m.pk is not None]
    creates = [m for m in plan.members if m.pk is None]
    member_fields = [*_editable(Member, plan.fields["member"]), "gender", "birth_date"]
    members = _Writer(Member, user, reason, now)
    # The database allows one active head per household and one active member per ID number after every
    # statement: departures first, then the other members, then the heads; new members last.
    for group in (
        [m for m in updates if not m.is_active],
        [m for m in updates if m.is_active and m.relation != Relation.HEAD],
        [m for m in updates if m.is_active and m.relation == Relation.HEAD],
    ):
        members.update(group, member_fields)
    members.create(creates)

    for record in plan.incomes:
        record.household_id = record.household.pk
    income_updates = [r for r in plan.incomes if r.pk is not None]
    income_creates = [r for r in plan.incomes if r.pk is None]
    incomes = _Writer(IncomeRecord, user, reason, now)
    incomes.update(income_updates, _editable(IncomeRecord, plan.fields["income"] - {"year"}))
    incomes.create(income_creates)

    result.households_created, result.households_updated = len(new), len(old)
    result.members_created, result.members_updated = len(creates), len(updates)
    result.incomes_created, result.incomes_updated = len(income_creates), len(income_updates)
    result.household_ids = sorted(h.pk for h in households)
    result.years = {r.year for r in plan.incomes}


def import_workbook(
    path: str | Path,
    *,
    user,
    commit: bool,
    reason: str = "Excel导入",
    progress: Callable[[int], None] | None = None,
    recompute: bool = True,
) -> ImportResult:
    """Validate a workbook (the dry run) and, when ``commit`` and it is clean, write it all in one transaction
    with history rows by ``user`` and ``reason``; the imported households' assessments are recomputed after the
    commit (``recompute=False``: the caller does it, e.g. the benchmark to time it apart)."""
    progress = progress or (lambda _: None)
    errors = _Errors()
    validator = _Validator(user, errors, progress)
    try:
        plan = validator.run(path)
    except TooManyErrors:
        errors.items.append(RowError(FILE_SHEET, 0, "", "", f"错误过多，仅列出前{MAX_REPORTED_ERRORS}条。"))
        return ImportResult(errors=errors.items)
    result = ImportResult(
        errors=errors.items, households=len(plan.households), members=len(plan.members), incomes=len(plan.incomes)
    )
    if not commit or errors.items:
        return result
    try:
        with transaction.atomic():
            _write(plan, user, reason, result)
            if recompute:
                schedule_recompute(result.household_ids, result.years)
    except IntegrityError as exc:  # a concurrent change since the validation: nothing was written
        logger.warning("import refused by the database: %s", exc)
        result.errors = [
            RowError(FILE_SHEET, 0, "", "", "导入时数据已被他人修改，未写入任何数据。请重新上传校验后再导入。")
        ]
    progress(100)
    return result


def schedule_recompute(household_ids: list[int], years: Iterable[int] = ()) -> None:
    """After the commit, recompute the households' assessments (DOMAIN.md §4) for the current year, the years
    of the imported incomes and the years they are already assessed for, one task per page."""
    from assessments.models import Assessment
    from assessments.services import current_assessment_year, page_size
    from assessments.tasks import recompute_household_page

    wanted = set(years) | {current_assessment_year()}
    for chunk in _chunks(household_ids):
        wanted.update(
            Assessment.objects.filter(household_id__in=chunk, is_current=True).values_list("year", flat=True).distinct()
        )
    ids = list(household_ids)

    def dispatch() -> None:
        for year in sorted(wanted):
            for page in _chunks(ids, page_size()):
                recompute_household_page.delay(page, year)

    transaction.on_commit(dispatch)


# --- The annotated copy ----------------------------------------------------------------------------------------


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


# --- Jobs: upload, dry run, commit (the services behind the API and the admin) -------------------------------


def check_upload(upload) -> None:
    """An uploaded workbook: an .xlsx file of at most ``IMPORT_MAX_BYTES``. Raises ValidationError in Chinese."""
    name = getattr(upload, "name", "") or ""
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise ValidationError("只能上传Excel工作簿（.xlsx）文件，请用下载的模板填写；旧版.xls请先另存为.xlsx。")
    limit = settings.IMPORT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限为{limit / 1024 / 1024:.0f} MB，请分乡镇或分批导入。"
        )
    if upload.size == 0:
        raise ValidationError("文件是空的。")


def import_job_create(*, user, upload) -> ImportJob:
    """Store an uploaded workbook as an import job and dispatch its dry run (after the commit)."""
    from households.tasks import run_import

    check_upload(upload)
    file_name = Path(upload.name).name[:200]
    job = ImportJob(user=user, file_name=file_name)
    job.file.save(file_name, upload, save=False)
    job.save()
    transaction.on_commit(lambda: run_import.delay(job.pk, commit=False))
    return job


def import_job_commit(*, job: ImportJob) -> ImportJob:
    """Queue the commit of a job whose dry run was clean; refuse (ValidationError, Chinese) otherwise. The
    status moves from "valid" to "committing" in one UPDATE, so two clicks commit once."""
    from households.tasks import run_import

    if job.status != ImportJob.Status.VALID:
        raise ValidationError(_commit_refusal(job))
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.VALID).update(
        status=ImportJob.Status.COMMITTING, progress=0
    )
    if not claimed:
        job.refresh_from_db()
        raise ValidationError(_commit_refusal(job))
    job.status, job.progress = ImportJob.Status.COMMITTING, 0
    transaction.on_commit(lambda: run_import.delay(job.pk, commit=True))
    return job


def _commit_refusal(job: ImportJob) -> str:
    reasons = {
        ImportJob.Status.UPLOADED: "文件尚未校验，请等待校验完成后再确认导入。",
        ImportJob.Status.VALIDATING: "文件正在校验，请等待校验完成后再确认导入。",
        ImportJob.Status.INVALID: "校验未通过，不能导入：请下载标注错误的文件，改正后重新上传。",
        ImportJob.Status.COMMITTING: "该文件正在导入，请勿重复提交。",
        ImportJob.Status.COMMITTED: "该文件已导入，不能重复导入；如需更新，请重新上传。",
        ImportJob.Status.FAILED: "导入失败，未写入任何数据：请重新上传校验后再导入。",
    }
    return reasons.get(job.status, "只有校验通过的文件才能导入。")


def run_job(job: ImportJob, *, commit: bool) -> ImportJob:
    """Dry-run (``commit=False``) or commit an import job, storing its report, counts and annotated copy."""

    def progress(percent: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(progress=percent)

    job.status = ImportJob.Status.COMMITTING if commit else ImportJob.Status.VALIDATING
    job.progress = 0
    job.save(update_fields=["status", "progress"])
    try:
        result = import_workbook(
            job.file.path, user=job.user, commit=commit, reason=f"Excel导入 #{job.pk}", progress=progress
        )
    except Exception:
        logger.exception("import job %s failed", job.pk)
        job.status = ImportJob.Status.FAILED if commit else ImportJob.Status.INVALID
        job.message = "处理文件时出错，未写入任何数据。请检查文件后重新上传，或联系管理员。"
        job.progress = 100
        job.save(update_fields=["status", "message", "progress"])
        raise
    job.errors = [e.as_dict() for e in result.errors]
    job.error_count = len(result.errors)
    job.households, job.members, job.incomes = result.households, result.members, result.incomes
    if result.errors:
        job.status = ImportJob.Status.FAILED if commit else ImportJob.Status.INVALID
        job.message = f"发现{len(result.errors)}处错误，未写入任何数据。"
        _save_annotated_copy(job, result.errors)
    elif commit:
        job.status = ImportJob.Status.COMMITTED
        job.committed_at = timezone.now()
        for name in (
            "households_created",
            "households_updated",
            "members_created",
            "members_updated",
            "incomes_created",
            "incomes_updated",
        ):
            setattr(job, name, getattr(result, name))
        job.message = (
            f"已导入：新增{result.households_created}户、更新{result.households_updated}户，"
            f"新增成员{result.members_created}名、更新{result.members_updated}名，"
            f"新增收入记录{result.incomes_created}条、更新{result.incomes_updated}条。"
        )
    else:
        job.status = ImportJob.Status.VALID
        job.message = (
            f"校验通过：{result.households}户、{result.members}名成员、{result.incomes}条收入记录，可以确认导入。"
        )
    job.validated_at = job.validated_at or timezone.now()
    job.progress = 100
    job.save()
    return job


def _save_annotated_copy(job: ImportJob, errors: list[RowError]) -> None:
    if job.annotated_file or not any(e.sheet != FILE_SHEET and e.row >= 1 for e in errors):
        return  # already made, or no cell to mark (an unreadable file, a missing sheet, a database refusal)
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        try:
            annotate_workbook(job.file.path, handle.name, errors)
        except WorkbookError:
            return
        job.annotated_file.save(f"标注错误_{job.file_name}", ContentFile(Path(handle.name).read_bytes()), save=False)


__all__ = [
    "ImportResult",
    "RowError",
    "annotate_workbook",
    "check_upload",
    "import_job_commit",
    "import_job_create",
    "import_workbook",
    "run_job",
    "schedule_recompute",
]
