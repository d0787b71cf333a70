"""The demo village's identification and exit applications, taken through the real services by the demo users,
and the daily jobs run once so that the queue and the household cards show alerts on first start.

``SCRIPT`` gives each of the first households of the demo village (``demo.logins.demo_places``: the village of
the ``secretary`` login) a part. The generator gives a household what its part needs (``DemoGenerator.household``):
in poverty and meeting the exit standard in the latest year (``EXIT``), an edge household (边缘户,
``IDENTIFICATION``), or exited the year before and failing the latest year (``RETURN_CANDIDATE``).

``run_demo_procedures`` opens and advances the applications with ``procedures.services`` (``application_open``,
``application_transition``, ``signature_record``), each review step by a different user (maker-checker, DOMAIN.md
§5): the first secretary opens, one work-team member appraises, the other verifies, the township clerk reviews, the
county clerk approves. Each step is then set on a timeline in the past (the step's time, the state's entry, the
notice dates, as the procedure tests' ``end_notice`` does), so that the notice period is over where a step needs it,
one application has waited long enough to be stalled, one notice has ended and the queue shows waiting days. A
county approval is the one step taken now: the ``exited`` decision it records pins the steps as they stand.

``raise_alerts`` runs ``daily_procedure_alerts`` and ``daily_verify_decisions`` once (idempotent).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assessments.services import household_assess
from demo.logins import demo_login, demo_places
from households.choices import HouseholdStatus
from households.models import Household
from procedures import services
from procedures.choices import Action, Kind, Signatory, State
from procedures.models import Application, Objection, Signature, Step
from procedures.tasks import daily_procedure_alerts, daily_verify_decisions
from villages.models import County

EXIT, IDENTIFICATION, RETURN_CANDIDATE = "exit", "identification", "return_candidate"
STALLED, NOTICE_ENDED, OBJECTION = "stalled", "notice_ended", "objection"
OPEN, SIGN = "open", "sign"  # the opening of an application and the signatures are not workflow actions
DEMO_VILLAGE_HOUSEHOLDS = 24  # the demo village gets at least this many households (the script needs 13)


@dataclass(frozen=True)
class Part:
    role: str  # EXIT, IDENTIFICATION or RETURN_CANDIDATE
    state: str = ""  # where the household's application ends up
    waiting_days: int = 0  # days since the application's last step (a notice: since it was published)
    variant: str = ""  # STALLED, NOTICE_ENDED (the waiting days follow the settings) or OBJECTION


# The parts of the demo village's first households, in household-number order (the helper helps the first five).
SCRIPT: tuple[Part, ...] = (
    Part(RETURN_CANDIDATE),
    Part(EXIT, State.COUNTY_APPROVED),
    Part(EXIT, State.TOWNSHIP_REVIEWED, 2),
    Part(EXIT, State.VILLAGE_NOTICE, variant=NOTICE_ENDED),
    Part(EXIT, State.PROPOSED, variant=STALLED),
    Part(EXIT, State.APPRAISED, 4),
    Part(EXIT, State.VERIFIED, 3),
    Part(EXIT, State.ACKNOWLEDGED, 1),
    Part(EXIT, State.VILLAGE_NOTICE, 2),
    Part(EXIT, State.VILLAGE_NOTICE, 1, variant=OBJECTION),
    Part(EXIT, State.TOWNSHIP_REVIEWED, 1),
    Part(EXIT, State.REJECTED, 6),
    Part(IDENTIFICATION, State.VILLAGE_NOTICE, 3),
)
PART_STATUSES = {
    EXIT: HouseholdStatus.IN_POVERTY,
    IDENTIFICATION: HouseholdStatus.MARGINAL,
    RETURN_CANDIDATE: HouseholdStatus.EXITED,
}

# (action, demo login, comment) in the order of each procedure; an application takes them until it is in its state.
EXIT_STEPS = (
    (OPEN, "secretary", "经村两委研究，该户人均纯收入稳定超过扶贫标准，“两不愁三保障”均已实现，提出退出。"),
    (Action.APPRAISE, "team_a", "村民代表民主评议，同意该户退出。"),
    (Action.VERIFY, "team_b", "村两委和驻村工作队入户核实，收入和保障情况属实。"),
    (Action.ACKNOWLEDGE, "secretary", "户主认可退出结果并签字。"),
    (Action.PUBLISH_NOTICE, "secretary", "在村务公开栏公示。"),
    (Action.TOWNSHIP_REVIEW, "township", "公示期满无异议，乡镇审核同意。"),
    (Action.COUNTY_APPROVE, "luanchuan", "经县扶贫开发领导小组审定，同意退出，予以公告。"),
)
OBJECTION_STEPS = (  # after the first notice: an objection sends the application back to verification
    (Action.OBJECT, "township", ""),
    (Action.ACKNOWLEDGE, "secretary", "村两委和驻村工作队再次入户核实，异议不成立，户主重新认可签字。"),
    (Action.PUBLISH_NOTICE, "secretary", "异议核实后重新公示。"),
)
REJECT_STEP = (Action.REJECT, "team_a", "民主评议中村民代表认为该户主要收入来自临时务工，收入尚不稳定，暂缓退出。")
IDENTIFICATION_STEPS = (
    (OPEN, "secretary", "户主本人提出申请，村两委受理。"),
    (Action.REVIEW, "team_a", "村民代表民主评议，同意纳入。"),
    (Action.CONFIRM, "team_b", "村两委和驻村工作队入户核实，家庭人均纯收入低于扶贫标准，情况属实。"),
    (SIGN, "secretary", ""),
    (Action.PUBLISH_NOTICE, "secretary", "第一次村内公示。"),
)
OBJECTION_TEXT = "该户户主常年在外务工，家中实际收入需再次核实。"
OBJECTION_RAISED_BY = "村民赵秀兰"
# The signatures recorded so far on the identification file (the township's two come at the township's review).
VILLAGE_SIGNATORIES = {
    Signatory.FIRST_SECRETARY: demo_login("secretary").name,
    Signatory.HELPER: demo_login("helper").name,
    Signatory.VILLAGE_PARTY_SECRETARY: "王国栋",
    Signatory.VILLAGE_COMMITTEE_DIRECTOR: "李建平",
}


def waiting_days(part: Part) -> int:
    if part.variant == STALLED:
        return settings.STALLED_STEP_DAYS + 5
    if part.variant == NOTICE_ENDED:
        return settings.NOTICE_PERIOD_DAYS + 3
    return part.waiting_days


EXIT_STEPS_TO = {State.PROPOSED: 1, State.APPRAISED: 2, State.VERIFIED: 3, State.ACKNOWLEDGED: 4}
EXIT_STEPS_TO |= {State.VILLAGE_NOTICE: 5, State.TOWNSHIP_REVIEWED: 6, State.COUNTY_APPROVED: 7}


def steps_for(part: Part) -> list[tuple[str, str, str]]:
    """The steps that bring an application of ``part`` to its state, each with its user and comment."""
    if part.role == IDENTIFICATION:
        return list(IDENTIFICATION_STEPS)
    if part.state == State.REJECTED:
        return [EXIT_STEPS[0], REJECT_STEP]
    steps = list(EXIT_STEPS[: EXIT_STEPS_TO[part.state]])
    if part.variant == OBJECTION:
        steps += OBJECTION_STEPS
    return steps


def step_days(steps: list[tuple[str, str, str]], waiting: int) -> list[int]:
    """Each step's day relative to today (negative: in the past): three days apart, the township's review the
    day after the notice's last day, an objection two days into the notice, the signatures on the day of the
    step before; the last step ``waiting`` days ago."""
    offsets: list[int] = []
    for index, (action, _, _) in enumerate(steps):
        if index == 0:
            offsets.append(0)
            continue
        previous = steps[index - 1][0]
        gap = 3
        if action == SIGN:
            gap = 0
        elif action == Action.TOWNSHIP_REVIEW and previous == Action.PUBLISH_NOTICE:
            gap = settings.NOTICE_PERIOD_DAYS
        elif action == Action.OBJECT:
            gap = 2
        offsets.append(offsets[-1] + gap)
    start = -waiting - offsets[-1]
    return [start + offset for offset in offsets]


def _moment(day: dt.date, index: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9 + index % 9, 15)))


@dataclass
class ProceduresResult:
    applications: Counter
    objections: int = 0
    signatures: int = 0


class DemoProcedures:
    """Runs ``SCRIPT`` on the demo village of the ``secretary`` login's county for ``year``."""

    def __init__(self, *, year: int) -> None:
        self.year = year
        self.today = timezone.localdate()
        self.users = {login: get_user_model().objects.get(username=login) for login in _logins()}
        self.result = ProceduresResult(applications=Counter())

    def run(self) -> ProceduresResult:
        login = demo_login("secretary")
        _, village = demo_places(County.objects.filter(code=login.county_code).first())
        if village is None:
            return self.result
        households = Household.objects.filter(village=village).order_by("household_number")[: len(SCRIPT)]
        for household, part in zip(households, SCRIPT, strict=False):
            if self._ready(household, part):
                self._apply(household, part)
        return self.result

    def _ready(self, household: Household, part: Part) -> bool:
        """Whether ``household`` was generated for ``part`` and has no application of the year yet."""
        if household.status != PART_STATUSES[part.role]:
            return False
        if part.role == RETURN_CANDIDATE:  # assessed here too, so that its alert shows even with --no-assess
            household_assess(household=household, year=self.year)
            return False
        if Application.objects.filter(household=household, year=self.year).exists():
            return False
        if part.role == EXIT:
            return household_assess(household=household, year=self.year).eligible
        return True

    def _apply(self, household: Household, part: Part) -> None:
        kind = Kind.IDENTIFICATION if part.role == IDENTIFICATION else Kind.EXIT
        steps = steps_for(part)
        application = None
        for index, ((action, login, comment), day) in enumerate(
            zip(steps, step_days(steps, waiting_days(part)), strict=True)
        ):
            when = _moment(self.today + dt.timedelta(days=day), index) if day < 0 else None
            actor = self.users[login]
            if action == OPEN:
                application = services.application_open(
                    actor=actor, household=household, kind=kind, year=self.year, comment=comment
                )
            elif action == SIGN:
                self._sign(application, actor, when)
                continue
            else:
                objection = None
                if action == Action.OBJECT:
                    raised_on = when.date() if when else self.today
                    objection = services.ObjectionInput(OBJECTION_TEXT, OBJECTION_RAISED_BY, raised_on)
                    self.result.objections += 1
                application = services.application_transition(
                    actor=actor, application=application, action=action, comment=comment, objection=objection
                )
            if when is not None:
                self._backdate(application, action, when)
        self.result.applications[(kind, application.state)] += 1

    def _sign(self, application: Application, actor, when: dt.datetime | None) -> None:
        for signatory, name in VILLAGE_SIGNATORIES.items():
            signature = services.signature_record(
                actor=actor,
                application=application,
                signatory=signatory,
                name=name,
                signed_on=when.date() if when else self.today,
            )
            if when is not None:
                Signature.objects.filter(pk=signature.pk).update(recorded_at=when)
            self.result.signatures += 1

    def _backdate(self, application: Application, action: str, when: dt.datetime) -> None:
        """Set the step just taken at ``when``: its time, the state's entry, and what the step dated."""
        step = Step.objects.filter(application=application).order_by("-pk").first()
        Step.objects.filter(pk=step.pk).update(at=when)
        fields: dict = {"state_entered_at": when}
        if action == OPEN:
            fields["created_at"] = when
        elif action == Action.PUBLISH_NOTICE:
            fields["notice_started_on"] = when.date()
            fields["notice_ends_on"] = when.date() + dt.timedelta(days=settings.NOTICE_PERIOD_DAYS - 1)
        elif action == Action.OBJECT:
            objection = Objection.objects.filter(application=application).order_by("-pk").first()
            Objection.objects.filter(pk=objection.pk).update(recorded_at=when)
        Application.objects.filter(pk=application.pk).update(**fields)


def _logins() -> set[str]:
    steps = (*EXIT_STEPS, *OBJECTION_STEPS, REJECT_STEP, *IDENTIFICATION_STEPS)
    return {login for _, login, _ in steps}


@transaction.atomic
def run_demo_procedures(*, year: int) -> ProceduresResult:
    """Open and advance the demo village's applications for ``year`` (see ``SCRIPT``); households that already
    have an application of the year are left alone, so running it twice adds nothing."""
    return DemoProcedures(year=year).run()


def raise_alerts() -> dict:
    """The daily jobs, once: applications whose notice ended or that stalled, exited households whose current
    assessment fails (return candidates), and the decision log's chains. Idempotent."""
    return {"procedures": daily_procedure_alerts(), "decisions": daily_verify_decisions()}
