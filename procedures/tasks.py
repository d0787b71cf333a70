"""Daily jobs of the procedures (DOMAIN.md §5): list for supervisors what is waiting on them, and check that the
decision log is intact."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assessments.models import Assessment
from assessments.selectors import current_assessment_year
from households.choices import HouseholdStatus
from procedures import workflow
from procedures.choices import AlertKind, State
from procedures.decisions import verify_chain
from procedures.models import Alert, Application, Decision


def _sync(kind: str, wanted: dict[tuple[int, int], tuple[int | None, str]]) -> dict[str, int]:
    """Make the open alerts of ``kind`` exactly ``wanted`` ((household, year) → (application, message)):
    new ones are added, those no longer true are resolved. Running it twice changes nothing."""
    now = timezone.now()
    open_alerts = {(a.household_id, a.year): a for a in Alert.objects.filter(kind=kind, resolved_at__isnull=True)}
    stale = [a.pk for key, a in open_alerts.items() if key not in wanted]
    Alert.objects.filter(pk__in=stale).update(resolved_at=now)
    new = [
        Alert(kind=kind, household_id=household_id, year=year, application_id=application_id, message=message[:300])
        for (household_id, year), (application_id, message) in wanted.items()
        if (household_id, year) not in open_alerts
    ]
    Alert.objects.bulk_create(new, ignore_conflicts=True)
    return {"added": len(new), "resolved": len(stale)}


@shared_task
def daily_procedure_alerts() -> dict:
    """Applications whose notice period ended, applications waiting on one step longer than
    ``STALLED_STEP_DAYS``, and exited households whose new assessment fails (return-to-poverty candidates)."""
    today = timezone.localdate()
    result = {}
    with transaction.atomic():
        ended = Application.objects.filter(state__in=workflow.NOTICE_STATES, notice_ends_on__lt=today)
        result[AlertKind.NOTICE_ENDED] = _sync(
            AlertKind.NOTICE_ENDED,
            {
                (a.household_id, a.year): (
                    a.pk,
                    f"{a.get_kind_display()}申请公示期已于{a.notice_ends_on:%Y-%m-%d}届满，待乡镇/县级审核。",
                )
                for a in ended
            },
        )
        cutoff = timezone.now() - dt.timedelta(days=settings.STALLED_STEP_DAYS)
        stalled = Application.objects.exclude(state__in=workflow.TERMINAL_STATES).filter(state_entered_at__lt=cutoff)
        result[AlertKind.STALLED] = _sync(
            AlertKind.STALLED,
            {
                (a.household_id, a.year): (
                    a.pk,
                    f"{a.get_kind_display()}申请在“{State(a.state).label}”环节已停留"
                    f"{(timezone.now() - a.state_entered_at).days}天。",
                )
                for a in stalled
            },
        )
        year = current_assessment_year()
        failing = Assessment.objects.filter(
            year=year, is_current=True, eligible=False, household__status=HouseholdStatus.EXITED
        ).values_list("household_id", "criteria")
        result[AlertKind.RETURN_CANDIDATE] = _sync(
            AlertKind.RETURN_CANDIDATE,
            {
                (household_id, year): (
                    None,
                    "已脱贫户最新评估未达标：" + "；".join(c["message"] for c in criteria if not c["passed"]),
                )
                for household_id, criteria in failing
            },
        )
    return {str(k): v for k, v in result.items()}


@shared_task
def daily_verify_decisions() -> dict:
    """Recompute the decision log's hash chains (DOMAIN.md §5); a broken chain is an alert on the household of
    its first decision that no longer matches, until the chain is intact again."""
    report = verify_chain()
    wanted: dict[tuple[int, int], tuple[int | None, str]] = {}
    for broken in report.breaks:
        decision = Decision.objects.filter(pk=broken.decision_id).values("household_id", "year").first()
        if decision is not None:
            wanted[(decision["household_id"], decision["year"])] = (
                None,
                f"县{broken.county}的决定记录链在第{broken.sequence}条（决定记录 #{broken.decision_id}）处校验不通过："
                f"{broken.reason}。请立即核查数据库操作记录。",
            )
    alerts = _sync(AlertKind.DECISIONS_TAMPERED, wanted)
    return {"counties": report.counties, "decisions": report.decisions, "breaks": len(report.breaks), **alerts}
