"""Schemathesis against our own OpenAPI schema: every operation, random valid and invalid inputs, bounded in
examples, and never a server error (500). Runs as a superuser (every branch reachable) and as a county clerk
(scoped querysets).

It takes minutes, so it runs in CI (REQUIRE_SERVICES=1) or when asked (FUZZ=1), not in every local run."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from povertycase.env import env_bool
from povertycase.wsgi import application

pytestmark = pytest.mark.skipif(
    not (env_bool("REQUIRE_SERVICES", False) or env_bool("FUZZ", False)),
    reason="schemathesis run: CI only (set FUZZ=1 to run it locally)",
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

# Examples per operation and token: 3 keeps the whole CI suite near 10 minutes on 2 cores (5 took 3 more minutes).
MAX_EXAMPLES = 3


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The real WSGI handler closes the database connection after each request (request_finished →
    close_old_connections), which would close the test's transaction; Django's test client avoids it the
    same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db):
    from django.contrib.auth import get_user_model

    from assistance import services as assistance_services
    from assistance.models import Cadre
    from testing.factories import CountyFactory, HouseholdFactory, IncomeRecordFactory, MemberFactory

    root = get_user_model().objects.create_superuser("fuzz-root", password="x")
    county = CountyFactory()
    head = MemberFactory()
    IncomeRecordFactory(household=head.household, year=2020)
    HouseholdFactory(village=head.household.village)
    clerk = get_user_model().objects.create_user("fuzz-clerk", password="x")
    assistance_services.role_assign(
        actor=root, cadre=Cadre.objects.create(user=clerk, name="县扶贫办"), role="county_staff", county=county
    )
    return [Token.objects.create(user=root).key, Token.objects.create(user=clerk).key]


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_no_operation_answers_a_server_error(case, tokens):
    for token in tokens:
        response = case.call(headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=[not_a_server_error])
