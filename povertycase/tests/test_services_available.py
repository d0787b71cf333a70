"""The real services CI promises: PostgreSQL as the database and Redis as the Celery broker.

Locally (no DATABASE_URL / CELERY_BROKER_URL) these skip; with REQUIRE_SERVICES=1 (CI) they fail instead.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from households.models import Household
from povertycase.celery import app as celery_app
from testing.factories import HouseholdFactory


@pytest.mark.services
@pytest.mark.django_db
def test_database_is_postgresql_when_services_are_required(require_services):
    if connection.vendor != "postgresql":
        require_services(f"DATABASE_URL does not point at PostgreSQL (vendor is {connection.vendor})")
    HouseholdFactory(household_number="410324000100001")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM households_household")
        assert cursor.fetchone()[0] == Household.objects.count() == 1
        cursor.execute("SHOW server_version")
        assert int(cursor.fetchone()[0].split(".")[0]) >= 13


@pytest.mark.services
def test_celery_broker_is_reachable_redis_when_services_are_required(require_services):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        require_services("CELERY_BROKER_URL does not point at Redis")
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=2)
        client = conn.default_channel.client
        client.set("povertycase:ci-probe", "ok", ex=30)
        assert client.get("povertycase:ci-probe") == b"ok"
