"""Jurisdiction: the one place that decides which rows a user may see (GUIDE.md, DOMAIN.md §7).

``scope_to(user, queryset)`` restricts a queryset of any registered model to the user's places: deny by
default (a user with no active role sees nothing; an unregistered model is a programming error). Every
selector, admin ``get_queryset``, foreign-key choice, API viewset and page goes through it, and writes are
checked with ``ensure_in_scope`` inside their transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from assistance.choices import Role
from villages.models import County, Township, Village


@dataclass(frozen=True)
class Jurisdiction:
    """The places a user's active roles reach, and their ancestors (visible for navigation only)."""

    everything: bool = False
    roles: frozenset[str] = frozenset()
    county_ids: frozenset[int] = frozenset()
    township_ids: frozenset[int] = frozenset()
    village_ids: frozenset[int] = frozenset()
    household_ids: frozenset[int] = frozenset()
    # Ancestors of the places above: a first secretary sees their township and county as objects.
    parent_county_ids: frozenset[int] = field(default=frozenset())
    parent_township_ids: frozenset[int] = field(default=frozenset())
    parent_village_ids: frozenset[int] = field(default=frozenset())

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.county_ids or self.township_ids or self.village_ids or self.household_ids)


NOTHING = Jurisdiction()
EVERYTHING = Jurisdiction(everything=True)


