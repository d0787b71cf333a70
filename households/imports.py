"""Import of household-file workbooks (DOMAIN.md §2): a dry run that reports every error by sheet, row and
column in Chinese, a copy of the workbook with the faulty cells marked, and an all-or-nothing commit.

Rows are matched to the registry by 户编号 (households), 户编号 + 身份证号 (members) and 户编号 + 年度 (incomes),
so re-importing a file updates the same rows and creates no duplicates. Columns missing from a sheet leave
those fields untouched on existing rows. The workbook is read in openpyxl's read-only (streaming) mode and the
writes are bulk operations with their history rows, so a county's file of 20,000 households fits in memory and
in a minute.
"""

from __future__ import annotations

import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from assistance.jurisdiction import scope_to
from households.choices import Relation
from households.excel_columns import (
    HOUSEHOLD_SHEET,
    INCOME_SHEET,
    MEMBER_SHEET,
    SHEETS,
    CellError,
    Column,
)
from households.models import Household, ImportJob, IncomeRecord, Member
from villages.models import Village

MAX_REPORTED_ERRORS = 5000  # a file this broken is sent back after the first 5,000 errors
LOOKUP_CHUNK = 2000  # ids per IN (...) query; well under SQLite's and PostgreSQL's parameter limits
WRITE_BATCH = 2000  # rows per bulk INSERT/UPDATE
ERROR_FILL = PatternFill(start_color="FFFFC7CE", end_color="FFFFC7CE", fill_type="solid")


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int  # 1-based worksheet row; 0 = the sheet (or file) itself
    column: str  # the column's label, "" for a row or file error
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
        where = f"“{self.sheet}”表"
        if self.row:
            where += f"第{self.row}行"
        if self.column:
            where += f"“{self.column}”列（{self.column_letter}）"
        return f"{where}：{self.message}"


class TooManyErrors(Exception):
    pass


@dataclass
class SheetRows:
    name: str
    columns: dict[str, tuple[Column, int]]  # field → (column, 1-based column index)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def letter(self, field_name: str) -> str:
        column = self.columns.get(field_name)
        return get_column_letter(column[1]) if column else ""

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

    def add(self, sheet: SheetRows | str, row: int, field_name: str, message: str) -> None:
        if isinstance(sheet, SheetRows):
            self.items.append(RowError(sheet.name, row, sheet.label(field_name), sheet.letter(field_name), message))
        else:
            self.items.append(RowError(sheet, row, "", "", message))
        if len(self.items) >= MAX_REPORTED_ERRORS:
            raise TooManyErrors

    def add_validation(self, sheet: SheetRows, row: int, exc: ValidationError, fallback: str) -> None:
        derived = {"gender": "id_number", "birth_date": "id_number"}
        for name, messages in exc.message_dict.items():
            name = derived.get(name, name)
            target = name if name in sheet.columns else fallback
            for message in messages:
                self.add(sheet, row, target, message)


# --- Reading -------------------------------------------------------------------------------------------------


