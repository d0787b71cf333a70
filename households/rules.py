"""The rules across the members of a household and across one write (DOMAIN.md §2), as pure functions over plain
values (no ORM), shared by the services, the admin's member formset and the Excel importer:

- the head rule: a household has exactly one active head (户主); a head who left (不在户) does not count;
- the unique-ID rule: an ID number is registered once per household, and is one active member only, so the same
  number may not be active twice in one write (the registry-wide check against other households is the
  database's and the importer's, which read the registry).

A member is a ``MemberLine``: ``row`` is the caller's reference (a form's number, a request's list index, a
worksheet row); errors come back keyed by it, ``HOUSEHOLD`` for an error of the household as a whole, in Chinese.
``row_label`` says how a message names another row: ``第5行`` by default.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple

from households.choices import Relation

HOUSEHOLD = None  # the key of an error about the household as a whole


class MemberLine(NamedTuple):
    row: Hashable
    relation: str
    is_active: bool
    id_number: str


def worksheet_row(row: Any) -> str:
    return f"第{row}行"


def normalized_id_number(value: Any) -> str:
    """An ID number as compared: without surrounding spaces, a final x as X."""
    return str(value or "").strip().upper()


def active_head_rows(members: Iterable[MemberLine]) -> list[Hashable]:
    """The rows of the members who are an active head."""
    return [m.row for m in members if m.is_active and m.relation == Relation.HEAD]


def head_count_message(count: int, *, household_number: str = "") -> str | None:
    """The head rule on a household's count of active heads: None when it is exactly one, else the message."""
    if count == 1:
        return None
    whose = f"户{household_number}" if household_number else ""
    return f"每户必须有且只有一名在户的户主，{whose}当前有{count}名。"


def head_errors(
    members: Iterable[MemberLine],
    *,
    household_number: str = "",
    heads_on_file: int = 0,
    row_label: Callable[[Any], str] = worksheet_row,
) -> dict[Hashable, str]:
    """The head rule on the rows of one household, counting ``heads_on_file`` more active heads the rows do not
    list (members already registered that a partial write leaves as they are). No head: the household's error;
    more than one: an error on each head's row naming the others."""
    rows = active_head_rows(members)
    count = len(rows) + heads_on_file
    if count == 1:
        return {}
    whose = f"户{household_number}" if household_number else "本户"
    if count == 0:
        return {HOUSEHOLD: f"{whose}没有在户的户主，每户必须有且只有一名。"}
    if not rows:
        return {HOUSEHOLD: head_count_message(count, household_number=household_number)}
    where = "、".join(row_label(row) for row in rows)
    extra = f"，另有{heads_on_file}名已在系统中（本次未列出）" if heads_on_file else ""
    message = f"{whose}有{count}名在户的户主（{where}{extra}），每户必须有且只有一名。"
    return dict.fromkeys(rows, message)


def repeated_id_errors(
    members: Iterable[MemberLine], *, household_number: str = "", row_label: Callable[[Any], str] = worksheet_row
) -> dict[Hashable, str]:
    """The same ID number twice among the members of one household, whatever their status: an error on every
    row after the first. Rows without an ID number are left to the field's own check."""
    whose = f"户{household_number}中" if household_number else "本户"
    return {
        row: f"{whose}已有此身份证号（{row_label(first)}），同一人在一户中只能登记一次。"
        for row, first in _repeats(members)
    }


def repeated_active_id_errors(
    members: Iterable[MemberLine], *, row_label: Callable[[Any], str] = worksheet_row
) -> dict[Hashable, str]:
    """One active membership per ID number, within one write (any households): an error on every active row
    whose ID number an earlier active row has."""
    active = (m for m in members if m.is_active)
    return {row: f"身份证号与{row_label(first)}重复。" for row, first in _repeats(active)}


def _repeats(members: Iterable[MemberLine]) -> list[tuple[Hashable, Hashable]]:
    """(row, row of the first with the same ID number) of every repeat, in order."""
    first: dict[str, Hashable] = {}
    repeats = []
    for member in members:
        number = normalized_id_number(member.id_number)
        if not number:
            continue
        if number in first:
            repeats.append((member.row, first[number]))
        else:
            first[number] = member.row
    return repeats
