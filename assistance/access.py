"""Role data feeding the access layer: the jurisdiction provider and the scopes of the assistance models.

``povertycase.jurisdiction`` knows nothing of cadres and roles; this module, registered from
``AssistanceConfig.ready()``, computes a user's jurisdiction from their active role assignments and household
assignments (DOMAIN.md §7), and tells the access layer how cadres, roles and the assistance records reach the tree.
"""

from __future__ import annotations

from django.db.models import Q

from assistance.choices import Role
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
from households.models import Household
from povertycase.admin_scoping import register_reference_data
from povertycase.jurisdiction import (
    Jurisdiction,
    placed_q,
    register_jurisdiction_provider,
    register_scope,
    register_scope_function,
    scope_to,
)
from villages.models import Township, Village


def jurisdiction_from_roles(user) -> Jurisdiction:
    """The places an active, non-superuser login reaches through its cadre's active roles (DOMAIN.md §7)."""
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


def _role_assignment_q(user, j: Jurisdiction) -> Q:
    return placed_q(j) | Q(cadre__user=user)


def _cadre_q(user, j: Jurisdiction) -> Q:
    placed = RoleAssignment.objects.filter(placed_q(j)).values("cadre_id")
    helping = scope_to(user, HouseholdAssignment.objects.all()).values("cadre_id")
    return Q(pk__in=placed) | Q(pk__in=helping) | Q(user=user)


def register() -> None:
    register_jurisdiction_provider(jurisdiction_from_roles)
    register_scope(HouseholdAssignment, village="household__village", household="household")
    register_scope_function(RoleAssignment, _role_assignment_q)
    for model in (HouseholdMeasure, Visit, MicroLoan):
        register_scope(model, village="household__village", household="household")
    register_scope(LoanEvent, village="loan__household__village", household="loan__household")
    register_scope_function(Cadre, _cadre_q)
    # Units (帮扶单位) are not bound to a place: every user with a role may see them all.
    register_scope_function(Unit, lambda user, j: Q() if not j.is_empty else Q(pk__in=[]))
    register_reference_data("assistance.unit")
