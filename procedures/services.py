"""Every step of the identification and exit procedures (DOMAIN.md §5).

Each service checks the actor's role and jurisdiction for that step, the state, the notice period,
maker-checker and the guards, records the step (actor, role, time, comment) in the append-only history and
applies the effect, all in one transaction: a refusal raises with a clear Chinese message and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from simple_history.utils import update_change_reason

from assessments import rules as assessment_rules
from assessments.models import Assessment
from assessments.services import household_assess
from assistance.choices import Role
from assistance.selectors import role_places
from households.choices import HouseholdStatus
from households.models import Household
from povertycase.jurisdiction import ensure_in_scope
from procedures import decisions, workflow
from procedures.choices import Action, DecisionKind, DecisionSource, Kind, Signatory, State
from procedures.models import Application, Objection, Signature, Step

SUPERUSER_ROLE = "superuser"


def actor_roles(actor, household: Household) -> set[str]:
    """The actor's active roles whose place covers ``household`` (a city-wide supervisor covers all)."""
    if actor.is_superuser:
        return {SUPERUSER_ROLE}
    return {place.role for place in role_places(actor) if place.covers(household.village)}


def _acting_role(actor, household: Household, allowed: Iterable[str], what: str, *, state_label: str = "") -> str:
    """The role in which ``actor`` takes ``what`` for ``household``: one of ``allowed`` held at a place covering
    the household (§5 "Who may act"); 404 outside the jurisdiction, PermissionDenied naming who may act."""
    ensure_in_scope(actor, household)  # 404 outside the jurisdiction, before anything else is said
    roles = actor_roles(actor, household)
    if SUPERUSER_ROLE in roles:
        return SUPERUSER_ROLE
    usable = sorted(roles & set(allowed))
    if not usable:
        wanted = "、".join(Role(r).label for r in sorted(allowed))
        where = f"申请处于“{state_label}”环节，" if state_label else ""
        raise PermissionDenied(f"{where}“{what}”须由{wanted}办理，您在该户所在辖区没有这些角色。")
    return usable[0]


def _today() -> dt.date:
    return timezone.localdate()


def _step(
    application: Application, *, action: str, from_state: str, actor, role: str, comment: str, review_step: bool
) -> Step:
    return Step.objects.create(
        application=application,
        action=action,
        from_state=from_state,
        to_state=application.state,
        actor=actor,
        role=role,
        comment=comment,
        review_step=review_step,
    )


@transaction.atomic
def application_open(*, actor, household: Household, kind: str, year: int, comment: str = "") -> Application:
    """Open an identification (本人申请) or exit (村两委提出) application.

    Identification: for a household filed as 边缘易致贫户 (``marginal``) awaiting registration.
    Exit: for a household in poverty (or returned) whose latest assessment for ``year`` is eligible (§5).
    """
    household = Household.objects.select_for_update().select_related("village").get(pk=household.pk)
    what = "提出退出" if kind == Kind.EXIT else "受理识别申请"
    role = _acting_role(actor, household, workflow.OPENING_ROLES, what)
    if kind == Kind.IDENTIFICATION:
        if household.status != HouseholdStatus.MARGINAL:
            raise ValidationError(
                {"household": f"只有“边缘易致贫户”可以申请识别，该户状态为“{household.get_status_display()}”。"}
            )
    elif kind == Kind.EXIT:
        if household.status not in (HouseholdStatus.IN_POVERTY, HouseholdStatus.RETURNED):
            raise ValidationError(
                {"household": f"只有未脱贫或返贫户可以提出退出，该户状态为“{household.get_status_display()}”。"}
            )
        if household.identified_year and year < household.identified_year:
            raise ValidationError({"year": f"退出年度不能早于该户的识别年度{household.identified_year}年。"})
        assessment = Assessment.objects.filter(household=household, year=year, is_current=True).first()
        if assessment is None:
            raise ValidationError({"year": f"该户尚无{year}年的退出评估结果，请先评估。"})
        if not assessment.eligible:
            raise ValidationError({"year": ["该户未达到退出标准：", *_failures(assessment.criteria)]})
    else:
        raise ValidationError({"kind": "未知的申请类别。"})
    if Application.objects.filter(kind=kind, household=household, year=year).exclude(state=State.REJECTED).exists():
        raise ValidationError({"household": f"该户{year}年已有{Kind(kind).label}申请，不能重复提出。"})
    application = Application(
        kind=kind,
        household=household,
        year=year,
        state=workflow.OPENING_STATE[kind],
        state_entered_at=timezone.now(),
        created_by=actor,
    )
    application.full_clean()
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:  # a concurrent request opened the same application first
        raise ValidationError({"household": f"该户{year}年已有{Kind(kind).label}申请，不能重复提出。"}) from None
    _step(
        application,
        action=workflow.OPEN_STEP_ACTION,
        from_state="",
        actor=actor,
        role=role,
        comment=comment,
        review_step=True,
    )
    return application


