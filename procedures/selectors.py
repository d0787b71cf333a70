"""Reads with logic for the procedures' screens (DOMAIN.md §5): which steps a user may take now on an
application, which procedures a user may start or decide on a household, and the open alerts of a user's places.

The offers mirror the checks of ``procedures.services`` from the same tables (``procedures.workflow``: the roles of
each step; ``services.actor_roles``: the roles the user holds at a place covering the household; maker-checker;
the notice period; the six signatures; the household's status and assessment), so that a screen shows no button
the service would refuse. They decide nothing: every POST still goes through the service, which has the last word
(an exit's county approval, for one, re-assesses on current data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from assessments import rules as assessment_rules
from assessments.models import Assessment
from households.choices import HouseholdStatus, Relation
from households.models import Household, Member
from povertycase.jurisdiction import scope_to
from procedures import labels, services, workflow
from procedures.choices import Action, AlertKind, Kind, Signatory, State
from procedures.models import Alert, Application

#: The alerts a cadre acts on in the field (the decision log's tamper alert is the county's and the supervisors').
FIELD_ALERT_KINDS = (AlertKind.NOTICE_ENDED, AlertKind.STALLED, AlertKind.RETURN_CANDIDATE)
#: The household statuses an application of each kind may start from, and still be approved from (§5).
OPENABLE_STATUSES = {
    Kind.IDENTIFICATION: (HouseholdStatus.MARGINAL,),
    Kind.EXIT: (HouseholdStatus.IN_POVERTY, HouseholdStatus.RETURNED),
}
#: The county decisions on a household (返贫, 清退) are the county office's (``services.household_*``).
COUNTY_DECISION_ROLES = frozenset({"county_staff"})


def _may(roles: set[str], allowed) -> bool:
    return services.SUPERUSER_ROLE in roles or bool(roles & set(allowed))


def failing_criteria(assessment: Assessment) -> list[str]:
    """The failing criteria of an assessment, each as "指标：说明" (the same words the services refuse with)."""
    return [
        f"{assessment_rules.CRITERION_LABELS.get(c['criterion'], c['criterion'])}：{c['message']}"
        for c in assessment.criteria
        if not c["passed"]
    ]


# ---------------------------------------------------------------------------------------------------------
# An application: the steps the user may take now


@dataclass(frozen=True)
class ApplicationOffer:
    """What ``user`` may do on an application now. ``notes`` say why a step of the user's own role is not offered
    (notice running, maker-checker, signatures missing), so that a missing button is explained."""

    actions: tuple[workflow.Transition, ...] = ()
    notes: tuple[str, ...] = ()
    missing_signatories: tuple[str, ...] = ()
    may_sign: bool = False

    @property
    def forward(self) -> list[workflow.Transition]:
        return [t for t in self.actions if t.action not in workflow.SIDE_ACTIONS]

    @property
    def rejection(self) -> workflow.Transition | None:
        return next((t for t in self.actions if t.action == Action.REJECT), None)

    @property
    def objection(self) -> workflow.Transition | None:
        return next((t for t in self.actions if t.action == Action.OBJECT), None)


def application_offer(user, application: Application, *, today: dt.date | None = None) -> ApplicationOffer:
    """The actions of ``procedures.workflow.actions_from`` that ``user`` may take on ``application`` now."""
    household = application.household
    signed = set(application.signatures.values_list("signatory", flat=True))
    missing = tuple(s.value for s in Signatory if s.value not in signed)
    if application.is_closed:
        return ApplicationOffer(missing_signatories=missing)
    today = today or timezone.localdate()
    roles = services.actor_roles(user, household)
    reviewed = set(
        application.steps.filter(actor_id=user.pk, review_step=True).values_list("action", flat=True).distinct()
    )
    actions: list[workflow.Transition] = []
    notes: list[str] = []
    for transition in workflow.actions_from(application.kind, application.state):
        if not _may(roles, transition.roles):
            continue
        label = labels.action_label(transition.action)
        done = sorted(reviewed - {transition.action})
        if transition.review_step and done:
            notes.append(
                f"您已办理本申请的“{labels.action_label(done[0])}”，同一人不能办理两个审核环节，“{label}”须由他人办理。"
            )
            continue
        ends = application.notice_ends_on
        if transition.needs_notice_over and ends and today <= ends:
            notes.append(f"公示期至{ends:%Y年%m月%d日}止，期满后才能办理“{label}”。")
            continue
        if transition.action == Action.COUNTY_APPROVE:
            if household.status not in OPENABLE_STATUSES[application.kind]:
                notes.append(
                    f"该户当前状态为“{household.get_status_display()}”，不能再办理{Kind(application.kind).label}。"
                )
                continue
            if application.kind == Kind.IDENTIFICATION and missing:
                names = "、".join(Signatory(s).label for s in missing)
                notes.append(f"六签字不全（缺少：{names}），补齐后才能办理“{label}”。")
                continue
        actions.append(transition)
    may_sign = application.kind == Kind.IDENTIFICATION and bool(missing) and _may(roles, workflow.ANY_REVIEWER)
    return ApplicationOffer(tuple(actions), tuple(notes), missing, may_sign)


# ---------------------------------------------------------------------------------------------------------
# A household: the procedures the user may start, and the county's decisions


@dataclass(frozen=True)
class HouseholdOffer:
    """What ``user`` may start or decide on a household for ``year`` (the current assessment year).
    ``exit_blocked`` says, to a user who could propose exits, why this household's exit is not offered."""

    year: int
    assessment: Assessment | None = None
    open_exit: bool = False
    exit_blocked: list[str] = field(default_factory=list)
    open_identification: bool = False
    return_to_poverty: bool = False
    remove: bool = False

    @property
    def any(self) -> bool:
        return self.open_exit or self.open_identification or self.return_to_poverty or self.remove


