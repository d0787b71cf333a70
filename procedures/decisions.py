"""The decision log (DOMAIN.md §5 "Decisions"): the only way a household's status, identified year and exit year
change, each decision kept forever in a hash chain per county.

- ``decide`` applies a decision to the household (``households.services.household_decision_apply``) and appends its
  ``Decision`` row in the same transaction; the county approval of the procedures (``identified``, ``exited``),
  ``household_return_to_poverty`` and ``household_remove`` call it.
- ``record_registered`` appends the ``registered`` decision of households entered into the register (a form, the
  API, an import), received from ``households.signals.households_registered``.
- ``verify_chain`` recomputes the chains: the first decision whose content or link no longer matches.

Chaining: the rows of one county are numbered 1, 2, 3 … (``sequence``); each row's ``hash`` is sha256 over the
previous row's hash and the row's canonical content (``canonical_text``). Rows are appended under a lock on the
county's row, so two approvals in one county at once wait for each other instead of forking the chain; a unique
(county, sequence) constraint backs the lock up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from assessments.models import Assessment
from households import services as household_services
from households.models import Household
from households.selectors import user_display_name
from procedures.choices import DecisionKind, DecisionSource
from procedures.models import Application, Decision
from villages.models import County

GENESIS_HASH = "0" * 64


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_text(decision: Decision) -> str:
    """What a decision's hash covers, as one canonical JSON text (keys sorted, no spaces)."""
    return json.dumps(
        {
            "kind": decision.kind,
            "household": decision.household_id,
            "county": decision.county_id,
            "sequence": decision.sequence,
            "year": decision.year,
            "status": decision.status,
            "identified_year": decision.identified_year,
            "exit_year": decision.exit_year,
            "reason": decision.reason,
            "source": decision.source,
            "application": decision.application_id,
            "decided_by": decision.decided_by_id,
            "decided_at": _utc(decision.decided_at),
            "content": decision.content,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decision_hash(prev_hash: str, decision: Decision) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical_text(decision)}".encode()).hexdigest()


def _plain(value):
    """``value`` as the JSON column gives it back (dates and decimals as text), so that what is hashed now is
    what a later verification reads."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def append_decisions(county_id: int, decisions: list[Decision]) -> list[Decision]:
    """Number, link and insert ``decisions`` (unsaved rows, ``county`` not needed) at the end of the county's chain,
    under a lock on the county. Call inside a transaction. For bulk writers (the demo generator) that have already
    written the households' fields; everyone else goes through ``decide`` or ``record_registered``."""
    County.objects.select_for_update().filter(pk=county_id).first()
    last = Decision.objects.filter(county_id=county_id).order_by("-sequence").values("sequence", "hash").first()
    sequence, prev_hash = (last["sequence"], last["hash"]) if last else (0, GENESIS_HASH)
    for decision in decisions:
        sequence += 1
        decision.county_id = county_id
        decision.sequence = sequence
        decision.prev_hash = prev_hash
        decision.content = _plain(decision.content)
        decision.hash = prev_hash = decision_hash(prev_hash, decision)
    return Decision.objects.bulk_create(decisions)


def chain_head(county: County) -> Decision | None:
    """The latest decision of the county: its hash pins the whole chain (printed on the approval notice)."""
    return Decision.objects.filter(county=county).order_by("-sequence").first()


# --- what a decision rests on ----------------------------------------------------------------------------------


def application_content(application: Application) -> dict:
    """The application a decision approves: its steps (who, role, when, comment), notice dates, objections and
    signatures, as they stand when the decision is taken."""
    steps = application.steps.select_related("actor__cadre").order_by("at", "pk")
    return {
        "application": application.pk,
        "application_kind": application.kind,
        "notice_started_on": application.notice_started_on,
        "notice_ends_on": application.notice_ends_on,
        "steps": [
            {
                "action": step.action,
                "from_state": step.from_state,
                "to_state": step.to_state,
                "actor": step.actor_id,
                "actor_name": user_display_name(step.actor) if step.actor else None,
                "role": step.role,
                "at": _utc(step.at),
                "comment": step.comment,
            }
            for step in steps
        ],
        "objections": [
            {"text": o.text, "raised_by": o.raised_by, "raised_on": o.raised_on}
            for o in application.objections.order_by("raised_on", "pk")
        ],
        "signatures": [
            {"signatory": s.signatory, "name": s.name, "signed_on": s.signed_on}
            for s in application.signatures.order_by("signatory", "pk")
        ],
    }


def assessment_content(assessment: Assessment) -> dict:
    """The assessment an exit approves (DOMAIN.md §5): which one, on which inputs, by which rules and line."""
    return {
        "assessment": assessment.pk,
        "assessment_fingerprint": assessment.fingerprint,
        "rules_version": assessment.rules_version,
        "poverty_line": assessment.poverty_line,
        "per_capita_net_income": assessment.per_capita_net_income,
        "assessment_year": assessment.year,
        "computed_at": _utc(assessment.computed_at),
    }


# --- taking decisions ------------------------------------------------------------------------------------------


@transaction.atomic
def decide(
    *,
    kind: str,
    household: Household,
    actor,
    year: int,
    status: str,
    identified_year: int,
    exit_year: int | None,
    source: str,
    reason: str = "",
    application: Application | None = None,
    content: dict | None = None,
) -> Decision:
    """Apply a decision to the household and append it to the county's chain, in one transaction. The callers
    (the procedures' services) have checked who may take it and on what grounds."""
    household = household_services.household_decision_apply(
        user=actor, household=household, status=status, identified_year=identified_year, exit_year=exit_year
    )
    county_id = household.village.county_id
    decision = Decision(
        kind=kind,
        household=household,
        year=year,
        status=status,
        identified_year=identified_year,
        exit_year=exit_year,
        reason=reason.strip(),
        source=source,
        application=application,
        decided_by=actor if actor is not None and actor.is_authenticated else None,
        decided_at=timezone.now(),
        content=content or {},
    )
    (decision,) = append_decisions(county_id, [decision])
    return decision


@transaction.atomic
def record_registered(
    *, household_ids: Iterable[int], user, source: str, import_job_id: int | None = None
) -> list[Decision]:
    """The ``registered`` decisions (建档登记) of households just entered into the register, with the status and
    years they were entered with; county by county, one lock each."""
    now = timezone.now()
    decided_by = user if user is not None and user.is_authenticated else None
    content = {"import_job": import_job_id} if import_job_id else {}
    by_county: dict[int, list[Decision]] = defaultdict(list)
    rows = (
        Household.objects.filter(pk__in=list(household_ids))
        .order_by("pk")
        .values_list("pk", "village__county_id", "status", "identified_year", "exit_year")
    )
    for pk, county_id, status, identified_year, exit_year in rows:
        by_county[county_id].append(
            Decision(
                kind=DecisionKind.REGISTERED,
                household_id=pk,
                year=identified_year,
                status=status,
                identified_year=identified_year,
                exit_year=exit_year,
                source=source,
                decided_by=decided_by,
                decided_at=now,
                content=content,
            )
        )
    written: list[Decision] = []
    for county_id in sorted(by_county):  # always the same lock order: no deadlock between two imports
        written += append_decisions(county_id, by_county[county_id])
    return written


# --- verifying -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    county: str
    decision_id: int
    sequence: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    counties: int
    decisions: int
    breaks: list[ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


def _county_breaks(county: County) -> Iterator[tuple[int, ChainBreak | None]]:
    prev_hash, expected = GENESIS_HASH, 1
    rows = Decision.objects.filter(county=county).order_by("sequence").iterator(chunk_size=2000)
    for decision in rows:
        reason = ""
        if decision.sequence != expected:
            reason = f"序号应为{expected}，实为{decision.sequence}（有记录被删除或插入）"
        elif decision.prev_hash != prev_hash:
            reason = "与前一条记录的链接不符（前一条被改动或删除）"
        elif decision_hash(prev_hash, decision) != decision.hash:
            reason = "内容与哈希不符（记录被改动）"
        if reason:
            yield 1, ChainBreak(county.code, decision.pk, decision.sequence, reason)
            return
        yield 1, None
        prev_hash, expected = decision.hash, expected + 1


def verify_chain(*, county_code: str | None = None) -> ChainReport:
    """Recompute every county's chain (or one county's): for each broken chain, its first decision whose sequence,
    link or content no longer matches."""
    counties = County.objects.order_by("code")
    if county_code:
        counties = counties.filter(code=county_code)
    breaks: list[ChainBreak] = []
    checked = count = 0
    for county in counties:
        checked += 1
        for seen, broken in _county_breaks(county):
            count += seen
            if broken:
                breaks.append(broken)
    return ChainReport(counties=checked, decisions=count, breaks=breaks)


SOURCES_FROM_HOUSEHOLDS = {"form": DecisionSource.FORM, "api": DecisionSource.API, "import": DecisionSource.IMPORT}
