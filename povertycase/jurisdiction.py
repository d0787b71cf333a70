"""The access layer: the one place that decides which rows a user may see (GUIDE.md, DOMAIN.md §7).

Owns the ``Jurisdiction`` value, the scope registry and the functions every other layer calls:
``scope_to(user, queryset)`` restricts a queryset of any registered model to the user's places, deny by default
(a user with no active role sees nothing; an unregistered model is a programming error); ``ensure_in_scope``
checks a write inside its transaction; ``covers`` tells whether a place lies inside the user's own places.

This module sits at the bottom of the layers and imports no app. The apps plug themselves in from their
``AppConfig.ready()``: each registers how its models reach the tree (``register_scope``,
``register_scope_function``), and the app that owns the role data (``assistance``) registers the provider that
computes a user's jurisdiction from their role and household assignments (``register_jurisdiction_provider``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet
from django.http import Http404


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

# --- the provider: who computes a user's jurisdiction ----------------------------------------------------

_provider: Callable[[Any], Jurisdiction] | None = None


def register_jurisdiction_provider(provider: Callable[[Any], Jurisdiction]) -> None:
    """Called once by the app that owns role data: ``provider(user)`` computes an active user's jurisdiction."""
    global _provider
    _provider = provider


def jurisdiction_for(user) -> Jurisdiction:
    """The user's jurisdiction (cached on the user object). Without a provider only superusers see anything."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    cached = getattr(user, "_jurisdiction", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        result = EVERYTHING
    elif _provider is None:
        result = NOTHING
    else:
        result = _provider(user)
    user._jurisdiction = result
    return result


def forget_jurisdiction(user) -> None:
    """Drop the cached jurisdiction (after the user's roles changed)."""
    if hasattr(user, "_jurisdiction"):
        del user._jurisdiction


# --- the scope registry: how each model reaches the tree -------------------------------------------------


@dataclass(frozen=True)
class ScopePath:
    """How a model reaches the tree: the lookup to its village and to its household ('' = itself)."""

    village: str | None
    household: str | None


ScopeFunction = Callable[[Any, Jurisdiction], Q]
_REGISTRY: dict[type[Model], ScopePath | ScopeFunction] = {}


def register_scope(model: type[Model], *, village: str | None, household: str | None) -> None:
    """``model`` is seen by who sees its village (lookup ``village``) or its household (lookup ``household``)."""
    _REGISTRY[model] = ScopePath(village=village, household=household)


def register_scope_function(model: type[Model], function: ScopeFunction) -> None:
    """For models that do not hang under one village (places, cadres, role assignments): ``function(user, j)``."""
    _REGISTRY[model] = function


def _lookup(path: str, name: str) -> str:
    return f"{path}__{name}" if path else name


def nothing_q() -> Q:
    return Q(pk__in=[])


def village_q(j: Jurisdiction, village: str) -> Q:
    """Rows whose village (reached by the lookup ``village``, '' = the row itself) lies in ``j``'s places."""
    q = nothing_q()
    if j.county_ids:
        q |= Q(**{_lookup(village, "county_id__in"): j.county_ids})
    if j.township_ids:
        q |= Q(**{_lookup(village, "township_id__in"): j.township_ids})
    if j.village_ids:
        q |= Q(**{_lookup(village, "pk__in"): j.village_ids})
    return q


def scope_q(user, model: type[Model]) -> Q | None:
    """The filter that keeps what ``user`` may see of ``model``; None means everything."""
    j = jurisdiction_for(user)
    if j.everything:
        return None
    path = _REGISTRY.get(model)
    if path is None:
        raise ImproperlyConfigured(f"{model.__name__} is not registered with povertycase.jurisdiction.register_scope")
    if not isinstance(path, ScopePath):
        return path(user, j)
    q = village_q(j, path.village) if path.village is not None else nothing_q()
    if path.household is not None and j.household_ids:
        q |= Q(**{_lookup(path.household, "pk__in"): j.household_ids})
    return q


def is_registered(model: type[Model]) -> bool:
    return model in _REGISTRY


def scope_to(user, queryset: QuerySet) -> QuerySet:
    """Restrict ``queryset`` to the rows ``user`` may see. Deny by default."""
    q = scope_q(user, queryset.model)
    return queryset if q is None else queryset.filter(q)


def in_scope(user, obj: Model) -> bool:
    return scope_to(user, type(obj)._default_manager.filter(pk=obj.pk)).exists()


def covers(user, place: Model) -> bool:
    """Whether ``place`` (a county, township or village) lies inside the user's own places, not merely visible
    as a parent for navigation."""
    j = jurisdiction_for(user)
    if j.everything:
        return True
    level = place._meta.model_name
    if level == "county":
        return place.pk in j.county_ids
    if level == "township":
        return place.pk in j.township_ids or place.county_id in j.county_ids
    if level == "village":
        return place.pk in j.village_ids or place.township_id in j.township_ids or place.county_id in j.county_ids
    raise ImproperlyConfigured(f"covers() takes a county, township or village, not {type(place).__name__}")


def ensure_in_scope(user, obj: Model) -> None:
    """Inside a write's transaction: refuse (404, as if it did not exist) an object outside the user's scope."""
    if not in_scope(user, obj):
        raise Http404("不在您的辖区内。")


def placed_q(j: Jurisdiction, prefix: str = "") -> Q:
    """Rows with county/township/village columns (role assignments, say) placed inside ``j``'s own places."""
    q = nothing_q()
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