def _failures(criteria: list[dict]) -> list[str]:
    return [f"{assessment_rules.CRITERION_LABELS[c['criterion']]}：{c['message']}" for c in criteria if not c["passed"]]


def _check_maker_checker(application: Application, actor, action: str) -> None:
    earlier = (
        application.steps.filter(actor=actor, review_step=True).exclude(action=action).values_list("action", flat=True)
    )
    done = next(iter(earlier), None)
    if done is not None:
        label = "提出申请" if done == workflow.OPEN_STEP_ACTION else Action(done).label
        raise PermissionDenied(f"同一人不能办理同一申请的两个审核环节：您已办理“{label}”。")


def _check_signatures(application: Application) -> None:
    signed = set(application.signatures.values_list("signatory", flat=True))
    missing = [s.label for s in Signatory if s.value not in signed]
    if missing:
        raise ValidationError({"signatures": f"六签字不全，缺少：{'、'.join(missing)}。"})


@dataclass(frozen=True)
class ObjectionInput:
    text: str
    raised_by: str
    raised_on: dt.date | None = None


@transaction.atomic
def application_transition(
    *, actor, application: Application, action: str, comment: str = "", objection: ObjectionInput | None = None
) -> Application:
    """Take ``action`` on ``application`` (see ``procedures.workflow.TRANSITIONS``)."""
    application = Application.objects.select_for_update().select_related("household__village").get(pk=application.pk)
    household = application.household
    ensure_in_scope(actor, household)
    state_label = State(application.state).label
    try:
        action_label = Action(action).label
    except ValueError:
        raise ValidationError({"action": f"未知的操作“{action}”。"}) from None
    transition = workflow.transition_for(application.kind, action, application.state)
    if transition is None:
        raise ValidationError({"action": f"申请处于“{state_label}”环节，不能执行“{action_label}”。"})
    # Only the roles of the state's forward step may act there, rejection and objection included (the table).
    role = _acting_role(actor, household, transition.roles, action_label, state_label=state_label)
    if transition.review_step:
        _check_maker_checker(application, actor, action)
    comment = (comment or "").strip()
    if transition.needs_notice_over and application.notice_ends_on and _today() <= application.notice_ends_on:
        ends = f"{application.notice_ends_on:%Y年%m月%d日}"
        raise ValidationError(
            {"action": f"公示期至{ends}止（{settings.NOTICE_PERIOD_DAYS}天），期满后才能进入下一步。"}
        )
    if action == Action.REJECT and not comment:
        raise ValidationError({"comment": "不予通过须填写理由。"})
    if action == Action.OBJECT:
        text = (objection.text or "").strip() if objection else ""
        raised_by = (objection.raised_by or "").strip() if objection else ""
        if not text or not raised_by:
            raise ValidationError({"objection": "记录异议须填写异议内容和提出人。"})
        if objection.raised_on and (
            objection.raised_on > _today()
            or (application.notice_started_on and objection.raised_on < application.notice_started_on)
        ):
            raise ValidationError({"objection": "异议提出日期须在公示期内，且不能晚于今天。"})
        Objection.objects.create(
            application=application,
            text=text,
            raised_by=raised_by,
            raised_on=objection.raised_on or _today(),
            during_state=application.state,
            recorded_by=actor,
        )
        comment = comment or f"{raised_by}提出异议：{text}"
    if action == Action.COUNTY_APPROVE:
        _approve(application, actor)

    from_state = application.state
    application.state = transition.target
    application.state_entered_at = timezone.now()
    if transition.target in workflow.NOTICE_STATES:
        application.notice_started_on = _today()
        application.notice_ends_on = _today() + dt.timedelta(days=settings.NOTICE_PERIOD_DAYS - 1)
    application.save()
    _step(
        application,
        action=action,
        from_state=from_state,
        actor=actor,
        role=role,
        comment=comment,
        review_step=transition.review_step,
    )
    return application


_OPENABLE_STATUSES = {
    Kind.IDENTIFICATION: (HouseholdStatus.MARGINAL,),
    Kind.EXIT: (HouseholdStatus.IN_POVERTY, HouseholdStatus.RETURNED),
}


def _approve(application: Application, actor) -> None:
    """County approval's guards and effect: registers the household (identification) or exits it (exit)."""
    household = Household.objects.select_for_update().get(pk=application.household_id)
    # The household may have changed since the application was opened (another year's application approved,
    # a correction of its status): approve only what the procedure still applies to.
    allowed = _OPENABLE_STATUSES[application.kind]
    if household.status not in allowed:
        raise ValidationError(
            {"action": f"该户当前状态为“{household.get_status_display()}”，不能再办理{Kind(application.kind).label}。"}
        )
    if application.kind == Kind.IDENTIFICATION:
        _check_signatures(application)
        decisions.decide(
            kind=DecisionKind.IDENTIFIED,
            household=household,
            actor=actor,
            year=application.year,
            status=HouseholdStatus.IN_POVERTY,
            identified_year=application.year,
            exit_year=None,
            source=DecisionSource.PROCEDURE,
            application=application,
            content=decisions.application_content(application),
        )
        return
    # Exit: re-check eligibility on current data (§5), and refuse with the reasons if it no longer passes.
    assessment = household_assess(household=household, year=application.year)
    if not assessment.eligible:
        raise ValidationError(
            {"action": ["按当前数据重新评估，该户已不再达到退出标准：", *_failures(assessment.criteria)]}
        )
    decisions.decide(
        kind=DecisionKind.EXITED,
        household=household,
        actor=actor,
        year=application.year,
        status=HouseholdStatus.EXITED,
        identified_year=household.identified_year,
        exit_year=application.year,
        source=DecisionSource.PROCEDURE,
        application=application,
        content={**decisions.application_content(application), **decisions.assessment_content(assessment)},
    )


