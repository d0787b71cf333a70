from __future__ import annotations

from django.apps import AppConfig
from django.db.models import Q


class VillagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "villages"
    verbose_name = "行政区划"

    def ready(self) -> None:
        from povertycase.api.routes import register_route
        from povertycase.jurisdiction import nothing_q, register_scope_function, village_q
        from villages.api.views import CountyViewSet, TownshipViewSet, VillageViewSet
        from villages.models import County, Township, Village

        # Places are seen by who works in them; their ancestors are visible too, for navigation.
        register_scope_function(
            County, lambda user, j: Q(pk__in=j.parent_county_ids) if j.parent_county_ids else nothing_q()
        )
        register_scope_function(
            Township,
            lambda user, j: (
                nothing_q() if j.is_empty else Q(county_id__in=j.county_ids) | Q(pk__in=j.parent_township_ids)
            ),
        )
        # A helper sees the villages of their assigned households.
        register_scope_function(Village, lambda user, j: village_q(j, "") | Q(pk__in=j.parent_village_ids))

        register_route("counties", CountyViewSet, "county")
        register_route("townships", TownshipViewSet, "township")
        register_route("villages", VillageViewSet, "village")
