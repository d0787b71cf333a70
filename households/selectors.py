"""Reads of the household file with logic: households with their active head (the one selector behind every
household list: admin, API and field pages), the change history of a household (members and incomes
included), and the name by which a history shows the person who made a change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import FieldDoesNotExist
from django.db.models import OuterRef, QuerySet, Subquery, prefetch_related_objects

from households.choices import Relation
from households.idcard import mask_id_number, mask_phone
from households.models import Household, IncomeRecord, Member
from households.personal_data import may_view_personal_data


def with_head(queryset: QuerySet[Household], *, id_number: bool = False) -> QuerySet[Household]:
    """Annotate each household with its active head's ``head_name`` (and, asked for, ``head_id_number``) in the
    same query, as correlated subqueries, so that a list page costs the same whatever its length."""
    heads = Member.objects.filter(household_id=OuterRef("pk"), relation=Relation.HEAD, is_active=True).order_by("pk")
    columns = {"head_name": Subquery(heads.values("name")[:1])}
    if id_number:
        columns["head_id_number"] = Subquery(heads.values("id_number")[:1])
    return queryset.annotate(**columns)


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
MASKED_FIELDS = {"id_number": mask_id_number, "phone": mask_phone}
SKIPPED_FIELDS = {"updated_at", "created_at"}


#: The reverse accessor from a login to its cadre profile (``assistance.Cadre.user``): reached through the user
#: object by name, so that this layer needs no import of the app above it.
CADRE_ACCESSOR = "cadre"


def user_display_name(user) -> str:
    """How a history names the person behind a login: their cadre's name, else the user's full name, else the
    login. Reads ``user.cadre``: prefetch it (``user_display_names``) before calling this for many rows."""
    cadre = getattr(user, CADRE_ACCESSOR, None)
    return getattr(cadre, "name", "") or user.get_full_name() or user.get_username()


def user_display_names(users: Iterable) -> dict[int, str]:
    """user id → ``user_display_name`` for every user given (``None`` skipped), with one query for all their
    cadres whatever their number."""
    unique = {user.pk: user for user in users if user is not None}
    if not unique:
        return {}
    model = type(next(iter(unique.values())))
    try:
        model._meta.get_field(CADRE_ACCESSOR)
    except FieldDoesNotExist:
        pass  # no cadre profiles in this project: full names and logins only
    else:
        prefetch_related_objects(list(unique.values()), CADRE_ACCESSOR)
    return {pk: user_display_name(user) for pk, user in unique.items()}


@dataclass(frozen=True)
class HistoryChange:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class HistoryEntry:
    model: str
    object_id: int
    object: str
    action: str
    at: datetime
    user: str | None  # the login
    reason: str | None
    changes: tuple[HistoryChange, ...]
    user_name: str | None = None  # the person: see user_display_name


def _value(row, field: str, reveal: bool) -> str | None:
    value = getattr(row, field)
    if value is None:
        return None
    text = str(value)
    if not reveal and field in MASKED_FIELDS:
        return MASKED_FIELDS[field](text)
    return text


def _entries(model, rows, fields: list[str], label, reveal: bool, names: dict[int, str]) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    previous: dict[int, object] = {}
    for row in rows:  # ordered by object id, then time
        before = previous.get(row.id)
        if row.history_type == "~" and before is not None:
            changed = [f for f in fields if getattr(before, f) != getattr(row, f)]
            changes = tuple(HistoryChange(f, _value(before, f, reveal), _value(row, f, reveal)) for f in changed)
        elif row.history_type == "+":
            changes = tuple(
                HistoryChange(f, None, _value(row, f, reveal)) for f in fields if getattr(row, f) not in (None, "")
            )
        else:
            changes = ()
        previous[row.id] = row
        entries.append(
            HistoryEntry(
                model=model._meta.verbose_name,
                object_id=row.id,
                object=label(row),
                action=ACTIONS[row.history_type],
                at=row.history_date,
                user=row.history_user.get_username() if row.history_user_id else None,
                reason=row.history_change_reason,
                changes=changes,
                user_name=names.get(row.history_user_id),
            )
        )
    return entries


def household_history(*, user, household: Household) -> list[HistoryEntry]:
    """Every change to the household, its members and its income records, newest first, with who made it (login
    and name). ID numbers and phones are masked for users without the personal-data permission."""
    reveal = may_view_personal_data(user)
    sources = [
        (Household, Household.history.filter(id=household.pk), lambda r: r.household_number),
        (Member, Member.history.filter(household_id=household.pk), lambda r: r.name),
        (IncomeRecord, IncomeRecord.history.filter(household_id=household.pk), lambda r: f"{r.year}年收入"),
    ]
    fetched = [
        (model, list(rows.select_related("history_user").order_by("id", "history_date", "history_id")), label)
        for model, rows, label in sources
    ]
    names = user_display_names(row.history_user for _, rows, _ in fetched for row in rows)
    entries: list[HistoryEntry] = []
    for model, rows, label in fetched:
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in SKIPPED_FIELDS and not f.primary_key]
        entries.extend(_entries(model, rows, fields, label, reveal, names))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries
