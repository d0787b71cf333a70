"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from rest_framework import serializers

from povertycase.jurisdiction import scope_to


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key whose choices are limited to the requesting user's jurisdiction: an out-of-scope id is
    refused as if it did not exist."""

    default_error_messages = {
        "does_not_exist": "ID为“{pk_value}”的对象不存在或不在您的辖区内。",
        "incorrect_type": "应为整数ID，收到的是{data_type}。",
        "required": "此项为必填项。",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        return scope_to(request.user if request else None, queryset)
