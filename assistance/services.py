"""Writes of the assistance app: cadres with their logins and roles, helper assignments (DOMAIN.md §7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assistance.choices import Role
from assistance.jurisdiction import forget_jurisdiction, in_scope, jurisdiction_for
from assistance.models import Cadre, HouseholdAssignment, RoleAssignment, Unit
from assistance.roles import sync_user_groups
from households.models import Household


def _save(instance, *, actor) -> None:
    instance.full_clean()
    if actor is not None:
        instance._history_user = actor
    instance.save()


def _check_place_in_scope(actor, assignment: RoleAssignment) -> None:
    """An actor may grant a role only inside their own jurisdiction; a city-wide role only if city-wide."""
    place = assignment.place
    if place is None:
        if not jurisdiction_for(actor).everything:
            raise PermissionDenied("只有市级管理员可以分配全市范围的角色。")
        return
    if not in_scope(actor, place):
        raise PermissionDenied(f"“{place}”不在您的辖区内，不能在此分配角色。")


@transaction.atomic
def role_assign(
    *,
    actor,
    cadre: Cadre,
    role: str,
    county=None,
    township=None,
    village=None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> RoleAssignment:
    assignment = RoleAssignment(
        cadre=cadre,
        role=role,
        county=county,
        township=township,
        village=village,
        starts_on=starts_on or timezone.localdate(),
        ends_on=ends_on,
    )
    assignment.full_clean()
    _check_place_in_scope(actor, assignment)
    _save(assignment, actor=actor)
    sync_user_groups(cadre.user)
    forget_jurisdiction(cadre.user)
    return assignment


@transaction.atomic
def role_end(*, actor, assignment: RoleAssignment, ends_on: dt.date | None = None) -> RoleAssignment:
    _check_place_in_scope(actor, assignment)
    assignment.ends_on = ends_on or timezone.localdate()
    _save(assignment, actor=actor)
    sync_user_groups(assignment.cadre.user)
    forget_jurisdiction(assignment.cadre.user)
    return assignment


@transaction.atomic
def cadre_create(
    *,
    actor,
    username: str,
    password: str,
    name: str,
    unit: Unit | None = None,
    position: str = "",
    phone: str = "",
    roles: Iterable[Mapping[str, Any]] = (),
) -> Cadre:
    """Create a cadre's login, profile and roles at once; any invalid part rejects the whole request."""
    User = get_user_model()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["请填写登录名。"]
    elif User.objects.filter(username=username).exists():
        errors["username"] = [f"登录名“{username}”已被使用。"]
    user = User(username=username)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    cadre = Cadre(user=user, name=name, unit=unit, position=position, phone=phone)
    _save(cadre, actor=actor)
    roles = list(roles)
    if not roles and not jurisdiction_for(actor).everything:
        # A cadre without a role would be invisible to the county staff who created it.
        raise ValidationError({"roles": "请至少为干部分配一个角色。"})
    for index, data in enumerate(roles):
        try:
            role_assign(actor=actor, cadre=cadre, **data)
        except ValidationError as exc:
            raise ValidationError({f"roles[{index}]": exc.messages}) from exc
        except TypeError as exc:
            raise ValidationError({f"roles[{index}]": ["角色字段不正确。"]}) from exc
    return cadre


@transaction.atomic
def household_assign_helper(
    *, actor, household: Household, cadre: Cadre, starts_on: dt.date | None = None
) -> HouseholdAssignment:
    """Make ``cadre`` the household's responsible helper from ``starts_on``, ending the previous open
    assignment the day before (exactly one active helper per household, DOMAIN.md §7)."""
    if not in_scope(actor, household):
        raise PermissionDenied("该户不在您的辖区内。")
    starts_on = starts_on or timezone.localdate()
    if not RoleAssignment.objects.active_on(starts_on).filter(cadre=cadre, role=Role.HELPER).exists():
        raise ValidationError({"cadre": f"{cadre}没有“帮扶责任人”角色，请先分配角色。"})
    current = HouseholdAssignment.objects.select_for_update().filter(household=household, ends_on__isnull=True).first()
    if current is not None:
        if current.cadre_id == cadre.pk:
            return current
        if current.starts_on >= starts_on:
            raise ValidationError({"starts_on": "新的帮扶开始日期须晚于原帮扶责任人的开始日期。"})
        current.ends_on = starts_on - dt.timedelta(days=1)
        _save(current, actor=actor)
    assignment = HouseholdAssignment(household=household, cadre=cadre, starts_on=starts_on)
    _save(assignment, actor=actor)
    forget_jurisdiction(cadre.user)
    return assignment