def read_workbook(path: str | Path, errors: _Errors) -> dict[str, SheetRows]:
    """Parse the three sheets, converting every cell; unreadable cells become errors."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        errors.add("文件", 0, "", "文件不是有效的Excel工作簿（.xlsx），请用下载的模板填写后上传。")
        return {}
    sheets: dict[str, SheetRows] = {}
    try:
        for sheet_name, columns in SHEETS:
            if sheet_name not in workbook.sheetnames:
                if sheet_name == INCOME_SHEET:
                    sheets[sheet_name] = SheetRows(sheet_name, {})
                    continue
                errors.add(sheet_name, 0, "", f"缺少工作表“{sheet_name}”。工作簿应包含：户信息、家庭成员、年度收入。")
                continue
            sheets[sheet_name] = _read_sheet(workbook[sheet_name], sheet_name, columns, errors)
    finally:
        workbook.close()
    return sheets


def _read_sheet(worksheet, sheet_name: str, columns: tuple[Column, ...], errors: _Errors) -> SheetRows:
    by_header = {}
    for column in columns:
        by_header[column.label] = column
        by_header[column.field] = column
    rows = worksheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    found: dict[str, tuple[Column, int]] = {}
    for index, title in enumerate(header, start=1):
        column = by_header.get(str(title).strip()) if title is not None else None
        if column is not None and column.field not in found:
            found[column.field] = (column, index)
    sheet = SheetRows(sheet_name, found)
    missing = [c.label for c in columns if c.required and c.field not in found]
    if missing:
        errors.add(sheet_name, 1, "", f"缺少必填列：{'、'.join(missing)}。请使用下载的模板。")
        return sheet
    for row_number, values in enumerate(rows, start=2):
        if values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        parsed: dict[str, Any] = {}
        for name, (column, index) in found.items():
            raw = values[index - 1] if index - 1 < len(values) else None
            try:
                value = column.read(raw)
            except CellError as exc:
                errors.add(sheet, row_number, name, str(exc))
                continue
            if column.required and value in (None, "", []):
                errors.add(sheet, row_number, name, "必填项未填写。")
                continue
            parsed[name] = value
        sheet.rows.append((row_number, parsed))
    return sheet


# --- Validating ------------------------------------------------------------------------------------------------


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _apply(instance, values: dict[str, Any], skip: Iterable[str] = ()) -> None:
    """Set the file's values; an empty cell means the field's empty value (None or its default)."""
    for name, value in values.items():
        if name in skip:
            continue
        model_field = instance._meta.get_field(name)
        if value is None or value == "":
            value = None if model_field.null else (model_field.get_default() if model_field.has_default() else "")
        setattr(instance, model_field.attname if not model_field.is_relation else name, value)


@dataclass
class _Plan:
    households: dict[str, Household] = field(default_factory=dict)  # household_number → instance
    new_households: set[str] = field(default_factory=set)
    members: list[Member] = field(default_factory=list)
    member_numbers: list[str] = field(default_factory=list)  # household_number of each planned member
    incomes: list[IncomeRecord] = field(default_factory=list)
    income_numbers: list[str] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _validate(sheets: dict[str, SheetRows], user, errors: _Errors) -> _Plan:
    plan = _Plan()
    households_sheet = sheets.get(HOUSEHOLD_SHEET)
    members_sheet = sheets.get(MEMBER_SHEET)
    incomes_sheet = sheets.get(INCOME_SHEET)
    if households_sheet is None or members_sheet is None:
        return plan
    plan.fields["household"] = {n for n in households_sheet.columns if n not in ("household_number", "village")}
    plan.fields["member"] = {n for n in members_sheet.columns if n != "household_number"}
    plan.fields["income"] = {
        n for n in (incomes_sheet.columns if incomes_sheet else {}) if n not in ("household_number", "year")
    }

    # Villages: known, and inside the user's jurisdiction.
    codes = sorted({values["village"] for _, values in households_sheet.rows if values.get("village")})
    villages = {v.code: v for chunk in _chunks(codes) for v in Village.objects.filter(code__in=chunk)}
    allowed = {
        code
        for chunk in _chunks(codes)
        for code in scope_to(user, Village.objects.filter(code__in=chunk)).values_list("code", flat=True)
    }
    # Existing households of the file, and which of them the user may change.
    numbers = sorted(
        {values["household_number"] for _, values in households_sheet.rows if values.get("household_number")}
    )
    existing = {
        h.household_number: h
        for chunk in _chunks(numbers)
        for h in Household.objects.filter(household_number__in=chunk)
    }
    writable = {
        n
        for chunk in _chunks(numbers)
        for n in scope_to(user, Household.objects.filter(household_number__in=chunk)).values_list(
            "household_number", flat=True
        )
    }

    first_row: dict[str, int] = {}
    for row, values in households_sheet.rows:
        number = values.get("household_number")
        if not number:
            continue
        if number in first_row:
            errors.add(households_sheet, row, "household_number", f"户编号{number}与第{first_row[number]}行重复。")
            continue
        first_row[number] = row
        code = values.get("village")
        village = villages.get(code) if code else None
        if code and village is None:
            errors.add(households_sheet, row, "village", f"村代码{code}不存在，请核对12位行政区划代码。")
        elif code and code not in allowed:
            errors.add(households_sheet, row, "village", f"村代码{code}（{village.name}）不在您的辖区内。")
            village = None
        household = existing.get(number)
        if household is not None and number not in writable:
            errors.add(households_sheet, row, "household_number", f"户编号{number}已被辖区外的户使用。")
            continue
        if household is None:
            household = Household(household_number=number)
            plan.new_households.add(number)
        if village is not None:
            household.village = village
        _apply(household, values, skip=("household_number", "village"))
        try:
            household.clean_fields(exclude=["village"] if village is None else None)
            household.clean()
        except ValidationError as exc:
            errors.add_validation(households_sheet, row, exc, "household_number")
        plan.households[number] = household

    _validate_members(members_sheet, plan, first_row, households_sheet, errors)
    if incomes_sheet is not None:
        _validate_incomes(incomes_sheet, plan, errors)
    return plan


def _validate_members(
    sheet: SheetRows, plan: _Plan, household_rows: dict[str, int], households_sheet: SheetRows, errors: _Errors
) -> None:
    on_file: dict[tuple[str, str], Member] = {}
    existing_by_household: dict[int, list[Member]] = defaultdict(list)
    existing_ids = [h.pk for h in plan.households.values() if h.pk]
    for chunk in _chunks(existing_ids):
        for member in Member.objects.filter(household_id__in=chunk).select_related("household"):
            on_file[(member.household.household_number, member.id_number)] = member
            existing_by_household[member.household_id].append(member)

    seen_ids: dict[str, int] = {}
    file_ids: list[str] = []
    rows: list[tuple[int, dict, Member, str]] = []
    for row, values in sheet.rows:
        number = values.get("household_number")
        if number and number not in household_rows:
            errors.add(sheet, row, "household_number", f"户编号{number}不在“户信息”表中。")
            continue
        if not number or number not in plan.households:
            continue
        raw_id = str(values.get("id_number") or "").strip().upper()
        member = on_file.get((number, raw_id)) or Member()
        _apply(member, values, skip=("household_number",))
        try:
            member.clean_fields(exclude=["household"])
            member.clean()
        except ValidationError as exc:
            errors.add_validation(sheet, row, exc, "id_number")
            continue
        if member.is_active:
            if member.id_number in seen_ids:
                errors.add(sheet, row, "id_number", f"身份证号与第{seen_ids[member.id_number]}行重复。")
                continue
            seen_ids[member.id_number] = row
            file_ids.append(member.id_number)
        rows.append((row, values, member, number))

    # An ID number may be active in one household only, in the whole registry.
    elsewhere: dict[str, str] = {}
    for chunk in _chunks(file_ids):
        for id_number, number in Member.objects.filter(id_number__in=chunk, is_active=True).values_list(
            "id_number", "household__household_number"
        ):
            elsewhere[id_number] = number
    heads: Counter = Counter()
    in_file_pks: set[int] = set()
    for row, _values, member, number in rows:
        other = elsewhere.get(member.id_number) if member.is_active else None
        if other is not None and other != number:
            errors.add(sheet, row, "id_number", f"身份证号已是户{other}的在户成员，同一身份证号只能属于一名在户成员。")
            continue
        if member.pk:
            in_file_pks.add(member.pk)
        if member.is_active and member.relation == Relation.HEAD:
            heads[number] += 1
        plan.members.append(member)
        plan.member_numbers.append(number)
    # Exactly one active head per household, counting members on file that the workbook does not mention.
    for number, household in plan.households.items():
        kept = (
            [m for m in existing_by_household.get(household.pk, []) if m.pk not in in_file_pks] if household.pk else []
        )
        count = heads[number] + sum(1 for m in kept if m.is_active and m.relation == Relation.HEAD)
        if count != 1:
            errors.add(
                households_sheet,
                household_rows[number],
                "household_number",
                f"户{number}须有且只有一名在户的户主，“家庭成员”表中为{count}名。",
            )


def _validate_incomes(sheet: SheetRows, plan: _Plan, errors: _Errors) -> None:
    existing: dict[tuple[str, int], IncomeRecord] = {}
    ids = {h.pk: n for n, h in plan.households.items() if h.pk}
    for chunk in _chunks(list(ids)):
        for record in IncomeRecord.objects.filter(household_id__in=chunk):
            existing[(ids[record.household_id], record.year)] = record
    seen: dict[tuple[str, int], int] = {}
    for row, values in sheet.rows:
        number, year = values.get("household_number"), values.get("year")
        if number and number not in plan.households:
            errors.add(sheet, row, "household_number", f"户编号{number}不在“户信息”表中。")
            continue
        if not number or year is None:
            continue
        if (number, year) in seen:
            errors.add(
                sheet, row, "year", f"户{number}的{year}年收入与第{seen[(number, year)]}行重复，每户每年只能有一条。"
            )
            continue
        seen[(number, year)] = row
        record = existing.get((number, year)) or IncomeRecord(year=year)
        _apply(record, values, skip=("household_number",))
        try:
            record.clean_fields(exclude=["household"])
        except ValidationError as exc:
            errors.add_validation(sheet, row, exc, "year")
            continue
        plan.incomes.append(record)
        plan.income_numbers.append(number)


# --- Writing -------------------------------------------------------------------------------------------------


def _editable(model, names: set[str]) -> list[str]:
    allowed = {f.name for f in model._meta.concrete_fields if not f.primary_key}
    return sorted(n for n in names if n in allowed)


def _write(plan: _Plan, user, reason: str, result: ImportResult) -> None:
    new = [h for n, h in plan.households.items() if n in plan.new_households]
    old = [h for n, h in plan.households.items() if n not in plan.new_households]
    household_fields = [*_editable(Household, plan.fields["household"] | {"village"}), "updated_at"]
    now = timezone.now()
    for household in old:
        household.updated_at = now
    if old:
        bulk_update_with_history(
            old, Household, household_fields, batch_size=WRITE_BATCH, default_user=user, default_change_reason=reason
        )
    if new:
        bulk_create_with_history(
            new, Household, batch_size=WRITE_BATCH, default_user=user, default_change_reason=reason
        )
    ids = {}
    numbers = list(plan.households)
    for chunk in _chunks(numbers):
        ids.update(Household.objects.filter(household_number__in=chunk).values_list("household_number", "id"))
    for number, household in plan.households.items():
        household.pk = household.id = ids[number]

    member_fields = [*_editable(Member, plan.fields["member"]), "gender", "birth_date"]
    updates, creates = [], []
    for member, number in zip(plan.members, plan.member_numbers, strict=True):
        member.household_id = ids[number]
        (updates if member.pk else creates).append(member)
    # Demote before promoting, and retire before activating, so that the one-active-head and unique-active-ID
    # constraints hold after every statement.
    first = [m for m in updates if not (m.is_active and m.relation == Relation.HEAD)]
    second = [m for m in updates if m.is_active and m.relation == Relation.HEAD]
    for batch in (first, second):
        if batch:
            bulk_update_with_history(
                batch, Member, member_fields, batch_size=WRITE_BATCH, default_user=user, default_change_reason=reason
            )
    if creates:
        bulk_create_with_history(
            creates, Member, batch_size=WRITE_BATCH, default_user=user, default_change_reason=reason
        )

    income_fields = _editable(IncomeRecord, plan.fields["income"])
    income_updates, income_creates = [], []
    for record, number in zip(plan.incomes, plan.income_numbers, strict=True):
        record.household_id = ids[number]
        (income_updates if record.pk else income_creates).append(record)
    if income_updates and income_fields:
        bulk_update_with_history(
            income_updates,
            IncomeRecord,
            income_fields,
            batch_size=WRITE_BATCH,
            default_user=user,
            default_change_reason=reason,
        )
    if income_creates:
        bulk_create_with_history(
            income_creates, IncomeRecord, batch_size=WRITE_BATCH, default_user=user, default_change_reason=reason
        )

    result.households_created, result.households_updated = len(new), len(old)
    result.members_created, result.members_updated = len(creates), len(updates)
    result.incomes_created, result.incomes_updated = len(income_creates), len(income_updates)
    result.household_ids = sorted(ids.values())
    result.years = {r.year for r in plan.incomes}


def import_workbook(
    path: str | Path, *, user, commit: bool, reason: str = "Excel导入", progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Validate a workbook and, when ``commit`` and clean, write it all in one transaction."""
    progress = progress or (lambda _: None)
    errors = _Errors()
    try:
        sheets = read_workbook(path, errors)
        progress(30)
        plan = _validate(sheets, user, errors)
    except TooManyErrors:
        errors.items.append(RowError("文件", 0, "", "", f"错误过多，仅列出前{MAX_REPORTED_ERRORS}条。"))
        return ImportResult(errors=errors.items)
    progress(60)
    result = ImportResult(
        errors=errors.items, households=len(plan.households), members=len(plan.members), incomes=len(plan.incomes)
    )
    if not commit or errors.items:
        return result
    try:
        with transaction.atomic():
            _write(plan, user, reason, result)
            _schedule_recompute(result)
    except IntegrityError as exc:  # a concurrent change since the validation: nothing was written
        result.errors = [
            RowError("文件", 0, "", "", f"导入时数据已被他人修改，未写入任何数据，请重新校验后导入。（{exc}）")
        ]
    progress(100)
    return result


