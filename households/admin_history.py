"""Change histories that a clerk can read, in the back office (issue 11).

Owns what every simple-history page of the admin shows (the project's ``templates/simple_history/`` overrides
render it through the ``history_display`` template tags): choice labels instead of slugs, dates as dates, "—"
for empty values, Chinese field names, and the person who made each change by name (``user_display_name``),
with personal numbers masked exactly as the page's admin masks them (``PersonalDataAdminMixin``). And the
household's own history page: its members' and incomes' changes below its own, its versions viewable but never
reverted (``status``, ``identified_year`` and ``exit_year`` change only by decisions, DOMAIN.md §5), and a
column where a higher app links a version to the decision behind it (``register_history_annotator``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

from django.contrib import admin
from django.contrib.admin.utils import label_for_field, unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.html import format_html
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from households import choices
from households.admin_personal_data import PERSONAL_MASKS, MaskedHistoryContextHelper
from households.models import Household, IncomeRecord, Member
from households.personal_data import may_view_personal_data
from households.selectors import household_history, user_display_names

#: How a history shows a value that is not there (never "None").
EMPTY = "—"
#: simple-history's record types, said in Chinese.
RECORD_ACTIONS = {"+": "新增", "~": "修改", "-": "删除"}
#: ``households.selectors.household_history``'s actions, said in Chinese.
HISTORY_ACTIONS = {"created": "新增", "changed": "修改", "deleted": "删除"}
#: The household's history page lists its members' and incomes' latest changes up to this many.
HISTORY_RELATED_LIMIT = 200
#: Fields whose value is a list of slugs without choices of their own: (model label, field name) → labels.
LIST_LABELS: dict[tuple[str, str], dict[str, str]] = {
    ("households.household", "other_causes"): {str(value): str(label) for value, label in choices.Cause.choices},
}
REVERT_REFUSED_MESSAGE = (
    "户状态、识别年度和脱贫年度只能由识别、退出等决定变更，不能通过“还原”改写：户档案的历史版本只能查看，不能还原。"
)


# ---------------------------------------------------------------------------------------------------------
# Values


def _format_datetime(value: dt.datetime) -> str:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M")


def shown_value(field: models.Field | None, value, *, labels: dict[str, str] | None = None) -> str:
    """A field's value as a history shows it: the choice's label, 是/否, a date or a local time, the list's
    items joined with "、", an object's name, "—" for nothing."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, DeletedObject):
        return f"（已删除的{value.model._meta.verbose_name}）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if labels is None and field is not None and field.choices:
        labels = {str(key): str(label) for key, label in field.flatchoices}
    if isinstance(value, list | tuple):
        return "、".join(shown_value(None, item, labels=labels) for item in value)
    if labels and str(value) in labels:
        return labels[str(value)]
    if isinstance(value, dt.datetime):
        return _format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------------------------
# The rows of a simple-history page


@dataclasses.dataclass(frozen=True)
class HistoryChangeRow:
    field: str  # the field's name (``status``), for annotators
    label: str  # its verbose name (户状态)
    old: str
    new: str


@dataclasses.dataclass
class HistoryRow:
    """One version on a simple-history page, as shown: ``record`` is simple-history's historical row."""

    record: models.Model
    action: str
    user_name: str
    reason: str
    changes: tuple[HistoryChangeRow, ...]
    columns: tuple = ()  # the admin's ``history_list_display`` values
    note: str | None = None  # an annotator's HTML (e.g. the decision behind a status change)

    def changed(self, field: str) -> bool:
        return any(change.field == field for change in self.changes)


@dataclasses.dataclass
class HistoryTable:
    rows: list[HistoryRow]
    column_headers: list[str]
    has_notes: bool


def _context_helper(request, model_admin, model, record) -> HistoricalRecordContextHelper:
    """The page's admin decides how values are prepared (masked or whole) for this user; without one, personal
    numbers are masked unless the user may see them."""
    if hasattr(model_admin, "get_historical_record_context_helper"):
        return model_admin.get_historical_record_context_helper(request, record)
    if may_view_personal_data(request.user):
        return HistoricalRecordContextHelper(model, record)
    return MaskedHistoryContextHelper(model, record, masks=PERSONAL_MASKS)


def _changes(request, model_admin, model, newer, older) -> tuple[HistoryChangeRow, ...]:
    if older is None or newer.history_type == "+":
        return ()
    helper = _context_helper(request, model_admin, model, newer)
    rows = []
    for change in newer.diff_against(older, foreign_keys_are_objs=True).changes:
        try:
            field = model._meta.get_field(change.field)
        except FieldDoesNotExist:
            field = None
        labels = LIST_LABELS.get((model._meta.label_lower, change.field))
        old = shown_value(field, helper.prepare_delta_change_value(change, change.old), labels=labels)
        new = shown_value(field, helper.prepare_delta_change_value(change, change.new), labels=labels)
        label = str(field.verbose_name) if field is not None else change.field
        rows.append(HistoryChangeRow(change.field, label, old, new))
    return tuple(rows)


def _column_header(name: str, model, model_admin) -> str:
    try:
        return str(label_for_field(name, model, model_admin))
    except AttributeError:
        return name