def _open_application(household: Household, kind: str, year: int) -> Application | None:
    return Application.objects.filter(household=household, kind=kind, year=year).exclude(state=State.REJECTED).first()


def household_offer(user, household: Household, *, year: int) -> HouseholdOffer:
    """提出退出申请 (a household in poverty or returned whose current assessment for ``year`` is eligible, by a village
    role), 提出识别申请 (a 边缘户, by a village role), 认定返贫 (an exited household) and 清退 (county staff)."""
    roles = services.actor_roles(user, household)
    assessment = Assessment.objects.filter(household=household, year=year, is_current=True).first()
    opener = _may(roles, workflow.OPENING_ROLES)
    county = _may(roles, COUNTY_DECISION_ROLES)
    status = household.status

    open_exit, exit_blocked = False, []
    if opener and status in OPENABLE_STATUSES[Kind.EXIT]:
        pending = _open_application(household, Kind.EXIT, year)
        if pending is not None:
            exit_blocked = [f"该户{year}年的退出申请正在办理（{pending.get_state_display()}）。"]
        elif household.identified_year and year < household.identified_year:
            exit_blocked = [f"退出年度不能早于该户的识别年度{household.identified_year}年。"]
        elif assessment is None:
            exit_blocked = [f"该户尚无{year}年的退出评估结果，请先评估。"]
        elif not assessment.eligible:
            exit_blocked = [f"该户{year}年评估未达到退出标准：", *failing_criteria(assessment)]
        else:
            open_exit = True
    open_identification = (
        opener
        and status in OPENABLE_STATUSES[Kind.IDENTIFICATION]
        and _open_application(household, Kind.IDENTIFICATION, year) is None
    )
    return HouseholdOffer(
        year=year,
        assessment=assessment,
        open_exit=open_exit,
        exit_blocked=exit_blocked,
        open_identification=open_identification,
        return_to_poverty=county and status == HouseholdStatus.EXITED,
        remove=county and status in services.REMOVABLE_STATUSES,
    )


def status_verdict_note(household: Household, assessment: Assessment | None, *, alerted: bool) -> str:
    """A sentence explaining a household whose status and current verdict disagree (``alerted``: an open
    return-to-poverty alert exists), or "" when they agree."""
    if assessment is None:
        return ""
    if household.status == HouseholdStatus.EXITED and not assessment.eligible:
        if alerted:
            return "已脱贫户新评估未达标，已列入返贫风险提醒，由县扶贫办核实后决定是否认定返贫。"
        return "已脱贫户新评估未达标，将在每日核查时列入返贫风险提醒，由县扶贫办核实后决定是否认定返贫。"
    if household.status in OPENABLE_STATUSES[Kind.EXIT] and assessment.eligible:
        return (
            f"该户{assessment.year}年评估已达到退出标准，户状态仍为“{household.get_status_display()}”："
            "脱贫须经退出程序，县级审定后才变更。"
        )
    return ""


# ---------------------------------------------------------------------------------------------------------
# Alerts


def open_alerts(user, *, kinds=FIELD_ALERT_KINDS) -> QuerySet[Alert]:
    """The unresolved alerts on households of the user's jurisdiction, with the household's head (``head_name``),
    newest first; filter further by household or village."""
    heads = Member.objects.filter(household_id=OuterRef("household_id"), relation=Relation.HEAD, is_active=True)
    queryset = Alert.objects.filter(resolved_at__isnull=True, kind__in=kinds)
    return (
        scope_to(user, queryset)
        .select_related("household", "application")
        .annotate(head_name=Subquery(heads.order_by("pk").values("name")[:1]))
        .order_by("-created_at", "-pk")
    )