@transaction.atomic
def signature_record(*, actor, application: Application, signatory: str, name: str, signed_on: dt.date) -> Signature:
    """Record one of the six signatures (六签字) on an identification file."""
    application = Application.objects.select_for_update().select_related("household__village").get(pk=application.pk)
    _acting_role(actor, application.household, workflow.ANY_REVIEWER, "记录签字")
    if application.kind != Kind.IDENTIFICATION:
        raise ValidationError({"signatory": "只有识别申请需要记录六签字。"})
    if application.is_closed:
        raise ValidationError({"signatory": "申请已办结，不能再记录签字。"})
    if signed_on and signed_on > _today():
        raise ValidationError({"signed_on": "签字日期不能晚于今天。"})
    signature = Signature(
        application=application, signatory=signatory, name=(name or "").strip(), signed_on=signed_on, recorded_by=actor
    )
    signature.full_clean()
    signature.save()
    return signature


@dataclass(frozen=True)
class BulkOutcome:
    application: Application
    passed: bool
    reason: str = ""


def applications_bulk_transition(
    *, actor, applications: Iterable[Application], action: str, comment: str = ""
) -> list[BulkOutcome]:
    """Take ``action`` on each application on its own (its own transaction): those that pass are done
    entirely, those refused are untouched, and each outcome says why."""
    outcomes: list[BulkOutcome] = []
    for application in applications:
        try:
            done = application_transition(actor=actor, application=application, action=action, comment=comment)
        except (ValidationError, PermissionDenied) as exc:
            outcomes.append(BulkOutcome(application, False, _reason(exc)))
        except Http404:  # out of the actor's scope: refuse this one, keep going (other errors are bugs)
            outcomes.append(BulkOutcome(application, False, "不在您的辖区内。"))
        else:
            outcomes.append(BulkOutcome(done, True))
    return outcomes


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


@transaction.atomic
def household_return_to_poverty(*, actor, household: Household, comment: str) -> Household:
    """A county decision that an exited household has returned to poverty (返贫, §5)."""
    household = Household.objects.select_for_update().select_related("village").get(pk=household.pk)
    _acting_role(actor, household, {"county_staff"}, "认定返贫")
    if household.status != HouseholdStatus.EXITED:
        raise ValidationError({"status": f"只有已脱贫户可以认定返贫，该户状态为“{household.get_status_display()}”。"})
    if not (comment or "").strip():
        raise ValidationError({"comment": "认定返贫须填写依据。"})
    current = Assessment.objects.filter(household=household, is_current=True).order_by("-year").first()
    decision = decisions.decide(
        kind=DecisionKind.RETURNED,
        household=household,
        actor=actor,
        year=current.year if current else _today().year,
        status=HouseholdStatus.RETURNED,
        identified_year=household.identified_year,
        exit_year=household.exit_year,
        source=DecisionSource.COUNTY,
        reason=comment,
        content=decisions.assessment_content(current) if current else {},
    )
    household = decision.household
    update_change_reason(household, f"认定返贫：{comment.strip()}")
    return household


REMOVABLE_STATUSES = (
    HouseholdStatus.IN_POVERTY,
    HouseholdStatus.RETURNED,
    HouseholdStatus.EXITED,
    HouseholdStatus.UNSTABLE,
    HouseholdStatus.MARGINAL,
)


@transaction.atomic
def household_remove(*, actor, household: Household, reason: str) -> Household:
    """A county decision to remove a household wrongly registered (清退, 识别不准; DOMAIN.md §5), with its reason."""
    household = Household.objects.select_for_update().select_related("village").get(pk=household.pk)
    _acting_role(actor, household, {"county_staff"}, "清退")
    if household.status not in REMOVABLE_STATUSES:
        raise ValidationError({"status": f"该户状态为“{household.get_status_display()}”，不能清退。"})
    if not (reason or "").strip():
        raise ValidationError({"reason": "清退须填写理由（如识别不准的具体情况）。"})
    decision = decisions.decide(
        kind=DecisionKind.REMOVED,
        household=household,
        actor=actor,
        year=_today().year,
        status=HouseholdStatus.REMOVED,
        identified_year=household.identified_year,
        exit_year=household.exit_year,
        source=DecisionSource.COUNTY,
        reason=reason,
    )
    household = decision.household
    update_change_reason(household, f"清退：{reason.strip()}")
    return household
