"""Validating an import workbook (issue 7) and planning what its commit would write.

Rows are matched to the registry by 户编号 (households), 户编号 + 身份证号 (members) and 户编号 + 年度 (incomes),
so re-importing a file updates the same rows and creates no duplicates; members and incomes already on file
that the workbook does not mention are kept. Columns missing from a sheet leave those fields untouched on
existing rows; an empty cell means the field's empty value (or its default).

Checks: every cell is converted by its column's reader (``read``), then the model's field validators and
``clean()`` run on the row; the ID number is checked (§8), and the unique-ID and head rules of
``households.rules`` hold (an ID number once per household and active once in the file; exactly one active
head per household, counting the members on file the workbook does not list); an active ID number must not be
active in another household of the registry; the village must exist and be inside the user's jurisdiction, an
existing household must be too.

Sized for a county's file of 20,000 households (70,000 member rows): each member and income row is validated
as it is read, so only the planned model instances stay in memory; the model checks are the field validators
and ``clean()`` (``clean_fields`` costs a query per foreign key and ten times the time).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from households import rules
from households.choices import Relation
from households.excel_columns import HOUSEHOLD_SHEET, INCOME_SHEET, MEMBER_SHEET
from households.idcard import parse_id_number
from households.imports.read import FILE_SHEET, ErrorList, SheetColumns, chunks, data_rows, read_sheets
from households.models import Household, IncomeRecord, Member
from households.services import DECIDED_FIELD_MESSAGE
from households.xlsx_reader import WorkbookError, WorkbookTooLarge, XlsxReader
from povertycase.jurisdiction import jurisdiction_for, scope_to
from villages.models import Village

logger = logging.getLogger(__name__)

NO_HEAD_HINT = "请在“家庭成员”表中把一名在户成员的与户主关系填为“户主”。"
NO_DATA_ROWS = "文件中没有数据行：请在“户信息”“家庭成员”表的第一行列名下填写数据后再上传。"


@dataclass
class Plan:
    """What a commit writes: the model instances, new (no pk) or changed, and the fields the workbook gives."""

    households: dict[str, Household] = field(default_factory=dict)  # household_number → instance
    household_rows: dict[str, int] = field(default_factory=dict)  # household_number → its row in 户信息
    members: list[Member] = field(default_factory=list)
    incomes: list[IncomeRecord] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=dict)  # model → the fields the workbook gives


def validate_workbook(path: str | Path, *, user, errors: ErrorList, progress: Callable[[int], None]) -> Plan:
    """Read and check the workbook at ``path`` for ``user``, adding every error to ``errors``; the plan of what a
    commit would write (to be written only when there is no error). Raises TooManyErrors past the limit."""
    return _Validator(user, errors, progress).run(path)


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


# --- The sheets ------------------------------------------------------------------------------------------------


class _Validator:
    """Reads the workbook sheet by sheet and builds the plan of what a commit would write."""

    def __init__(self, user, errors: ErrorList, progress: Callable[[int], None]) -> None:
        self.user = user
        self.errors = errors
        self.progress = progress
        self.plan = Plan()

    def run(self, path: str | Path) -> Plan:
        try:
            with XlsxReader(
                path,
                max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
                max_expansion_ratio=settings.IMPORT_MAX_EXPANSION_RATIO,
                unreadable_cells=True,
            ) as book:
                sheets = read_sheets(book, self.errors)
                if sheets is None:
                    return self.plan
                self.plan.fields = {
                    "household": {n for n in sheets[HOUSEHOLD_SHEET].columns if n != "village"},
                    "member": {n for n in sheets[MEMBER_SHEET].columns if n != "household_number"},
                    "income": set(sheets[INCOME_SHEET].columns) - {"household_number"}
                    if INCOME_SHEET in sheets
                    else set(),
                }
                self.progress(10)
                self._households(book, sheets[HOUSEHOLD_SHEET])
                self.progress(30)
                self._members(book, sheets[MEMBER_SHEET])
                self.progress(70)
                if INCOME_SHEET in sheets:
                    self._incomes(book, sheets[INCOME_SHEET])
                self.progress(85)
        except WorkbookTooLarge as exc:
            logger.info("workbook %s refused: %s", path, exc)
            self.errors.add(FILE_SHEET, 0, "", str(exc))
        except WorkbookError as exc:
            logger.info("unreadable workbook %s: %s", path, exc)
            self.errors.add(FILE_SHEET, 0, "", "文件不是有效的Excel工作簿（.xlsx），请用下载的模板填写后上传。")
        return self.plan

    # --- 户信息 ---

    def _households(self, book: XlsxReader, sheet: SheetColumns) -> None:
        self.household_sheet = sheet
        reported = len(self.errors.items)
        rows = list(data_rows(book, sheet, self.errors))
        if not rows and len(self.errors.items) == reported:  # (a template's example row left in is reported)
            self.errors.add(FILE_SHEET, 0, "", NO_DATA_ROWS)
        codes = sorted({values["village"] for _, values, _ in rows if values.get("village")})
        villages = {
            v.code: v
            for chunk in chunks(codes)
            for v in Village.objects.filter(code__in=chunk).only("id", "code", "name", "county_id", "township_id")
        }
        numbers = sorted({values["household_number"] for _, values, _ in rows if values.get("household_number")})
        existing = {
            h.household_number: h
            for chunk in chunks(numbers)
            for h in Household.objects.filter(household_number__in=chunk)
        }
        writable = {
            number
            for chunk in chunks(numbers)
            for number in scope_to(self.user, Household.objects.filter(household_number__in=chunk)).values_list(
                "household_number", flat=True
            )
        }
        jurisdiction = jurisdiction_for(self.user)

        def may_register_in(village: Village) -> bool:
            # The household scope's village path (povertycase.jurisdiction): a helper's households do not count.
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
            if household is not None:
                # Status and years change only by decisions (DOMAIN.md §5): an update may repeat them, not change them.
                for name in Household.DECIDED_FIELDS:
                    if name in values and values[name] != getattr(household, name):
                        self.errors.add(sheet, row, name, DECIDED_FIELD_MESSAGE)
            household = household or Household(household_number=number)
            if village is not None:
                household.village_id = village.pk
            _assign(household, values, skip=("household_number", "village"))
            messages = _merge(_field_messages(household, names, failed), _clean_messages(household))
            if messages:
                self.errors.add_messages(sheet, row, messages, "household_number", failed)
            self.plan.households[number] = household

    def _rows_of_households(
        self, book: XlsxReader, sheet: SheetColumns
    ) -> Iterator[tuple[int, dict[str, Any], set[str], str, Household]]:
        """The data rows of a sheet joined to 户信息 by 户编号: (row, values, failed fields, household number,
        household). A number not in 户信息 is reported; the rows of a refused household are passed over."""
        for row, values, failed in data_rows(book, sheet, self.errors):
            number = values.get("household_number")
            if not number:
                continue
            if number not in self.plan.household_rows:
                self.errors.add(sheet, row, "household_number", f"户编号{number}不在“户信息”表中。")
                continue
            household = self.plan.households.get(number)
            if household is None:
                continue  # the household itself was refused (reported on its row)
            yield row, values, failed, number, household

    # --- 家庭成员 ---

    def _members(self, book: XlsxReader, sheet: SheetColumns) -> None:
        plan, errors = self.plan, self.errors
        by_pk = {h.pk: number for number, h in plan.households.items() if h.pk}
        existing: dict[tuple[str, str], Member] = {}
        active_heads: dict[str, set[int]] = defaultdict(set)  # household_number → pks of its active heads
        for chunk in chunks(list(by_pk)):
            for member in Member.objects.filter(household_id__in=chunk):
                number = by_pk[member.household_id]
                key = (number, member.id_number)
                if key not in existing or member.is_active:  # an ID that left and came back: the active row
                    existing[key] = member
                if member.is_active and member.relation == Relation.HEAD:
                    active_heads[number].add(member.pk)

        names = plan.fields["member"] - {"id_number"}
        mentioned: set[int] = set()  # pks of the members on file that the workbook lists
        # household_number → its rows whose relation and status could be read (for the head rule)
        lines: dict[str, list[rules.MemberLine]] = defaultdict(list)
        uncertain: set[str] = set()  # households with a row whose relation or status is unknown
        candidates: list[tuple[int, str, Member]] = []  # the rows without errors: (row, household_number, member)
        for row, values, failed, number, household in self._rows_of_households(book, sheet):
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
            else:
                lines[number].append(rules.MemberLine(row, member.relation, member.is_active, member.id_number))
            if messages:
                errors.add_messages(sheet, row, messages, "id_number", failed)
                continue
            candidates.append((row, number, member))

        planned = self._check_ids_in_file(sheet, candidates)
        plan.members = [member for _, _, member in planned]
        self._check_registry_ids(sheet, planned)
        self._check_heads(sheet, lines, active_heads, mentioned, uncertain)

    def _check_ids_in_file(
        self, sheet: SheetColumns, candidates: list[tuple[int, str, Member]]
    ) -> list[tuple[int, str, Member]]:
        """The unique-ID rule within the file (``households.rules``): a person once per household, an active
        person once in the file. The rows that keep to it, in their order."""
        by_household: dict[str, list[rules.MemberLine]] = defaultdict(list)
        for row, number, member in candidates:
            by_household[number].append(rules.MemberLine(row, member.relation, member.is_active, member.id_number))
        refused: dict[int, str] = {}
        for number, household_lines in by_household.items():
            refused.update(rules.repeated_id_errors(household_lines, household_number=number))
        once = [line for lines in by_household.values() for line in lines if line.row not in refused]
        refused.update(rules.repeated_active_id_errors(sorted(once)))
        for row in sorted(refused):
            self.errors.add(sheet, row, "id_number", refused[row])
        return [candidate for candidate in candidates if candidate[0] not in refused]

    def _check_registry_ids(self, sheet: SheetColumns, planned: list[tuple[int, str, Member]]) -> None:
        """An ID number may be active in one household only, in the whole registry (DOMAIN.md §2)."""
        # (household_number, id_number) marked 不在户 in the workbook
        leaving = {(number, member.id_number) for _, number, member in planned if not member.is_active}
        active = [(row, member) for row, _, member in planned if member.is_active]
        holders: dict[str, tuple[int, str]] = {}
        for chunk in chunks([m.id_number for _, m in active]):
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
        lines: dict[str, list[rules.MemberLine]],
        active_heads: dict[str, set[int]],
        mentioned: set[int],
        uncertain: set[str],
    ) -> None:
        """The head rule (``households.rules``) on every household, counting the members on file the workbook
        does not list: no head is reported on the household's row, more than one on each head's row."""
        for number, household_row in self.plan.household_rows.items():
            if number not in self.plan.households or number in uncertain:
                continue
            kept = len(active_heads.get(number, set()) - mentioned)
            found = rules.head_errors(lines.get(number, []), household_number=number, heads_on_file=kept)
            for row, message in found.items():
                if row is rules.HOUSEHOLD:
                    hint = NO_HEAD_HINT if not kept else ""
                    self.errors.add(self.household_sheet, household_row, "household_number", message + hint)
                else:
                    self.errors.add(sheet, row, "relation", message)

    # --- 年度收入 ---

    def _incomes(self, book: XlsxReader, sheet: SheetColumns) -> None:
        plan, errors = self.plan, self.errors
        by_pk = {h.pk: number for number, h in plan.households.items() if h.pk}
        existing: dict[tuple[str, int], IncomeRecord] = {}
        for chunk in chunks(list(by_pk)):
            for record in IncomeRecord.objects.filter(household_id__in=chunk):
                existing[(by_pk[record.household_id], record.year)] = record
        names = plan.fields["income"]
        seen: dict[tuple[str, int], int] = {}
        for row, values, failed, number, household in self._rows_of_households(book, sheet):
            year = values.get("year")
            if year is None:
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
