"""Dispatching background work safely (the core layer: no app's tasks here).

``dispatch(task, *args)``: send a Celery task after a write has committed. A broker that is down or unreachable
must never turn a committed write into an error for the user (the write stands; the client would retry and be
told "户编号已存在"): the failure is logged with the task and its arguments, and the nightly and ``--stale`` jobs
catch the work up. ``RETRY_POLICY`` is the autoretry policy of tasks that touch the database.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger("povertycase.tasks")

#: Errors a later attempt may not meet: the database or the broker away for a moment.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, BrokerError)
#: ``@shared_task(**RETRY_POLICY)``: retried up to 5 times, after about 2, 4, 8, 16, 32 s (capped at 5 minutes,
#: with jitter so that several workers do not retry at the same instant).
RETRY_POLICY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


def dispatch(task, *args, **kwargs) -> bool:
    """``task.delay(*args, **kwargs)``, logged instead of raised when the broker refuses it. Whether it was sent."""
    try:
        task.delay(*args, **kwargs)
    except Exception as exc:  # whatever the broker's client raises, the committed write stands
        logger.error("could not dispatch %s%r: %s", getattr(task, "name", task), args, exc)
        return False
    return True