def history_table(*, request, model, records: Sequence, obj=None) -> HistoryTable:
    """The rows of one page of a simple-history page (``records`` newest first, as simple-history lists them),
    each compared with the version before it. A constant number of queries per page: the people's names in
    one, the version before the page's last row in one (when it is not the first version)."""
    try:
        model_admin = admin.site.get_model_admin(model)
    except admin.sites.NotRegistered:
        model_admin = None
    records = list(records)
    older_than_page = None
    if records and records[-1].history_type != "+":
        older_than_page = records[-1].prev_record
    names = user_display_names(record.history_user for record in records)
    display = []
    if hasattr(model_admin, "get_history_list_display"):
        display = list(model_admin.get_history_list_display(request))
    rows = []
    for index, record in enumerate(records):
        older = records[index + 1] if index + 1 < len(records) else older_than_page
        rows.append(
            HistoryRow(
                record=record,
                action=RECORD_ACTIONS.get(record.history_type, record.history_type),
                user_name=names.get(record.history_user_id, EMPTY),
                reason=record.history_change_reason or EMPTY,
                changes=_changes(request, model_admin, model, record, older),
                columns=tuple(shown_value(None, getattr(record, name, None)) for name in display),
            )
        )
    if model is Household and obj is not None:
        annotate_history(obj, rows)
    return HistoryTable(
        rows=rows,
        column_headers=[_column_header(name, model, model_admin) for name in display],
        has_notes=any(row.note for row in rows),
    )


# ---------------------------------------------------------------------------------------------------------
# Annotators: a higher app links a household's versions to what caused them (its decisions)

#: ``annotator(household, rows)`` → one entry per row, in order: HTML (``format_html``; plain text is escaped)
#: or ``None``.
HistoryAnnotator = Callable[[Household, Sequence[HistoryRow]], Sequence[str | None]]
_ANNOTATORS: list[HistoryAnnotator] = []


def register_history_annotator(annotator: HistoryAnnotator) -> None:
    """Called by a higher app's ``ready()`` (``procedures`` links each status change to its decision). Each row
    of a household's history page gets what the annotators return for it, shown in the "依据" column."""
    if annotator not in _ANNOTATORS:
        _ANNOTATORS.append(annotator)


def unregister_history_annotator(annotator: HistoryAnnotator) -> None:
    if annotator in _ANNOTATORS:
        _ANNOTATORS.remove(annotator)


def annotate_history(household: Household, rows: Sequence[HistoryRow]) -> None:
    for annotator in list(_ANNOTATORS):
        notes = list(annotator(household, rows))
        if len(notes) != len(rows):
            raise ValueError(f"{annotator!r} returned {len(notes)} notes for {len(rows)} history rows")
        for row, note in zip(rows, notes, strict=True):
            if note:
                row.note = format_html("{} {}", row.note, note) if row.note else note


# ---------------------------------------------------------------------------------------------------------
# The household's page: its members' and incomes' changes, and no reverting


def _history_labels(model) -> dict[str, tuple[str, models.Field]]:
    """attname → (verbose name, field) for the fields of ``model`` shown in a household's history."""
    return {
        field.attname: (str(field.verbose_name), field)
        for field in model._meta.concrete_fields
        if field.attname != "household_id"  # every row of a household's history belongs to it
    }


def _shown_text(field: models.Field, text: str | None) -> str:
    """A value of ``household_history`` (text, masked for the user) as shown: labels, 是/否, "—"."""
    if text is None or text == "":
        return EMPTY
    if field.get_internal_type() == "BooleanField":
        return {"True": "是", "False": "否"}.get(text, text)
    labels = {str(key): str(label) for key, label in field.flatchoices}
    return labels.get(text, text)


def related_history_rows(entries) -> list[dict]:
    """``households.selectors.household_history`` entries (already masked for the user) as table rows with
    Chinese field names, choice labels, "—" for nothing and the person's name."""
    labels = {str(model._meta.verbose_name): _history_labels(model) for model in (Member, IncomeRecord)}
    rows = []
    for entry in entries:
        fields = labels.get(str(entry.model), {})
        changes = [
            {
                "field": fields[change.field][0],
                "old": _shown_text(fields[change.field][1], change.old),
                "new": _shown_text(fields[change.field][1], change.new),
            }
            for change in entry.changes
            if change.field in fields
        ]
        rows.append(
            {
                "entry": entry,
                "action": HISTORY_ACTIONS.get(entry.action, entry.action),
                "created": entry.action == "created",  # its values are shown without "— →"
                "user_name": entry.user_name or EMPTY,
                "reason": entry.reason or EMPTY,
                "changes": changes,
            }
        )
    return rows


class HouseholdHistoryAdminMixin:
    """The household admin's history pages: the household's own versions (viewable, never reverted), then the
    changes of its members and incomes. Listed before ``ScopedAdminMixin``, whose ``get_object`` answers 404
    outside the user's jurisdiction."""

    object_history_template = "admin/households/household/object_history.html"
    revert_refused_message = REVERT_REFUSED_MESSAGE

    def revert_disabled(self, request, obj=None) -> bool:
        # A version holds the decided fields (Household.DECIDED_FIELDS): reverting would rewrite them without a
        # decision (DOMAIN.md §5), so a household's versions are only viewed.
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            self.get_object(request, unquote(object_id))  # 404 outside the jurisdiction, before saying more
            raise PermissionDenied(self.revert_refused_message)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        """The household's own history (simple-history), then the changes of its members and incomes."""
        household = self.get_object(request, unquote(object_id))
        entries = [
            entry
            for entry in household_history(user=request.user, household=household)
            if entry.model != Household._meta.verbose_name
        ]
        shown = entries[:HISTORY_RELATED_LIMIT]
        if self.may_view_personal_data(request):
            member_label = str(Member._meta.verbose_name)
            self.record_personal_data_shown(request, Member, {e.object_id for e in shown if e.model == member_label})
        context = {
            "related_changes": related_history_rows(shown),
            "related_changes_total": len(entries),
            "related_changes_limit": HISTORY_RELATED_LIMIT,
            "decided_fields": [str(Household._meta.get_field(name).verbose_name) for name in Household.DECIDED_FIELDS],
        }
        return super().history_view(request, object_id, {**context, **(extra_context or {})})
