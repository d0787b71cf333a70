from __future__ import annotations

import pytest

from households.tests import ImportWorld, build_import_world


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded workbooks and annotated copies go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(db, django_capture_on_commit_callbacks) -> ImportWorld:
    """The world, as if committed (its on-commit work has run), so a test can capture its own callbacks."""
    with django_capture_on_commit_callbacks(execute=True):
        return build_import_world()
