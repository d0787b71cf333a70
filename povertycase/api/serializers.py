"""Serializer plumbing shared by the apps' APIs: the acting user, and plain model writes with full validation."""

from __future__ import annotations

from povertycase.services import validated_save


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
