"""Background work after a committed write (issue 15, items 2 and 3): a broker that is down never turns the write
into an error, the failure is logged; database-touching tasks retry with backoff on transient errors."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from assessments.tasks import recompute_household, recompute_household_page
from households.models import Household
from povertycase.celery import app
from povertycase.tasks import RETRY_POLICY, dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """Tasks are sent, for real, to a broker nobody listens on (port 1): a Celery app of its own, so that the
    project's app, its connection pools and its eager setting are left as they are. (Celery prefers the
    ``CELERY_BROKER_URL`` environment variable, set in CI, to its settings: it is pointed away meanwhile.)"""
    from celery import Celery

    from assessments.tasks import recompute_year
    from households.tasks import run_import

    unreachable = "redis://127.0.0.1:1/0"
    monkeypatch.setenv("CELERY_BROKER_URL", unreachable)
    elsewhere = Celery("broker-down", broker=unreachable, set_as_current=False)

    def sender(task):
        return lambda *args, **kwargs: elsewhere.send_task(task.name, args=args, kwargs=kwargs)

    for task in (recompute_household, recompute_household_page, recompute_year, run_import):
        monkeypatch.setattr(task, "delay", sender(task))
    try:
        yield
    finally:
        elsewhere.close()


def test_dispatch_logs_a_broker_that_is_down_instead_of_raising(broker_down, caplog):
    with caplog.at_level(logging.ERROR, logger="povertycase.tasks"):
        sent = dispatch(recompute_household, 12345)

    assert sent is False
    assert "could not dispatch assessments.tasks.recompute_household(12345,)" in caplog.text


def test_a_household_written_while_the_broker_is_down_is_saved_and_answered_201(
    broker_down, staff_user, caplog, django_capture_on_commit_callbacks
):
    from assistance.models import RoleAssignment
    from testing.factories import VillageFactory

    county = RoleAssignment.objects.get(cadre__user=staff_user).county
    village = VillageFactory(township__county=county)
    client = APIClient()
    client.force_authenticate(staff_user)
    body = {
        "household_number": f"{village.code}6001",
        "village": village.pk,
        "identified_year": 2016,
        "primary_cause": "illness",
        "members": [{"name": "刘春华", "id_number": "410324196803140017", "relation": "head"}],
    }

    with (
        caplog.at_level(logging.ERROR, logger="povertycase.tasks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/api/v1/households/", body, format="json")

    assert response.status_code == 201, response.content
    assert Household.objects.filter(household_number=f"{village.code}6001").exists()
    assert "could not dispatch assessments.tasks.recompute_household" in caplog.text


def test_the_recompute_tasks_retry_transient_database_and_broker_errors():
    for task in (recompute_household, recompute_household_page):
        assert OperationalError in task.autoretry_for
        assert task.max_retries == RETRY_POLICY["max_retries"] and task.retry_backoff


def test_a_task_that_fails_twice_with_a_database_error_succeeds_on_the_third_attempt(monkeypatch, cast):
    """Eager execution runs the retries in-process: the first two attempts meet a dropped connection."""
    from assessments import services

    calls = {"n": 0}
    real = services.assess_households

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(services, "assess_households", flaky)
    monkeypatch.setattr(recompute_household_page, "retry_backoff", False)  # no waiting in a test

    # Eager retries run in-process; not propagating lets apply() follow them instead of raising the first Retry.
    previous = app.conf.get("task_eager_propagates")
    app.conf.update(task_eager_propagates=False)
    try:
        result = recompute_household_page.apply(args=([cast.household.pk], 2020))
    finally:
        app.conf.update(task_eager_propagates=previous)

    assert calls["n"] == 3
    assert result.successful(), result.traceback
    assert result.result["assessed"] == 1
