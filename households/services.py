"""Every write to the household file (DOMAIN.md §2). Plain functions, keyword-only arguments.

Each service validates before it writes (``full_clean`` on every row, then the rules across rows) inside
one transaction, so a rejected request changes nothing. ``user`` is recorded on every history row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from households.choices import Relation
from households.models import Household, IncomeRecord, Member
from villages.models import Village


def _save(instance, *, user: AbstractBaseUser | None) -> None:
    """full_clean + save, recording ``user`` on the history row (django-simple-history)."""
    instance.full_clean()
    if user is not None:
        instance._history_user = user
    instance.save()


def _assign(instance, fields: Mapping[str, Any]) -> None:
    """Set the model's own editable fields; a misspelt, derived or read-only name is refused, not ignored
    (a silently dropped ``staus=`` would record a change that never happened)."""
    editable = {f.name for f in instance._meta.concrete_fields if f.editable and not f.primary_key}
    unknown = [name for name in fields if name not in editable]
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "未知或不可修改的字段。"))
    for name, value in fields.items():
        setattr(instance, name, value)


def _prefix_errors(prefix: str, exc: ValidationError) -> ValidationError:
    """``members[2].id_number``-style keys so that a clerk can find the faulty row of a nested write."""
    if hasattr(exc, "error_dict"):
        return ValidationError({f"{prefix}.{field}": errors for field, errors in exc.error_dict.items()})
    return ValidationError({prefix: exc.error_list})


def household_check_heads(*, household: Household) -> None:
    """A household always has exactly one active head (户主, DOMAIN.md §2)."""
    heads = household.members.filter(relation=Relation.HEAD, is_active=True).count()
    if heads != 1:
        raise ValidationError(
            {"members": f"每户必须有且只有一名在户的户主，户{household.household_number}当前有{heads}名。"}
        )


def _check_ids_unique_in_request(members: list[Mapping[str, Any]]) -> None:
    seen: dict[str, int] = {}
    errors: dict[str, str] = {}
    for index, data in enumerate(members):
        number = str(data.get("id_number", "")).strip().upper()
        if not number or not data.get("is_active", True):
            continue
        if number in seen:
            errors[f"members[{index}].id_number"] = f"身份证号与第{seen[number] + 1}名成员重复。"
        else:
            seen[number] = index
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def household_create(
    *,
    user: AbstractBaseUser | None,
    village: Village,
    members: Iterable[Mapping[str, Any]],
    incomes: Iterable[Mapping[str, Any]] = (),
    **fields: Any,
) -> Household:
    """Register a household with its members and incomes in one all-or-nothing write."""
    members = list(members)
    incomes = list(incomes)
    _check_ids_unique_in_request(members)
    household = Household(village=village)
    _assign(household, fields)
    _save(household, user=user)
    errors: dict[str, list] = {}
    for index, data in enumerate(members):
        try:
            member = Member(household=household)
            _assign(member, data)
            _save(member, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"members[{index}]", exc).error_dict)
    for index, data in enumerate(incomes):
        try:
            record = IncomeRecord(household=household)
            _assign(record, data)
            _save(record, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"incomes[{index}]", exc).error_dict)
    if errors:
        raise ValidationError(errors)
    household_check_heads(household=household)
    return household


@transaction.atomic
def household_update(*, user: AbstractBaseUser | None, household: Household, **fields: Any) -> Household:
    """Change a household's own fields (not its members or incomes)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    _assign(household, fields)
    _save(household, user=user)
    return household


@transaction.atomic
def member_add(*, user: AbstractBaseUser | None, household: Household, **fields: Any) -> Member:
    member = Member(household=household)
    _assign(member, fields)
    _save(member, user=user)
    household_check_heads(household=household)
    return member


@transaction.atomic
def member_update(*, user: AbstractBaseUser | None, member: Member, **fields: Any) -> Member:
    member = Member.objects.select_for_update().get(pk=member.pk)
    _assign(member, fields)
    _save(member, user=user)
    household_check_heads(household=member.household)
    return member


