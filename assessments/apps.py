from __future__ import annotations

from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessments"
    verbose_name = "退出评估"

    def ready(self) -> None:
        from assessments import signals  # noqa: F401  (connects the recompute-on-commit handlers)
