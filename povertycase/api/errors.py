"""Errors in one JSON shape under ``/api/``: unique-constraint races, bodies too big or too deep, 404 and 500.

A database unique constraint that fires although ``full_clean`` passed (another request wrote the same value in
between) is answered like the ``full_clean`` error it stands for: 400 naming the field (``household_number``,
``members[1].id_number``, ``incomes[0].year``), never 500. The constraint is found from the database's own error
(its table and columns), the row of a nested write from the request body. Every other error under ``/api/`` that
Django itself answers (an unknown URL, a 500, an oversized body) is ``{"detail": "中文说明"}``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, connection, models
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

API_PREFIX = "/api/"


@dataclass(frozen=True)
class KnownUnique:
    """A unique constraint (or ``unique=True`` field) of a model, as the API names its error."""

    model: type[models.Model]
    fields: tuple[str, ...]  # model field names
    condition: models.Q | None
    message: str

    def own_fields(self, parent: type[models.Model] | None) -> list[str]:
        """The constraint's fields other than the foreign key to ``parent`` (``year`` of ``(household, year)``)."""
        return [name for name in self.fields if not _points_to(self.model, name, parent)]


def _points_to(model: type[models.Model], name: str, parent: type[models.Model] | None) -> bool:
    field = model._meta.get_field(name)
    return parent is not None and field.is_relation and field.related_model is parent


@cache
def _known_uniques() -> dict[tuple[str, frozenset[str]], KnownUnique]:
    """``(db_table, columns)`` → the constraint, for every project model (cached: models do not change)."""
    known: dict[tuple[str, frozenset[str]], KnownUnique] = {}
    for model in apps.get_models():
        table = model._meta.db_table
        for field in model._meta.concrete_fields:
            if field.unique and not field.primary_key:
                message = model().unique_error_message(model, (field.name,)).messages[0]
                known[(table, frozenset([field.column]))] = KnownUnique(model, (field.name,), None, message)
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
                columns = frozenset(model._meta.get_field(name).column for name in constraint.fields)
                message = str(constraint.violation_error_message or "该值已存在。")
                known[(table, columns)] = KnownUnique(model, tuple(constraint.fields), constraint.condition, message)
    return known


def constraint_messages() -> dict[str, str]:
    """A constraint's message → the one field it names (``id_number``, ``year``): for ``full_clean``'s errors,
    which Django files under ``__all__`` for a conditional or multi-column constraint."""
    mapping: dict[str, str] = {}
    for known in _known_uniques().values():
        own = [name for name in known.fields if not known.model._meta.get_field(name).is_relation]
        if len(own) == 1:
            mapping[known.message] = own[0]
    return mapping


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")
_POSTGRES_KEY = re.compile(r"Key \((.+?)\)=")


def _violated(exc: IntegrityError) -> KnownUnique | None:
    """The known constraint an IntegrityError reports, from SQLite's or PostgreSQL's message."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None:  # psycopg
        match = _POSTGRES_KEY.search(getattr(diag, "message_detail", None) or "")
        if not match or not diag.table_name:
            return None
        table = diag.table_name
        columns = frozenset(column.strip().strip('"') for column in match.group(1).split(","))
    else:
        match = _SQLITE_UNIQUE.search(str(exc))
        if not match:
            return None
        pairs = [item.strip().split(".", 1) for item in match.group(1).split(",")]
        if any(len(pair) != 2 for pair in pairs):
            return None
        table = pairs[0][0]
        columns = frozenset(column for _table, column in pairs)
    return _known_uniques().get((table, columns))


def _clashes(known: KnownUnique, *, parent_field: str | None, parent_pk: Any, values: Mapping[str, Any]) -> bool:
    """Whether a row with these values now holds the constraint (written by the other request)."""
    lookups: dict[str, Any] = {}
    for name in known.fields:
        if name == parent_field:
            continue
        value = values.get(name)
        if value is None or value == "":
            return False
        if isinstance(value, str):  # as full_clean would have normalised it (ID numbers' x → X)
            lookups[f"{name}__iexact"] = value.strip()
        else:
            lookups[name] = value
    queryset = known.model._default_manager.filter(**lookups)
    if known.condition is not None:
        queryset = queryset.filter(known.condition)
    if parent_field is None:
        return queryset.exists()
    if parent_field in known.fields:  # e.g. (household, year): the clash is within the household written
        return parent_pk is not None and queryset.filter(**{parent_field: parent_pk}).exists()
    if parent_pk is not None:  # e.g. an active ID number: the clash is with another household
        queryset = queryset.exclude(**{parent_field: parent_pk})
    return queryset.exists()


def _resource_model(view: Any) -> type[models.Model] | None:
    """The model a viewset writes (its serializer's), without querying."""
    queryset = getattr(view, "queryset", None)
    if queryset is not None:
        return queryset.model
    try:
        return view.get_serializer_class().Meta.model
    except (AttributeError, AssertionError):
        return None


def integrity_error_detail(exc: IntegrityError, *, view: Any, data: Any) -> dict[str, list[str]] | None:
    """400's body for a known unique constraint raised by a concurrent write, or None (a real 500)."""
    known = _violated(exc)
    parent = _resource_model(view)
    if known is None or parent is None:
        return None
    own = known.own_fields(parent)
    if known.model is parent:  # e.g. /incomes/: (household, year) is named by its year
        plain = [name for name in own if not known.model._meta.get_field(name).is_relation]
        return {name: [known.message] for name in plain or own}
    parent_field = next(
        (f.name for f in known.model._meta.concrete_fields if f.is_relation and f.related_model is parent), None
    )
    if parent_field is None:  # a resource of the row itself (e.g. /members/): its own fields
        return {name: [known.message] for name in own}
    collection = known.model._meta.get_field(parent_field).remote_field.get_accessor_name()
    rows = data.get(collection) if isinstance(data, Mapping) else None
    parent_pk = getattr(view, "kwargs", {}).get(getattr(view, "lookup_url_kwarg", None) or "pk")
    detail: dict[str, list[str]] = {}
    if own and isinstance(rows, list) and not connection.needs_rollback:  # not inside a failed transaction
        for index, row in enumerate(rows):
            if isinstance(row, Mapping) and _clashes(known, parent_field=parent_field, parent_pk=parent_pk, values=row):
                detail[f"{collection}[{index}].{own[0]}"] = [known.message]
    return detail or {collection: [known.message]}


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "请求内容过大。"
    default_code = "payload_too_large"


def too_large_message() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"请求内容超过{limit // 1024} KB的上限，请分批提交。" if limit else "请求内容过大。"


class DepthLimitedJSONParser(JSONParser):
    """JSON bodies as DRF parses them, except that a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 (DRF
    reads the stream itself, past Django's check) and one nested too deeply for the decoder is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise PayloadTooLarge(too_large_message())
            stream = io.BytesIO(body)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON 嵌套层级过深。") from None


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": too_large_message()}, status=413)
    if _is_api(request):
        return JsonResponse({"detail": "请求无效。"}, status=400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if _is_api(request):
        return JsonResponse({"detail": "您没有执行此操作的权限。"}, status=403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if _is_api(request):
        return JsonResponse({"detail": "未找到该接口地址。"}, status=404)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if _is_api(request):
        return JsonResponse({"detail": "服务器内部错误，请稍后重试；如仍出错请联系管理员。"}, status=500)
    return defaults.server_error(request, template_name)
