"""Every write to the household file (DOMAIN.md §2). Plain functions, keyword-only arguments.

Each service validates before it writes (``full_clean`` on every row, then the rules across rows) inside
one transaction, so a rejected request changes nothing. ``user`` is recorded on every history row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from households import rules
from households.choices import Relation
from households.models import Household, IncomeRecord, Member
from households.signals import households_registered
from povertycase.services import validated_save
from villages.models import Village

MEMBER_LINE = ("pk", "relation", "is_active", "id_number")  # a member's values as the rules take them
DECIDED_FIELD_MESSAGE = "户状态、识别年度和脱贫年度只能由识别、退出、返贫或清退的决定改变，不能直接修改。"


def _assign(instance, fields: Mapping[str, Any]) -> bool:
    """Set the model's own editable fields; a misspelt, derived or read-only name is refused, not ignored
    (a silently dropped ``staus=`` would record a change that never happened). Whether anything changed."""
    editable = {f.name for f in instance._meta.concrete_fields if f.editable and not f.primary_key}
    unknown = [name for name in fields if name not in editable]
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "未知或不可修改的字段。"))
    if isinstance(instance, Household) and instance.pk is not None:
        decided = [
            name for name in Household.DECIDED_FIELDS if name in fields and getattr(instance, name) != fields[name]
        ]
        if decided:
            raise ValidationError(dict.fromkeys(decided, DECIDED_FIELD_MESSAGE))
    changed = instance.pk is None
    for name, value in fields.items():
        changed = changed or getattr(instance, name) != value
        setattr(instance, name, value)
    return changed


def _prefix_errors(prefix: str, exc: ValidationError) -> ValidationError:
    """``members[2].id_number``-style keys so that a clerk can find the faulty row of a nested write."""
    if hasattr(exc, "error_dict"):
        return ValidationError({f"{prefix}.{field}": errors for field, errors in exc.error_dict.items()})
    return ValidationError({prefix: exc.error_list})


def household_check_heads(*, household: Household) -> None:
    """A household always has exactly one active head (户主, DOMAIN.md §2; ``households.rules``)."""
    members = [rules.MemberLine(*values) for values in household.members.values_list(*MEMBER_LINE)]
    message = rules.head_count_message(
        len(rules.active_head_rows(members)), household_number=household.household_number
    )
    if message:
        raise ValidationError({"members": message})


def _check_member_count(members: list[Mapping[str, Any]]) -> None:
    """At most ``HOUSEHOLD_MAX_MEMBERS`` members (30 by default) per household, checked before any row."""
    limit = settings.HOUSEHOLD_MAX_MEMBERS
    if len(members) > limit:
        raise ValidationError({"members": f"每户成员最多{limit}人，本次提交了{len(members)}人。"})


def _check_ids_unique_in_request(members: list[Mapping[str, Any]]) -> None:
    """One active member per ID number among the members of one request (``households.rules``)."""
    lines = [
        rules.MemberLine(index, data.get("relation", ""), data.get("is_active", True), data.get("id_number", ""))
        for index, data in enumerate(members)
    ]
    repeated = rules.repeated_active_id_errors(lines, row_label=lambda index: f"第{index + 1}名成员")
    if repeated:
        raise ValidationError({f"members[{index}].id_number": message for index, message in repeated.items()})


@transaction.atomic
def household_create(
    *,
    user: AbstractBaseUser | None,
    village: Village,
    members: Iterable[Mapping[str, Any]],
    incomes: Iterable[Mapping[str, Any]] = (),
    source: str = "api",
    **fields: Any,
) -> Household:
    """Register a household with its members and incomes in one all-or-nothing write. Its status and years, given
    here once, are recorded as its ``registered`` decision (``households_registered``, received by procedures)."""
    members = list(members)
    incomes = list(incomes)
    _check_member_count(members)
    _check_ids_unique_in_request(members)
    household = Household(village=village)
    _assign(household, fields)
    validated_save(household, user=user)
    errors: dict[str, list] = {}
    for index, data in enumerate(members):
        try:
            member = Member(household=household)
            _assign(member, data)
            validated_save(member, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"members[{index}]", exc).error_dict)
    for index, data in enumerate(incomes):
        try:
            record = IncomeRecord(household=household)
            _assign(record, data)
            validated_save(record, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"incomes[{index}]", exc).error_dict)
    if errors:
        raise ValidationError(errors)
    household_check_heads(household=household)
    households_registered.send(sender=Household, household_ids=[household.pk], user=user, source=source)
    return household


@transaction.atomic
def household_decision_apply(
    *, user: AbstractBaseUser | None, household: Household, status: str, identified_year: int, exit_year: int | None
) -> Household:
    """Write the three decided fields (DOMAIN.md §5 "Decisions"). Only the decision services of the procedures
    call this, recording the decision in the same transaction; every other write refuses these fields."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    household.status, household.identified_year, household.exit_year = status, identified_year, exit_year
    return validated_save(household, user=user)


