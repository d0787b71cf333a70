from __future__ import annotations

import pytest

from assistance.tests import FieldWorld, build_field_world


@pytest.fixture
def world(db) -> FieldWorld:
    return build_field_world()