def _schedule_recompute(result: ImportResult) -> None:
    from assessments.services import BATCH_SIZE, current_assessment_year
    from assessments.tasks import recompute_household_page

    years = sorted(result.years | {current_assessment_year()})
    ids = list(result.household_ids)

    def dispatch() -> None:
        for year in years:
            for chunk in _chunks(ids, BATCH_SIZE):
                recompute_household_page.delay(chunk, year)

    transaction.on_commit(dispatch)


# --- The annotated copy ----------------------------------------------------------------------------------------


def annotate_workbook(source: str | Path, target: str | Path, errors: list[RowError]) -> None:
    """Write a copy of ``source`` with every faulty cell filled red and commented with its error(s).
    Streams both workbooks (read-only in, write-only out): memory stays flat for large files."""
    by_cell: dict[tuple[str, int, str], list[str]] = defaultdict(list)
    for error in errors:
        by_cell[(error.sheet, error.row, error.column_letter or "A")].append(error.message)
    workbook = load_workbook(source, read_only=True, data_only=False)
    out = Workbook(write_only=True)
    try:
        for worksheet in workbook.worksheets:
            target_sheet = out.create_sheet(worksheet.title)
            sheet_errors = [m for (s, r, _), m in by_cell.items() if s == worksheet.title and r == 0]
            for row_number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                cells = []
                for column_number, value in enumerate(values, start=1):
                    cell = WriteOnlyCell(target_sheet, value=value)
                    messages = by_cell.get((worksheet.title, row_number, get_column_letter(column_number)))
                    if row_number == 1 and column_number == 1 and sheet_errors:
                        messages = [*(messages or []), *(m for ms in sheet_errors for m in ms)]
                    if messages:
                        cell.fill = ERROR_FILL
                        cell.comment = Comment("\n".join(messages), "校验")
                    cells.append(cell)
                target_sheet.append(cells)
        out.save(target)
    finally:
        workbook.close()


