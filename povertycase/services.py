"""Write helpers shared by every app's services (the core layer: no app models here).

``validated_save``: the one "validate, record who, save" of a single model instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

ModelT = TypeVar("ModelT", bound=models.Model)


def validated_save(instance: ModelT, *, user=None, update_fields: Iterable[str] | None = None) -> ModelT:
    """``full_clean()`` (the model's field checks and ``clean()``, Chinese messages by field; raises
    ValidationError before anything is written), then save, recording ``user`` on the change-history row
    (django-simple-history's ``_history_user``). No user, or an anonymous one, records none. ``update_fields``
    is passed on to ``save()``."""
    instance.full_clean()
    if user is not None and user.is_authenticated:
        instance._history_user = user
    instance.save(update_fields=update_fields)
    return instance
