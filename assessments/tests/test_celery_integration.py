"""End to end through a real broker: Redis and a real Celery worker, no manual call.

Changing an income record commits; the on-commit hook sends ``recompute_household`` to Redis; a worker
(started in this process, consuming a queue private to this test) picks it up and writes a new assessment.
Locally without Redis this skips; in CI (REQUIRE_SERVICES=1) it fails instead.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from assessments.models import Assessment
from households import services as household_services
from povertycase.celery import app
from testing.factories import IncomeRecordFactory, MemberFactory


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("migrated_data_restored")
def test_changing_an_income_record_produces_a_new_assessment_through_redis_and_a_worker(require_services):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        require_services("CELERY_BROKER_URL does not point at Redis")
    if connection.vendor != "postgresql":
        require_services("a worker thread needs a shared database (PostgreSQL), not SQLite in memory")

    queue = f"test-{uuid.uuid4().hex}"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
            head = MemberFactory()
            income = IncomeRecordFactory(household=head.household, year=2020, wage_income=Decimal("9000.00"))
            household = head.household
            assert _wait_for(
                lambda: Assessment.objects.filter(
                    household=household, year=2020, is_current=True, income_passed=True
                ).exists()
            ), "the worker never assessed the new household with its income"
            # (Each factory save commits on its own, so the worker may first assess the household before its
            # income record exists; we wait for the assessment that includes it.)
            first = Assessment.objects.get(household=household, year=2020, is_current=True)
            assert first.income_passed

            household_services.income_record_save(
                user=None,
                household=household,
                year=2020,
                wage_income=Decimal("0.00"),
                business_income=Decimal("0.00"),
            )
            assert _wait_for(
                lambda: (
                    Assessment.objects.filter(household=household, year=2020, is_current=True)
                    .exclude(pk=first.pk)
                    .exists()
                )
            ), "changing the income record did not produce a new assessment"
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous

    current = Assessment.objects.get(household=household, year=2020, is_current=True)
    assert not current.income_passed
    assert not current.eligible
    assert income.pk == household.incomes.get(year=2020).pk
    first.refresh_from_db()
    assert first.is_current is False
