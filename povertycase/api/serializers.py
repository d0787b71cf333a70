"""Serializer plumbing shared by the apps' APIs: the acting user, plain model writes with full validation, and
strict writes (a key the serializer does not take is refused, never silently dropped)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from povertycase.services import validated_save

UNKNOWN_FIELD = "未知字段，接口不接受该字段，请检查字段名。"
READ_ONLY_FIELD = "该字段只读，不能修改。"
# Keys a browser form adds to a multipart upload: transport, not data.
TRANSPORT_KEYS = frozenset({"csrfmiddlewaretoken"})


def request_user(serializer):
    request = serializer.context.get("request")
    return request.user if request else None


class FullCleanWriteMixin:
    """Writes of models that need no service beyond their own invariants: ``full_clean()`` (the model's
    Chinese messages, field by field), then save with the acting user recorded in the change history."""

    def create(self, validated_data):
        return self._clean_save(self.Meta.model(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self._clean_save(instance)

    def _clean_save(self, instance):
        return validated_save(instance, user=request_user(self))


# --- strict writes ------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """``value`` as a client reads it back from a GET (JSON types: decimals and dates as strings)."""
    return json.loads(JSONRenderer().render(value))


def _same(given: Any, stored: Any) -> bool:
    try:
        return given == _plain(stored)
    except (TypeError, ValueError):
        return False


def _row_id(row: Any) -> int | str | None:
    value = row.get("id") if isinstance(row, Mapping) else None
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _nested_errors(field: serializers.Field, value: Any, stored: Any) -> dict:
    """The errors of a nested write (one object, or rows matched to the stored rows by their ``id``)."""
    if isinstance(field, serializers.ListSerializer) and isinstance(field.child, serializers.Serializer):
        if not isinstance(value, list):
            return {}
        stored_rows = {_row_id(row): row for row in stored or () if _row_id(row) is not None}
        rows: dict[int, dict] = {}
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                row_errors = field_errors(field.child, item, stored_rows.get(_row_id(item)))
                if row_errors:
                    rows[index] = row_errors
        return rows
    if isinstance(field, serializers.Serializer) and isinstance(value, Mapping):
        return field_errors(field, value, stored if isinstance(stored, Mapping) else None)
    return {}


def field_errors(serializer: serializers.Serializer, data: Mapping, stored: Mapping | None = None) -> dict:
    """``{key: [message]}`` for every key of ``data`` that ``serializer`` does not write: unknown keys, and
    read-only ones unless ``stored`` (the object as a GET shows it) holds the very same value (a PUT echoing back
    what it read); nested serializers (``members[1].staus``) likewise, their rows matched by ``id``."""
    errors: dict[str, Any] = {}
    fields = serializer.fields
    for key in data:
        if key in TRANSPORT_KEYS:
            continue
        field = fields.get(key)
        if field is None:
            errors[key] = [UNKNOWN_FIELD]
        elif field.read_only:
            if stored is None or key not in stored or not _same(data[key], stored[key]):
                errors[key] = [READ_ONLY_FIELD]
        else:
            nested = _nested_errors(field, data[key], stored.get(key) if stored is not None else None)
            if nested:
                errors[key] = nested
    return errors


def unknown_field_errors(serializer: serializers.BaseSerializer, data: Any) -> dict:
    """The keys of ``data`` (a write's body) that ``serializer`` would silently drop; read-only values are
    compared with the object as a GET shows it (an update), so that a client may PUT back what it read."""
    if isinstance(serializer, serializers.ListSerializer):
        return _nested_errors(serializer, data, None)
    if not isinstance(serializer, serializers.Serializer) or not isinstance(data, Mapping):
        return {}
    errors = field_errors(serializer, data)
    instance = getattr(serializer, "instance", None)
    if errors and instance is not None:
        errors = field_errors(serializer, data, serializer.to_representation(instance))
    return errors


def _merged(refused: dict, own: Mapping) -> dict:
    """The serializer's own errors over the refused keys: its own message for a key (e.g. "村代码不能在此修改")
    says more than "该字段只读"; nested errors are merged row by row."""
    merged = dict(refused)
    for key, value in own.items():
        if isinstance(merged.get(key), dict) and isinstance(value, Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def refuse_unknown_fields(serializer: serializers.BaseSerializer) -> None:
    """Raise a 400 naming every key of the serializer's body that it does not write, ``{"staus": ["未知字段…"]}``,
    ``{"id_number": ["该字段只读，不能修改。"]}``, ``members[1].staus``, together with the body's other errors;
    nothing is validated into a write."""
    refused = unknown_field_errors(serializer, serializer.initial_data)
    if refused:
        serializer.is_valid()
        raise serializers.ValidationError(_merged(refused, serializer.errors))


class StrictFieldsMixin:
    """For a serializer built directly on a request's body (a scoped viewset's ``get_serializer`` checks the
    others): ``is_valid`` refuses the keys it does not take, nested ones included."""

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        if not hasattr(self, "_validated_data"):  # validation runs once per serializer, as in DRF
            refused = unknown_field_errors(self, self.initial_data)
            if refused:
                super().is_valid()
                self._errors = _merged(refused, self._errors)
                self._validated_data = {}
                if raise_exception:
                    raise serializers.ValidationError(self.errors)
                return False
        return super().is_valid(raise_exception=raise_exception)