@transaction.atomic
def household_update(*, user: AbstractBaseUser | None, household: Household, **fields: Any) -> Household:
    """Change a household's own fields (not its members or incomes)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    _assign(household, fields)
    validated_save(household, user=user)
    return household


@transaction.atomic
def member_add(*, user: AbstractBaseUser | None, household: Household, **fields: Any) -> Member:
    member = Member(household=household)
    _assign(member, fields)
    validated_save(member, user=user)
    household_check_heads(household=household)
    return member


@transaction.atomic
def member_update(*, user: AbstractBaseUser | None, member: Member, **fields: Any) -> Member:
    member = Member.objects.select_for_update().get(pk=member.pk)
    _assign(member, fields)
    validated_save(member, user=user)
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
    validated_save(member, user=user)
    if was_head:
        if new_head is None or new_head.household_id != member.household_id or new_head.pk == member.pk:
            raise ValidationError({"new_head": "户主减少时须指定本户另一名在户成员为新户主。"})
        new_head = Member.objects.select_for_update().get(pk=new_head.pk)
        new_head.relation = Relation.HEAD
        validated_save(new_head, user=user)
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
    validated_save(record, user=user)
    return record


@transaction.atomic
def household_replace(
    *,
    user: AbstractBaseUser | None,
    household: Household,
    members: Iterable[Mapping[str, Any]],
    incomes: Iterable[Mapping[str, Any]],
    remove_members: Iterable[int] = (),
    **fields: Any,
) -> Household:
    """Replace a household's file in one all-or-nothing write (the API's PUT, the admin's household page).

    Members are matched by ``id`` or, failing that, by ID number; unmatched ones are added. A member on file
    who is missing from ``members`` is refused rather than deleted: a person leaves a household with
    ``is_active`` false and a ``left_reason``, so that no one's record is lost by a short list. Only members
    named in ``remove_members`` (ids: rows entered by mistake) are deleted, before the others are written, so
    that a head entered by mistake can be replaced in the same write. Income records are matched by year; a year
    missing from ``incomes`` is deleted (its history is kept).
    """
    household = Household.objects.select_for_update().get(pk=household.pk)
    members = list(members)
    incomes = list(incomes)
    _check_member_count(members)
    _check_ids_unique_in_request(members)
    if _assign(household, fields):
        validated_save(household, user=user)
    for member in household.members.filter(pk__in=list(remove_members)):
        _delete(member, user=user)

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
            # An unchanged row is not saved again: no history row records a change that did not happen.
            if _assign(member, data):
                validated_save(member, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"members[{index}]", exc).error_dict)

    kept_years = set()
    for index, data in enumerate(incomes):
        data = dict(data)
        year = data.get("year")
        record = household.incomes.filter(year=year).first() or IncomeRecord(household=household)
        kept_years.add(year)
        try:
            if _assign(record, data):
                validated_save(record, user=user)
        except ValidationError as exc:
            errors.update(_prefix_errors(f"incomes[{index}]", exc).error_dict)
    if errors:
        raise ValidationError(errors)
    for record in household.incomes.exclude(year__in=[y for y in kept_years if y is not None]):
        _delete(record, user=user)
    household_check_heads(household=household)
    return household


def _delete(instance, *, user: AbstractBaseUser | None) -> None:
    """Delete one row with the acting user on its history row."""
    if user is not None:
        instance._history_user = user
    instance.delete()


@transaction.atomic
def income_record_delete(*, user: AbstractBaseUser | None, record: IncomeRecord) -> None:
    """Delete a household's income record of one year (entered by mistake)."""
    _delete(IncomeRecord.objects.select_for_update().get(pk=record.pk), user=user)


@transaction.atomic
def household_delete(*, user: AbstractBaseUser | None, household: Household) -> None:
    """Delete a household registered by mistake, with its members and income records, each deletion recorded in
    the change history with the acting user (a household that leaves the register is 已剔除 instead)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    for member in household.members.all():
        _delete(member, user=user)
    for record in household.incomes.all():
        _delete(record, user=user)
    _delete(household, user=user)


@transaction.atomic
def member_delete(*, user: AbstractBaseUser | None, member: Member) -> None:
    """Delete a member entered by mistake (a person who left is marked inactive instead). The head cannot be
    deleted: hand the head over first."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.relation == Relation.HEAD and member.is_active:
        raise ValidationError({"relation": "不能删除户主：请先将户主变更为本户另一名成员。"})
    _delete(member, user=user)
