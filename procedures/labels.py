"""How the procedures are shown in the admin and the API (DOMAIN.md §5): Chinese labels for what the step
history stores as slugs, and the order of the six signatures."""

from __future__ import annotations

from django.db.models import Case, Value, When

from assistance.choices import Role
from procedures import workflow
from procedures.choices import Action, Signatory, State
from procedures.services import SUPERUSER_ROLE

OPEN_STEP_LABEL = "提出申请"
SUPERUSER_LABEL = "系统管理员"


def action_label(action: str) -> str:
    if action == workflow.OPEN_STEP_ACTION:
        return OPEN_STEP_LABEL
    try:
        return Action(action).label
    except ValueError:
        return action


def role_label(role: str) -> str:
    if role == SUPERUSER_ROLE:
        return SUPERUSER_LABEL
    try:
        return Role(role).label
    except ValueError:
        return role


def state_label(state: str) -> str:
    try:
        return State(state).label if state else ""
    except ValueError:
        return state


def signatory_order() -> Case:
    """An ordering expression: the six signatures in the order of DOMAIN.md §5 (village first, township last)."""
    return Case(
        *(When(signatory=value, then=Value(index)) for index, value in enumerate(Signatory.values)),
        default=Value(len(Signatory.values)),
    )
