from __future__ import annotations

import pytest

from assistance.tests import FieldWorld, build_field_world


@pytest.fixture
def world(db, django_capture_on_commit_callbacks) -> FieldWorld:
    """The world, as if committed: its on-commit work (the households' assessments) has run, so that a test
    can capture the on-commit callbacks of its own writes."""
    with django_capture_on_commit_callbacks(execute=True):
        return build_field_world()
