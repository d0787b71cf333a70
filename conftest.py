"""Shared pytest fixtures: named users whose roles everyone remembers, and the service requirement flag."""

from __future__ import annotations

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _eager_celery():
    """Unit tests run tasks in-process, even in CI where a broker is configured; the integration tests that
    need a real worker switch this off themselves."""
    from povertycase.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Real hashers cost ~0.3 s per login created; tests do not need their strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def require_services():
    """Call at the top of a test that needs PostgreSQL/Redis: skip locally, fail in CI (REQUIRE_SERVICES=1)."""

    def _require(reason: str) -> None:
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"required service unavailable in CI: {reason}")
        pytest.skip(reason)

    return _require


@pytest.fixture
def city_admin(django_user_model):
    """The city's administrator (a superuser): the actor who grants the first roles."""
    return django_user_model.objects.create_superuser(username="luoyang_admin", password="x")


@pytest.fixture
def staff_user(django_user_model, city_admin):
    """A county clerk of 栾川县: a cadre with the county_staff role there (granted through the services)."""
    from assistance.choices import Role
    from assistance.models import Cadre
    from assistance.services import role_assign
    from tests.factories import CountyFactory

    user = django_user_model.objects.create_user(username="luanchuan_clerk", password="x")
    cadre = Cadre.objects.create(user=user, name="栾川县扶贫办王科员", position="科员")
    role_assign(actor=city_admin, cadre=cadre, role=Role.COUNTY_STAFF, county=CountyFactory(code="410324"))
    user.refresh_from_db()
    return user
