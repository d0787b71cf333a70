"""The procedures of DOMAIN.md §5 as data: which action moves an application from which state to which,
who may take it, and which steps are review steps for maker-checker. No ORM here.

Who may act (§5 "Who may act"): each forward step names its roles; at every state, the rejection and the
objection (which sends the application back) belong to exactly the roles of that state's forward steps. They
are derived from the forward steps below, never listed by hand, so that a village cadre cannot reject at the
county's review and a county clerk cannot reject at a village stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from procedures.choices import Action, Kind, State

VILLAGE_ROLES = frozenset({"first_secretary", "work_team"})
TOWNSHIP_ROLES = frozenset({"township_staff"})
# County approval (县审定/复审批复): county staff, or a supervisor (审核人员) whose place covers the household
# ("supervisors review exit approvals"); the services check the place through the actor's roles there.
COUNTY_ROLES = frozenset({"county_staff", "supervisor"})
# Every role with a part in some procedure (the "待我办理" queue looks these up once per user).
ANY_REVIEWER = VILLAGE_ROLES | TOWNSHIP_ROLES | COUNTY_ROLES
# Actions that do not move an application forward: whoever may move it on from a state may also take these.
SIDE_ACTIONS = frozenset({Action.REJECT, Action.OBJECT})


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

# The steps that move an application on, in the order of the procedure.
FORWARD: dict[str, tuple[Transition, ...]] = {
    Kind.IDENTIFICATION: (
        _t(Action.REVIEW, State.APPLIED, State.VILLAGER_REVIEW, VILLAGE_ROLES),
        _t(Action.CONFIRM, State.VILLAGER_REVIEW, State.COMMITTEE_CONFIRMED, VILLAGE_ROLES),
        _t(Action.PUBLISH_NOTICE, State.COMMITTEE_CONFIRMED, State.VILLAGE_NOTICE, VILLAGE_ROLES, review_step=False),
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
        _t(Action.COUNTY_APPROVE, State.TOWNSHIP_NOTICE, State.COUNTY_APPROVED, COUNTY_ROLES, needs_notice_over=True),
    ),
    Kind.EXIT: (
        _t(Action.APPRAISE, State.PROPOSED, State.APPRAISED, VILLAGE_ROLES),
        _t(Action.VERIFY, State.APPRAISED, State.VERIFIED, VILLAGE_ROLES),
        _t(Action.ACKNOWLEDGE, State.VERIFIED, State.ACKNOWLEDGED, VILLAGE_ROLES, review_step=False),
        _t(Action.PUBLISH_NOTICE, State.ACKNOWLEDGED, State.VILLAGE_NOTICE, VILLAGE_ROLES, review_step=False),
        _t(
            Action.TOWNSHIP_REVIEW,
            State.VILLAGE_NOTICE,
            State.TOWNSHIP_REVIEWED,
            TOWNSHIP_ROLES,
            needs_notice_over=True,
        ),
        _t(Action.COUNTY_APPROVE, State.TOWNSHIP_REVIEWED, State.COUNTY_APPROVED, COUNTY_ROLES),
    ),
}
# Where an objection (异议) raised during a notice sends the application back (§5).
SENT_BACK_TO: dict[str, dict[str, str]] = {
    Kind.IDENTIFICATION: {
        State.VILLAGE_NOTICE: State.COMMITTEE_CONFIRMED,
        State.TOWNSHIP_NOTICE: State.TOWNSHIP_REVIEWED,
    },
    Kind.EXIT: {State.VILLAGE_NOTICE: State.VERIFIED},
}


def _forward_roles(forward: tuple[Transition, ...], state: str) -> frozenset[str]:
    return frozenset().union(*(t.roles for t in forward if state in t.source))


def _procedure(forward: tuple[Transition, ...], sent_back_to: dict[str, str]) -> tuple[Transition, ...]:
    """The forward steps, then for every state one of them leaves (the open states): the objection where the
    state is a notice, and the rejection, each for exactly the roles of that state's forward steps."""
    open_states = list(dict.fromkeys(state for t in forward for state in sorted(t.source)))
    objections = tuple(
        _t(Action.OBJECT, state, back, _forward_roles(forward, state), review_step=False)
        for state, back in sent_back_to.items()
    )
    rejections = tuple(
        _t(Action.REJECT, state, State.REJECTED, _forward_roles(forward, state), review_step=False)
        for state in open_states
    )
    return forward + objections + rejections


TRANSITIONS: dict[str, tuple[Transition, ...]] = {
    kind: _procedure(forward, SENT_BACK_TO[kind]) for kind, forward in FORWARD.items()
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


def forward_transitions(kind: str, state: str) -> list[Transition]:
    """The steps that move an application in ``state`` forward (neither a rejection nor an objection)."""
    return [t for t in actions_from(kind, state) if t.action not in SIDE_ACTIONS]


def roles_for_state(kind: str, state: str) -> frozenset[str]:
    """Roles that may act in ``state``: those of its forward steps, who alone may also reject or object there."""
    return _forward_roles(FORWARD[kind], state)
