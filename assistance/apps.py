from __future__ import annotations

from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assistance"
    verbose_name = "帮扶"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from assistance import access, roles
        from assistance.api import views
        from povertycase.api.routes import register_route

        access.register()
        register_route("units", views.UnitViewSet, "unit")
        register_route("cadres", views.CadreViewSet, "cadre")
        register_route("assignments", views.RoleAssignmentViewSet, "roleassignment")
        register_route("household-assignments", views.HouseholdAssignmentViewSet, "householdassignment")
        register_route("measures", views.HouseholdMeasureViewSet, "householdmeasure")
        register_route("visits", views.VisitViewSet, "visit")
        register_route("loans", views.MicroLoanViewSet, "microloan")
        register_route("compliance", views.ComplianceViewSet, "compliance")
        # No sender: run after every app's migrate, so that the permissions of apps listed after this one
        # (assessments) exist when the groups are rebuilt; the sync is idempotent.
        post_migrate.connect(roles.sync_role_groups, dispatch_uid="assistance.sync_role_groups")
