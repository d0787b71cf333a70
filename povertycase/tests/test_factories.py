"""The test factories (testing/factories.py): one for every model of the project, each building a valid row.

A model added without a factory fails ``test_every_model_has_a_factory``; a factory that builds something the
model's own validation refuses fails ``test_factory_builds_a_valid_row``.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import factory
import pytest
from django.apps import apps
from django.conf import settings

from testing import factories

pytestmark = pytest.mark.django_db

FACTORIES = [
    member
    for _, member in inspect.getmembers(factories, inspect.isclass)
    if issubclass(member, factory.django.DjangoModelFactory) and member.__module__ == factories.__name__
]


def project_models() -> set[str]:
    """The concrete models of the project's own apps (not Django's or a library's), without simple-history's
    ``Historical*`` copies."""
    base = Path(settings.BASE_DIR).resolve()
    own = [
        config
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(base) and ".venv" not in Path(config.path).parts
    ]
    return {
        model._meta.label
        for config in own
        for model in config.get_models()
        if not model.__name__.startswith("Historical")
    }


def test_every_model_has_a_factory():
    covered = {f._meta.model._meta.label for f in FACTORIES}
    assert project_models() - covered == set(), "add a factory to testing/factories.py"


def test_the_project_models_are_found():
    assert {"villages.Village", "households.Member", "assistance.RoleAssignment", "procedures.Step"} <= project_models()


@pytest.mark.parametrize("model_factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_builds_a_valid_row(model_factory, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # ImportJobFactory stores its workbook
    instance = model_factory()
    instance.refresh_from_db()
    instance.full_clean()


def test_factories_build_many_rows_without_collisions(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    for model_factory in FACTORIES:
        model_factory.create_batch(3)


def test_a_role_from_the_factory_is_granted_through_the_service():
    """The cadre gets the role's group (and so its permissions), as ``role_assign`` gives it."""
    assignment = factories.RoleAssignmentFactory(role="first_secretary", village=factories.VillageFactory())
    assert assignment.level == "village" and assignment.county_id is None
    assert assignment.cadre.user.groups.exists()
