"""What empties and checks the registry before the demo is generated: ``registry_has_data``,
``registry_counts``, ``reset_registry`` (geography included) and ``reset_households`` (the geography stays),
each deleting the rows of other apps that point at what goes, and all the history rows, with raw deletes.
"""

from __future__ import annotations

from collections import Counter

from django.db import models, router

from households.models import Household, IncomeRecord, Member
from villages.models import County, Township, Village

# Deletion order: children before parents.
REGISTRY_MODELS: tuple[type[models.Model], ...] = (IncomeRecord, Member, Household, Village, Township, County)


def registry_counts() -> dict[str, int]:
    """Rows per registry model (by model name: ``household``, ``village``, ``county`` …)."""
    return {model._meta.model_name: model.objects.count() for model in REGISTRY_MODELS}


def registry_has_data() -> bool:
    """True when the registry holds any household (or any geography, which the demo would collide with)."""
    return any(model.objects.exists() for model in (Household, Village, Township, County))


def _is_historical(model: type[models.Model]) -> bool:
    return hasattr(model, "instance_type")


def _purge_dependents(model: type[models.Model], skip: set, deleted: Counter) -> None:
    """Delete (or null) rows of other models that point at ``model``, deepest first, without signals."""
    for relation in model._meta.related_objects:
        related = relation.related_model
        if related in skip or _is_historical(related) or relation.many_to_many or not relation.field.concrete:
            continue
        rows = related._base_manager.filter(**{f"{relation.field.name}__isnull": False})
        if relation.on_delete is models.SET_NULL:
            rows.update(**{relation.field.name: None})
            continue
        _purge_dependents(related, skip | {related}, deleted)
        count = rows._raw_delete(router.db_for_write(related))
        if count:
            deleted[related._meta.label] += count


def reset_registry() -> dict:
    """Delete the registry (income records, members, households, villages, townships, counties) with all their
    history, and the rows of other apps that point at it (assessments, helper assignments, role assignments
    bound to a county, township or village). Raw deletes: no signals, so no recompute tasks are scheduled for
    rows that are going away. Call inside ``transaction.atomic``. Returns the counts before deletion, and
    ``dependents`` (model label → rows deleted)."""
    return _delete_with_history(REGISTRY_MODELS)


def reset_households() -> dict:
    """Delete the households, members and income records with their history and the rows that point at them
    (assessments, helper assignments), keeping the geography. Raw deletes, no signals; call inside
    ``transaction.atomic``. Used by ``bench_import`` to import a county's export into an empty registry."""
    return _delete_with_history((IncomeRecord, Member, Household))


def _delete_with_history(registry_models: tuple[type[models.Model], ...]) -> dict:
    """Raw-delete ``registry_models`` (children first), their history rows and the rows that point at them.
    Returns the counts before deletion and ``dependents`` (model label → rows deleted)."""
    counts: dict = {model._meta.model_name: model.objects.count() for model in registry_models}
    dependents: Counter = Counter()
    skip = set(REGISTRY_MODELS)
    for model in registry_models:
        _purge_dependents(model, skip, dependents)
        model._base_manager.all()._raw_delete(router.db_for_write(model))
        history_model = model.history.model
        history_model._base_manager.all()._raw_delete(router.db_for_write(history_model))
    counts["dependents"] = dict(dependents)
    return counts
