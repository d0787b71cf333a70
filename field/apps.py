from __future__ import annotations

from django.apps import AppConfig


class FieldConfig(AppConfig):
    name = "field"
    verbose_name = "驻村工作页面"
