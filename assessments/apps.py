from __future__ import annotations

from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessments"
    verbose_name = "退出评估"

    def ready(self) -> None:
        from assessments import (
            admin_households,
            admin_places,
            receivers,  # noqa: F401  (recomputes after the household file's bulk writes)
            signals,  # noqa: F401  (connects the recompute-on-commit handlers)
        )
        from assessments.api import households, places
        from assessments.api.views import AssessmentViewSet, PovertyLineViewSet
        from assessments.models import Assessment
        from povertycase.admin_scoping import register_reference_data
        from povertycase.api.routes import register_route
        from povertycase.jurisdiction import register_scope

        register_scope(Assessment, village="household__village", household="household")
        register_reference_data("assessments.povertyline")
        register_route("poverty-lines", PovertyLineViewSet, "povertyline")
        register_route("assessments", AssessmentViewSet, "assessment")
        # The lower apps' resources, extended with eligibility and the exit checks (same routes).
        register_route("households", households.HouseholdViewSet, "household")
        register_route("counties", places.CountyViewSet, "county")
        register_route("townships", places.TownshipViewSet, "township")
        register_route("villages", places.VillageViewSet, "village")
        # The admin has imported every app's admin.py by now (django.contrib.admin is made ready first): extend
        # the household page and the places' pages with the assessments and exit checks.
        admin_households.register()
        admin_places.register()