# --- Jobs (run by the Celery task) ---------------------------------------------------------------------------


def run_job(job: ImportJob, *, commit: bool) -> ImportJob:
    """Dry-run (``commit=False``) or commit an import job, storing its report and counts."""
    from django.core.files.base import ContentFile

    def progress(percent: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(progress=percent)

    job.status = ImportJob.Status.COMMITTING if commit else ImportJob.Status.VALIDATING
    job.progress = 0
    job.save(update_fields=["status", "progress"])
    result = import_workbook(
        job.file.path, user=job.user, commit=commit, reason=f"Excel导入 #{job.pk}", progress=progress
    )
    job.errors = [e.as_dict() for e in result.errors]
    job.error_count = len(result.errors)
    for name in ("households", "members", "incomes"):
        setattr(job, name, getattr(result, name))
    if result.errors:
        job.status = ImportJob.Status.FAILED if commit else ImportJob.Status.INVALID
        job.message = f"发现{len(result.errors)}处错误，未写入任何数据。"
        if not job.annotated_file and Path(job.file.path).exists() and result.errors[0].row >= 0:
            try:
                import tempfile

                with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
                    annotate_workbook(job.file.path, handle.name, result.errors)
                    job.annotated_file.save(
                        f"标注错误_{job.file_name}", ContentFile(Path(handle.name).read_bytes()), save=False
                    )
            except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
                pass  # the file itself is unreadable: there is nothing to annotate
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
        job.message = f"校验通过：{result.households}户、{result.members}名成员、{result.incomes}条收入记录，可以导入。"
    job.validated_at = job.validated_at or timezone.now()
    job.progress = 100
    job.save()
    return job
