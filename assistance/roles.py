"""What each role may do (DOMAIN.md §7): Django permissions granted through one group per role.

Where a role acts is decided by ``povertycase.jurisdiction``; what it may do there is decided here. The groups
are (re)built from this table after every migrate, so the table in code is the truth.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from assistance.choices import Role

VIEW_REGISTRY = [
    "villages.view_county",
    "villages.view_township",
    "villages.view_village",
    "households.view_household",
    "households.view_member",
    "households.view_incomerecord",
    "assessments.view_povertyline",
    "assessments.view_assessment",
    "assistance.view_cadre",
    "assistance.view_roleassignment",
    "assistance.view_householdassignment",
    "assistance.view_unit",
    "assistance.view_householdmeasure",
    "assistance.view_visit",
    "assistance.view_microloan",
    "assistance.view_loanevent",
    "procedures.view_application",
    "procedures.view_step",
    "procedures.view_objection",
    "procedures.view_signature",
    "procedures.view_alert",
    "procedures.view_decision",
]
FIELD_WORK = [
    "assistance.add_visit",
    "assistance.add_householdmeasure",
    "assistance.change_householdmeasure",
]
LOANS = [
    "assistance.add_microloan",
    "assistance.change_microloan",
    "assistance.add_loanevent",
]
EDIT_HOUSEHOLD_FILE = [
    "households.add_household",
    "households.change_household",
    "households.add_member",
    "households.change_member",
    "households.add_incomerecord",
    "households.change_incomerecord",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.COUNTY_STAFF: [
        *VIEW_REGISTRY,
        *EDIT_HOUSEHOLD_FILE,
        *FIELD_WORK,
        *LOANS,
        "households.delete_member",
        "households.delete_incomerecord",
        "households.view_personal_data",
        "villages.change_village",
        "assistance.add_cadre",
        "assistance.change_cadre",
        "assistance.add_roleassignment",
        "assistance.change_roleassignment",
        "assistance.add_householdassignment",
        "assistance.change_householdassignment",
        "assistance.add_unit",
        "assistance.change_unit",
    ],
    Role.TOWNSHIP_STAFF: [
        *VIEW_REGISTRY,
        *EDIT_HOUSEHOLD_FILE,
        *FIELD_WORK,
        *LOANS,
        "assistance.add_householdassignment",
        "assistance.change_householdassignment",
    ],
    Role.FIRST_SECRETARY: [*VIEW_REGISTRY, *EDIT_HOUSEHOLD_FILE, *FIELD_WORK],
    Role.WORK_TEAM: [*VIEW_REGISTRY, *EDIT_HOUSEHOLD_FILE, *FIELD_WORK],
    Role.VILLAGE_LEADER: [*VIEW_REGISTRY],
    Role.HELPER: [
        *VIEW_REGISTRY,
        "households.change_household",
        "households.change_member",
        "households.add_incomerecord",
        "households.change_incomerecord",
        "assistance.add_visit",
    ],
    Role.SUPERVISOR: [*VIEW_REGISTRY],
}
# Roles that work in the back office (the admin); the others use the field pages and the API.
STAFF_ROLES = frozenset({Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.SUPERVISOR})


def role_group_name(role: str) -> str:
    return f"角色：{Role(role).label}"


def sync_role_groups(**kwargs) -> None:
    """Create or update one group per role with exactly the permissions of ``ROLE_PERMISSIONS``."""
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name = {}
    for perm in Permission.objects.select_related("content_type").filter(
        content_type__app_label__in={p.split(".")[0] for p in wanted}
    ):
        by_name[f"{perm.content_type.app_label}.{perm.codename}"] = perm
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role_group_name(role))
        group.permissions.set([by_name[p] for p in perms if p in by_name])


def sync_user_groups(user) -> None:
    """Give ``user`` the groups of their active roles (and staff status for back-office roles)."""
    from assistance.models import RoleAssignment

    roles = set(RoleAssignment.objects.active_on().filter(cadre__user=user).values_list("role", flat=True))
    role_groups = Group.objects.filter(name__in=[role_group_name(r) for r in Role.values])
    keep = [g for g in user.groups.all() if g not in role_groups]
    user.groups.set(keep + list(role_groups.filter(name__in=[role_group_name(r) for r in roles])))
    is_staff = user.is_superuser or bool(roles & STAFF_ROLES)
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
