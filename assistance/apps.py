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
        # No sender: run after every app's migrate, so that the permissions of apps listed after this one
        # (assessments) exist when the groups are rebuilt; the sync is idempotent.
        post_migrate.connect(roles.sync_role_groups, dispatch_uid="assistance.sync_role_groups")
