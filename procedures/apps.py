from __future__ import annotations

from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "procedures"
    verbose_name = "识别与退出"

    def ready(self) -> None:
        from povertycase.api.routes import register_route
        from povertycase.jurisdiction import register_scope
        from procedures import admin_decisions, admin_households, receivers  # noqa: F401  (receivers: registered decisions)
        from procedures.api.decisions import DecisionViewSet
        from procedures.api.views import ExitApplicationViewSet, IdentificationApplicationViewSet
        from procedures.models import Alert, Application, Decision, Objection, Signature, Step

        register_scope(Application, village="household__village", household="household")
        register_scope(Alert, village="household__village", household="household")
        register_scope(Decision, village="household__village", household="household")
        for model in (Step, Objection, Signature):
            register_scope(model, village="application__household__village", household="application__household")
        register_route("identification-applications", IdentificationApplicationViewSet, "identificationapplication")
        register_route("exit-applications", ExitApplicationViewSet, "exitapplication")
        register_route("decisions", DecisionViewSet, "decision")
        admin_decisions.register()
        # The household page (as assessments extended it, their ready() ran first): decisions and procedures.
        admin_households.register()
