from __future__ import annotations

from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assistance"
    verbose_name = "帮扶"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from assistance import jurisdiction, roles

        jurisdiction._register_core()
        post_migrate.connect(roles.sync_role_groups, sender=self, dispatch_uid="assistance.sync_role_groups")
