"""What every API viewset shares: jurisdiction scoping, permissions, errors in one shape, pagination.

Viewsets translate; services decide (GUIDE.md). A viewset's queryset always goes through
``povertycase.jurisdiction.scope_to``, so an object outside the user's jurisdiction answers 404, never 403, and
every create or update is checked once more, inside its transaction, to still lie in the user's jurisdiction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from rest_framework import exceptions, permissions, status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from povertycase.api.errors import PayloadTooLarge, constraint_messages, integrity_error_detail, too_large_message
from povertycase.api.serializers import refuse_unknown_fields
from povertycase.jurisdiction import ensure_in_scope, scope_to


class ScopedModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, reads included (``view_<model>``): a role without them sees nothing."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


class ViewModelPermissions(permissions.DjangoModelPermissions):
    """For actions that only read or recompute what the user may already see (e.g. ``assess``)."""

    perms_map = {
        method: ["%(app_label)s.view_%(model_name)s"] for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    } | {"OPTIONS": []}


class OfferedMethodsOnly(permissions.BasePermission):
    """A method the resource does not offer (``http_method_names``) answers 405 to every signed-in user,
    instead of the 403 that the model permissions would give those who lack e.g. ``delete_<model>``."""

    def has_permission(self, request, view) -> bool:
        if request.method.lower() not in view.http_method_names:
            raise MethodNotAllowed(request.method)
        return True


# The permissions of a resource that offers only some methods (shared by the apps' viewsets).
LIMITED_METHOD_PERMISSIONS = [permissions.IsAuthenticated, OfferedMethodsOnly, ScopedModelPermissions]
# A resource whose rows are corrected, never deleted through the API.
NO_DELETE = ["get", "post", "put", "patch", "head", "options"]


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"members": [{}, {"id_number": ["…"]}]}`` → ``{"members[1].id_number": ["…"]}``: one flat shape for
    the errors of nested writes, whether they come from a serializer or from a service."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF ≥ 3.16 reports a nested list's errors as {index: errors}
                flat.update(flatten_errors(value, f"{prefix}[{key}]"))
                continue
            key = "non_field_errors" if key == "__all__" else str(key)
            name = key if not prefix else (f"{prefix}.{key}" if key != "non_field_errors" else prefix)
            flat.update(flatten_errors(value, name))
    elif isinstance(detail, list) and detail and all(isinstance(item, (dict, list)) for item in detail):
        for index, value in enumerate(detail):
            flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    elif isinstance(detail, list):
        flat.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return flat


def django_validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's errors by field. A unique constraint's message, which Django files under ``__all__`` (or
    ``members[1].__all__``) when the constraint is conditional or spans the parent key, goes to the field it
    names (``members[1].id_number``, ``incomes[0].year``)."""
    if not hasattr(exc, "error_dict"):
        return {"non_field_errors": [str(m) for m in exc.messages]}
    by_message = constraint_messages()
    detail: dict[str, list[str]] = {}
    for key, errors in exc.error_dict.items():
        for message in (str(m) for e in errors for m in e.messages):
            if key == "__all__" or key.endswith(".__all__"):
                prefix = key.removesuffix("__all__")
                field = by_message.get(message)
                name = f"{prefix}{field}" if field else ("non_field_errors" if key == "__all__" else key)
            else:
                name = key
            detail.setdefault(name, []).append(message)
    return detail


def exception_handler(exc, context):
    """DRF's handler, plus: Django ValidationError → 400, Django PermissionDenied → 403, Http404 → 404 with
    a Chinese message, a known unique constraint raced past ``full_clean`` → 400 naming the field, a body over
    the limit → 413; every 400 body is flattened to ``{"field.path": ["message"]}``."""
    if isinstance(exc, IntegrityError):
        request = context.get("request")
        detail = integrity_error_detail(exc, view=context.get("view"), data=getattr(request, "data", None))
        if detail is None:
            return None  # a real fault: the 500 handler answers
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(too_large_message())
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "您没有执行此操作的权限。")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("未找到，或不在您的辖区内。")
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = flatten_errors(response.data)
    return response


class ScopedViewSetMixin:
    """``get_queryset`` through ``scope_to``; writes inside one transaction, their bodies strict (no unknown or
    read-only key); what a create or update wrote must still lie in the user's jurisdiction, else the whole write
    rolls back (404)."""

    permission_classes = [permissions.IsAuthenticated, ScopedModelPermissions]

    def get_queryset(self):
        return scope_to(self.request.user, super().get_queryset())

    def get_serializer(self, *args, **kwargs):
        """Every write's serializer: a key of the body it does not take (unknown or read-only, nested ones too)
        is refused with 400 naming it, with the body's other errors, before anything is written."""
        serializer = super().get_serializer(*args, **kwargs)
        if "data" in kwargs:
            refuse_unknown_fields(serializer)
        return serializer

    def perform_create(self, serializer):
        ensure_in_scope(self.request.user, serializer.save())

    def perform_update(self, serializer):
        ensure_in_scope(self.request.user, serializer.save())

    def create(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)


def created(data) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)