def jurisdiction_for(user) -> Jurisdiction:
    """The user's jurisdiction from their active role and household assignments (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    cached = getattr(user, "_jurisdiction", None)
    if cached is not None:
        return cached
    result = _compute(user)
    user._jurisdiction = result
    return result


def forget_jurisdiction(user) -> None:
    """Drop the cached jurisdiction (after the user's roles changed)."""
    if hasattr(user, "_jurisdiction"):
        del user._jurisdiction


def _compute(user) -> Jurisdiction:
    from assistance.models import HouseholdAssignment, RoleAssignment
    from households.models import Household

    if user.is_superuser:
        return EVERYTHING
    assignments = list(
        RoleAssignment.objects.active_on()
        .filter(cadre__user=user)
        .values_list("role", "county_id", "township_id", "village_id")
    )
    roles = frozenset(role for role, *_ in assignments)
    if any(role == Role.SUPERVISOR and not (c or t or v) for role, c, t, v in assignments):
        return Jurisdiction(everything=True, roles=roles)
    # A helper's place names the office managing them; their jurisdiction is their assigned households only.
    placed = [(c, t, v) for role, c, t, v in assignments if role != Role.HELPER]
    county_ids = frozenset(c for c, _, _ in placed if c)
    township_ids = frozenset(t for _, t, _ in placed if t)
    village_ids = frozenset(v for _, _, v in placed if v)
    household_ids: frozenset[int] = frozenset()
    if Role.HELPER in roles:
        household_ids = frozenset(
            HouseholdAssignment.objects.active_on().filter(cadre__user=user).values_list("household_id", flat=True)
        )
    helper_villages = frozenset(Household.objects.filter(pk__in=household_ids).values_list("village_id", flat=True))
    village_rows = list(
        Village.objects.filter(pk__in=village_ids | helper_villages).values_list("township_id", "county_id")
    )
    parent_township_ids = township_ids | {t for t, _ in village_rows}
    parent_county_ids = (
        county_ids
        | {c for _, c in village_rows}
        | set(Township.objects.filter(pk__in=township_ids).values_list("county_id", flat=True))
    )
    return Jurisdiction(
        roles=roles,
        county_ids=county_ids,
        township_ids=township_ids,
        village_ids=village_ids,
        household_ids=household_ids,
        parent_county_ids=frozenset(parent_county_ids),
        parent_township_ids=frozenset(parent_township_ids),
        parent_village_ids=helper_villages,
    )


@dataclass(frozen=True)
class ScopePath:
    """How a model reaches the tree: the lookup to its village and to its household ('' = itself)."""

    village: str | None
    household: str | None


_REGISTRY: dict[type[Model], ScopePath | Callable[[Any, Jurisdiction], Q]] = {}


def register_scope(model: type[Model], *, village: str | None, household: str | None) -> None:
    _REGISTRY[model] = ScopePath(village=village, household=household)


def register_scope_function(model: type[Model], function: Callable[[Any, Jurisdiction], Q]) -> None:
    """For models that do not hang under one village (cadres, role assignments): ``function(user, j)``."""
    _REGISTRY[model] = function


def _lookup(path: str, name: str) -> str:
    return f"{path}__{name}" if path else name


def scope_q(user, model: type[Model]) -> Q | None:
    """The filter that keeps what ``user`` may see of ``model``; None means everything."""
    j = jurisdiction_for(user)
    if j.everything:
        return None
    nothing = Q(pk__in=[])
    if model is County:
        return Q(pk__in=j.parent_county_ids) if j.parent_county_ids else nothing
    if model is Township:
        return (Q(county_id__in=j.county_ids) | Q(pk__in=j.parent_township_ids)) if not j.is_empty else nothing
    path = _REGISTRY.get(model)
    if path is None:
        raise ImproperlyConfigured(f"{model.__name__} is not registered with assistance.jurisdiction.register_scope")
    if not isinstance(path, ScopePath):
        return path(user, j)
    q = nothing
    if path.village is not None:
        village = path.village
        if j.county_ids:
            q |= Q(**{_lookup(village, "county_id__in"): j.county_ids})
        if j.township_ids:
            q |= Q(**{_lookup(village, "township_id__in"): j.township_ids})
        if j.village_ids:
            q |= Q(**{_lookup(village, "pk__in"): j.village_ids})
        if model is Village and j.parent_village_ids:
            q |= Q(pk__in=j.parent_village_ids)
    if path.household is not None and j.household_ids:
        q |= Q(**{_lookup(path.household, "pk__in"): j.household_ids})
    return q


def scope_to(user, queryset: QuerySet) -> QuerySet:
    """Restrict ``queryset`` to the rows ``user`` may see. Deny by default."""
    q = scope_q(user, queryset.model)
    return queryset if q is None else queryset.filter(q)


def in_scope(user, obj: Model) -> bool:
    return scope_to(user, type(obj)._default_manager.filter(pk=obj.pk)).exists()


def covers(user, place: County | Township | Village) -> bool:
    """Whether ``place`` lies inside the user's own places (not merely visible as a parent for navigation)."""
    j = jurisdiction_for(user)
    if j.everything:
        return True
    if isinstance(place, County):
        return place.pk in j.county_ids
    if isinstance(place, Township):
        return place.pk in j.township_ids or place.county_id in j.county_ids
    return place.pk in j.village_ids or place.township_id in j.township_ids or place.county_id in j.county_ids


def ensure_in_scope(user, obj: Model) -> None:
    """Inside a write's transaction: refuse (404, as if it did not exist) an object outside the user's scope."""
    if not in_scope(user, obj):
        raise Http404("不在您的辖区内。")


def _place_q(j: Jurisdiction, prefix: str = "") -> Q:
    """Role assignments (or anything with county/township/village columns) placed inside ``j``."""
    q = Q(pk__in=[])
    if j.county_ids:
        q |= (
            Q(**{f"{prefix}county_id__in": j.county_ids})
            | Q(**{f"{prefix}township__county_id__in": j.county_ids})
            | Q(**{f"{prefix}village__county_id__in": j.county_ids})
        )
    if j.township_ids:
        q |= Q(**{f"{prefix}township_id__in": j.township_ids}) | Q(
            **{f"{prefix}village__township_id__in": j.township_ids}
        )
    if j.village_ids:
        q |= Q(**{f"{prefix}village_id__in": j.village_ids})
    return q


def _role_assignment_q(user, j: Jurisdiction) -> Q:
    return _place_q(j) | Q(cadre__user=user)


def _cadre_q(user, j: Jurisdiction) -> Q:
    from assistance.models import HouseholdAssignment, RoleAssignment

    placed = RoleAssignment.objects.filter(_place_q(j)).values("cadre_id")
    helping = scope_to(user, HouseholdAssignment.objects.all()).values("cadre_id")
    return Q(pk__in=placed) | Q(pk__in=helping) | Q(user=user)


def _register_core() -> None:
    from assessments.models import Assessment
    from assistance.models import (
        Cadre,
        HouseholdAssignment,
        HouseholdMeasure,
        LoanEvent,
        MicroLoan,
        RoleAssignment,
        Unit,
        Visit,
    )
    from households.models import Household, ImportJob, IncomeRecord, Member

    register_scope(Village, village="", household=None)
    register_scope(Household, village="village", household="")
    register_scope(Member, village="household__village", household="household")
    register_scope(IncomeRecord, village="household__village", household="household")
    register_scope(Assessment, village="household__village", household="household")
    register_scope(HouseholdAssignment, village="household__village", household="household")
    register_scope_function(RoleAssignment, _role_assignment_q)
    for model in (HouseholdMeasure, Visit, MicroLoan):
        register_scope(model, village="household__village", household="household")
    register_scope(LoanEvent, village="loan__household__village", household="loan__household")
    register_scope_function(Cadre, _cadre_q)
    # Units (帮扶单位) are not bound to a place: every user with a role may see them all.
    register_scope_function(Unit, lambda user, j: Q() if not j.is_empty else Q(pk__in=[]))
    # Excel imports: each user sees their own; city-wide users see all.
    register_scope_function(ImportJob, lambda user, j: Q() if j.everything else Q(user=user))
