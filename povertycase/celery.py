"""The Celery application. Workers: ``celery -A povertycase worker``; schedule: ``celery -A povertycase beat``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "povertycase.settings")

app = Celery("povertycase")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
