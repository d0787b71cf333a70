"""The procedures of DOMAIN.md §5 as data: which action moves an application from which state to which,
who may take it, and which steps are review steps for maker-checker. No ORM here."""

from __future__ import annotations

from dataclasses import dataclass

from procedures.choices import Action, Kind, State

VILLAGE_ROLES = frozenset({"first_secretary", "work_team"})
TOWNSHIP_ROLES = frozenset({"township_staff"})
COUNTY_ROLES = frozenset({"county_staff", "supervisor"})
ANY_REVIEWER = VILLAGE_ROLES | TOWNSHIP_ROLES | COUNTY_ROLES


@dataclass(frozen=True)
class Transition:
    action: str
    source: frozenset[str]
    target: str
    roles: frozenset[str]
    review_step: bool = True  # maker-checker: one user, one review step per application
    needs_notice_over: bool = False


def _t(action, source, target, roles, **kwargs) -> Transition:
    return Transition(
        action, frozenset(source if isinstance(source, (set, frozenset)) else {source}), target, roles, **kwargs
    )


# The opening of an application (state applied / proposed) counts as its first review step (the maker).
OPENING_ROLES = VILLAGE_ROLES
OPENING_STATE = {Kind.IDENTIFICATION: State.APPLIED, Kind.EXIT: State.PROPOSED}
OPEN_STEP_ACTION = "open"

_IDENTIFICATION_OPEN = {
    State.APPLIED,
    State.VILLAGER_REVIEW,
    State.COMMITTEE_CONFIRMED,
    State.VILLAGE_NOTICE,
    State.TOWNSHIP_REVIEWED,
    State.TOWNSHIP_NOTICE,
}
_EXIT_OPEN = {
    State.PROPOSED,
    State.APPRAISED,
    State.VERIFIED,
    State.ACKNOWLEDGED,
    State.VILLAGE_NOTICE,
    State.TOWNSHIP_REVIEWED,
}

TRANSITIONS: dict[str, tuple[Transition, ...]] = {
    Kind.IDENTIFICATION: (
        _t(Action.REVIEW, State.APPLIED, State.VILLAGER_REVIEW, VILLAGE_ROLES),
        _t(Action.CONFIRM, State.VILLAGER_REVIEW, State.COMMITTEE_CONFIRMED, VILLAGE_ROLES),
        _t(Action.PUBLISH_NOTICE, State.COMMITTEE_CONFIRMED, State.VILLAGE_NOTICE, VILLAGE_ROLES, review_step=False),
        _t(Action.OBJECT, State.VILLAGE_NOTICE, State.COMMITTEE_CONFIRMED, ANY_REVIEWER, review_step=False),
        _t(
            Action.TOWNSHIP_REVIEW,
            State.VILLAGE_NOTICE,
            State.TOWNSHIP_REVIEWED,
            TOWNSHIP_ROLES,
            needs_notice_over=True,
        ),
        _t(
            Action.PUBLISH_TOWNSHIP_NOTICE,
            State.TOWNSHIP_REVIEWED,
            State.TOWNSHIP_NOTICE,
            TOWNSHIP_ROLES | VILLAGE_ROLES,
            review_step=False,
        ),
        _t(Action.OBJECT, State.TOWNSHIP_NOTICE, State.TOWNSHIP_REVIEWED, ANY_REVIEWER, review_step=False),
        _t(Action.COUNTY_APPROVE, State.TOWNSHIP_NOTICE, State.COUNTY_APPROVED, COUNTY_ROLES, needs_notice_over=True),
        _t(Action.REJECT, _IDENTIFICATION_OPEN, State.REJECTED, ANY_REVIEWER, review_step=False),
    ),
    Kind.EXIT: (
        _t(Action.APPRAISE, State.PROPOSED, State.APPRAISED, VILLAGE_ROLES),
        _t(Action.VERIFY, State.APPRAISED, State.VERIFIED, VILLAGE_ROLES),
        _t(Action.ACKNOWLEDGE, State.VERIFIED, State.ACKNOWLEDGED, VILLAGE_ROLES, review_step=False),
        _t(Action.PUBLISH_NOTICE, State.ACKNOWLEDGED, State.VILLAGE_NOTICE, VILLAGE_ROLES, review_step=False),
        _t(Action.OBJECT, State.VILLAGE_NOTICE, State.VERIFIED, ANY_REVIEWER, review_step=False),
        _t(
            Action.TOWNSHIP_REVIEW,
            State.VILLAGE_NOTICE,
            State.TOWNSHIP_REVIEWED,
            TOWNSHIP_ROLES,
            needs_notice_over=True,
        ),
        _t(Action.COUNTY_APPROVE, State.TOWNSHIP_REVIEWED, State.COUNTY_APPROVED, COUNTY_ROLES),
        _t(Action.REJECT, _EXIT_OPEN, State.REJECTED, ANY_REVIEWER, review_step=False),
    ),
}
TERMINAL_STATES = frozenset({State.COUNTY_APPROVED, State.REJECTED})
NOTICE_STATES = frozenset({State.VILLAGE_NOTICE, State.TOWNSHIP_NOTICE})


def transition_for(kind: str, action: str, state: str) -> Transition | None:
    """The transition ``action`` from ``state``, or None when it does not exist there."""
    for transition in TRANSITIONS[kind]:
        if transition.action == action and state in transition.source:
            return transition
    return None


def actions_from(kind: str, state: str) -> list[Transition]:
    return [t for t in TRANSITIONS[kind] if state in t.source]


def roles_for_state(kind: str, state: str) -> frozenset[str]:
    """Roles that have a forward (non-reject, non-objection) step to take in ``state``."""
    roles: set[str] = set()
    for transition in actions_from(kind, state):
        if transition.action not in (Action.REJECT, Action.OBJECT):
            roles |= transition.roles
    return frozenset(roles)
