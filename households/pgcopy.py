"""PostgreSQL ``COPY … FROM STDIN`` text format, shared by the demo generator and the Excel import."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import models

COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def copy_text(model_field: models.Field) -> Callable[[Any], str]:
    """How one column's Python value is spelled in COPY's text format (``\\N`` is NULL)."""
    if isinstance(model_field, models.BooleanField):
        return lambda value: NULL if value is None else ("t" if value else "f")
    if isinstance(model_field, models.JSONField):
        return lambda value: NULL if value is None else json.dumps(value, ensure_ascii=False).translate(COPY_ESCAPES)
    if isinstance(model_field, (models.DateField, models.DateTimeField)):  # DateTimeField is a DateField
        return lambda value: NULL if value is None else value.isoformat()
    return lambda value: NULL if value is None else str(value).translate(COPY_ESCAPES)
