"""The demo app: the demo data generator and its management commands (top layer, imported by none)."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "演示数据"
