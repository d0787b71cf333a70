from __future__ import annotations

from django.apps import AppConfig
from django.db.models import Q


class HouseholdsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "households"
    verbose_name = "贫困户档案"

    def ready(self) -> None:
        from households.api.views import HouseholdViewSet, ImportJobViewSet, IncomeRecordViewSet, MemberViewSet
        from households.models import Household, ImportJob, IncomeRecord, Member
        from povertycase.admin_scoping import register_city_wide_only
        from povertycase.api.routes import register_route
        from povertycase.jurisdiction import register_scope, register_scope_function

        register_scope(Household, village="village", household="")
        register_scope(Member, village="household__village", household="household")
        register_scope(IncomeRecord, village="household__village", household="household")
        # Excel imports: each user sees their own; city-wide users see all.
        register_scope_function(ImportJob, lambda user, j: Q() if j.everything else Q(user=user))
        register_city_wide_only("households.personaldataaccess")

        register_route("households", HouseholdViewSet, "household")
        register_route("members", MemberViewSet, "member")
        register_route("incomes", IncomeRecordViewSet, "incomerecord")
        register_route("imports", ImportJobViewSet, "importjob")