@transaction.atomic
def member_leave(
    *, user: AbstractBaseUser | None, member: Member, left_reason: str, left_on, new_head: Member | None = None
) -> Member:
    """A member leaves the household (death, marriage, moving out). When the head leaves, ``new_head``
    (another active member of the same household) becomes the head in the same transaction."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    was_head = member.relation == Relation.HEAD and member.is_active
    member.is_active = False
    member.left_reason = left_reason
    member.left_on = left_on
    _save(member, user=user)
    if was_head:
        if new_head is None or new_head.household_id != member.household_id or new_head.pk == member.pk:
            raise ValidationError({"new_head": "户主减少时须指定本户另一名在户成员为新户主。"})
        new_head = Member.objects.select_for_update().get(pk=new_head.pk)
        new_head.relation = Relation.HEAD
        _save(new_head, user=user)
    household_check_heads(household=member.household)
    return member


@transaction.atomic
def income_record_save(
    *, user: AbstractBaseUser | None, household: Household, year: int, **amounts: Any
) -> IncomeRecord:
    """Create the income record of ``household`` for ``year``, or update the given amounts of the existing one
    (one record per household and year); amounts not given keep their value (0 on a new record)."""
    record = IncomeRecord.objects.select_for_update().filter(household=household, year=year).first()
    if record is None:
        record = IncomeRecord(household=household, year=year)
    for name, value in amounts.items():
        if name not in IncomeRecord.AMOUNT_FIELDS:
            raise ValidationError({name: "未知的收入项目。"})
        setattr(record, name, value)
    _save(record, user=user)
    return record


@transaction.atomic
def household_replace(
    *,
    user: AbstractBaseUser | None,
    household: Household,
    members: Iterable[Mapping[str, Any]],
    incomes: Iterable[Mapping[str, Any]],
    **fields: Any,
) -> Household:
    """Replace a household's file in one all-or-nothing write (the API's PUT).

    Members are matched by ``id`` or, failing that, by ID number; unmatched ones are added. A member on file
    who is missing from ``members`` is refused rather than deleted: a person leaves a household with
    ``is_active`` false and a ``left_reason``, so that no one's record is lost by a short list. Income
    records are matched by year; a year missing from ``incomes`` is deleted (its history is kept).
    """
    household = Household.objects.select_for_update().get(pk=household.pk)
    members = list(members)
    incomes = list(incomes)
    _check_ids_unique_in_request(members)
    _assign(household, fields)
    _save(household, user=user)

    on_file = {m.pk: m for m in household.members.all()}
    by_number = {m.id_number: m for m in on_file.values()}
    matched: set[int] = set()
    errors: dict[str, list] = {}
    pending: list[tuple[int, Member, Mapping[str, Any]]] = []
    for index, data in enumerate(members):
        data = dict(data)
        member_id = data.pop("id", None)
        if member_id is not None:
            member = on_file.get(member_id)
            if member is None:
                errors[f"members[{index}].id"] = [f"成员ID {member_id} 不属于本户。"]
                continue
        else:
            member = by_number.get(str(data.get("id_number", "")).strip().upper()) or Member(household=household)
        if member.pk:
            matched.add(member.pk)
        pending.append((index, member, data))
    missing = [m for pk, m in on_file.items() if pk not in matched]
    if missing:
        names = "、".join(m.name for m in missing)
        errors["members"] = [f"请求中缺少成员：{names}。成员减少请将其“是否在户”设为否并填写减少原因，不要删除。"]
    if errors:
        raise ValidationError(errors)

    # Demote first, then promote: the one-active-head constraint holds after every single row.
    pending.sort(key=lambda item: item[2].get("relation", item[1].relation) == "head")
    for index, member, data in pending:
        try:
            _assign(member, data)
            _save(member, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"members[{index}]", exc).error_dict)

    kept_years = set()
    for index, data in enumerate(incomes):
        data = dict(data)
        year = data.get("year")
        record = household.incomes.filter(year=year).first() or IncomeRecord(household=household)
        kept_years.add(year)
        try:
            _assign(record, data)
            _save(record, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"incomes[{index}]", exc).error_dict)
    if errors:
        raise ValidationError(errors)
    for record in household.incomes.exclude(year__in=[y for y in kept_years if y is not None]):
        if user is not None:
            record._history_user = user
        record.delete()
    household_check_heads(household=household)
    return household


@transaction.atomic
def member_delete(*, user: AbstractBaseUser | None, member: Member) -> None:
    """Delete a member entered by mistake (a person who left is marked inactive instead). The head cannot be
    deleted: hand the head over first."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.relation == Relation.HEAD and member.is_active:
        raise ValidationError({"relation": "不能删除户主：请先将户主变更为本户另一名成员。"})
    if user is not None:
        member._history_user = user
    member.delete()
