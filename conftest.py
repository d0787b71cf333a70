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


@pytest.fixture(scope="module")
def migrated_data_restored(django_db_setup, django_db_blocker):
    """For a module of transactional tests with ``serialized_rollback``: once the module is done, load the
    migrated data (content types, role groups, the national poverty lines) back for the tests that run after it
    in the same process; the last test's flush (without post_migrate, as serialized rollback wants) left every
    table empty. Celery runs in-process meanwhile: the poverty lines' signals must not reach a real broker."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    from povertycase.celery import app

    yield
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_db_blocker.unblock():
            for connection in connections.all(initialized_only=False):
                contents = getattr(connection, "_test_serialized_contents", None)
                if contents and not ContentType.objects.using(connection.alias).exists():
                    connection.creation.deserialize_db_from_string(contents)
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def require_services():
    """Call at the top of a test that needs PostgreSQL/Redis: skip locally, fail in CI (REQUIRE_SERVICES=1)."""

    def _require(reason: str) -> None:
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"required service unavailable in CI: {reason}")
        pytest.skip(reason)

    return _require


@pytest.fixture
def cast(db):
    """The shared cast of named places and people (testing/cast.py): 栾川县 and 嵩县, a clerk of each, a township
    clerk, a first secretary, two work-team members, a helper with his household, a supervisor, a user with no
    role and the city's administrator."""
    from testing.cast import build_cast

    return build_cast()


@pytest.fixture
def city_admin(db):
    """The city's administrator (a superuser): the actor who grants the first roles (the cast's, if built)."""
    from testing.factories import city_admin_user

    return city_admin_user()


@pytest.fixture
def staff_user(db):
    """A county clerk of 栾川县 (the cast's ``luanchuan_clerk``), built alone when the test does not ask for the
    whole cast: a cadre with the county_staff role there, granted through the services."""
    from testing.cast import luanchuan_clerk

    return luanchuan_clerk()
