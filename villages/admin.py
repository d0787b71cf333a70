"""Back office for the administrative tree (DOMAIN.md §1) and the village-exit indicators (§6); the exit checks
themselves are added by ``assessments.admin_places``, which extends these pages.

Also home of the cascading geography list filters (县 → 乡镇 → 村) shared by every admin list that is
filtered by place: with about a hundred thousand households in a few thousand villages, a plain list of
every village would be unusable, so a level only offers its options once the level above narrows them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from povertycase.admin_scoping import ScopedAdminMixin
from povertycase.jurisdiction import scope_to
from villages.models import County, Township, Village

# A filter level lists its options only when there are at most this many; otherwise the level above must
# be chosen first (a county has 10–30 townships and a township 10–40 villages in Luoyang).
PLAIN_LIST_LIMIT = 100

COUNTY_PARAM = "county_id"
TOWNSHIP_PARAM = "township_id"
VILLAGE_PARAM = "village_id"


def _as_pk(value: str | int | None) -> int | None:
    """A primary key from a URL parameter (or a lookup value, when facets are counted), or None for
    anything that is not a plausible one."""
    value = "" if value is None else str(value)
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


class GeographyListFilter(admin.SimpleListFilter):
    """One level of the cascading place filter. ``lookup`` is the ORM path from the listed model to the
    level's model (``village__county``); the URL parameter carries the primary key, as in the filtersets.
    Choosing a level clears the levels below it, which would otherwise contradict it. Every level offers
    only the places of the user's jurisdiction (``scope_to``)."""

    lookup: str = ""
    dependents: tuple[str, ...] = ()

    @classmethod
    def on(cls, lookup: str) -> type[GeographyListFilter]:
        """This filter applied through ``lookup`` (e.g. ``household__village__county`` for members)."""
        return type(cls.__name__, (cls,), {"lookup": lookup})

    def selected_pk(self) -> int | None:
        return _as_pk(self.value())

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        pk = self.selected_pk()
        if pk is None:
            return queryset.none()
        return queryset.filter(**{f"{self.lookup}_id": pk})

    def bounded(self, queryset: QuerySet, *, label=str) -> list[tuple[int, str]]:
        """The options of ``queryset`` if there are few enough, else only the selected one."""
        rows = list(queryset[: PLAIN_LIST_LIMIT + 1])
        if len(rows) > PLAIN_LIST_LIMIT:
            pk = self.selected_pk()
            rows = list(queryset.filter(pk=pk)) if pk else []
        return [(row.pk, label(row)) for row in rows]

    def choices(self, changelist):
        add_facets = changelist.add_facets
        facet_counts = self.get_facet_queryset(changelist) if add_facets else None
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name, *self.dependents]),
            "display": _("All"),
        }
        for index, (pk, title) in enumerate(self.lookup_choices):
            if add_facets:
                count = facet_counts.get(f"{index}__c", -1)
                title = f"{title} ({count if count != -1 else '-'})"
            yield {
                "selected": self.value() == str(pk),
                "query_string": changelist.get_query_string({self.parameter_name: pk}, remove=list(self.dependents)),
                "display": title,
            }


def _param_pk(request, name: str) -> int | None:
    return _as_pk(request.GET.get(name))


class CountyListFilter(GeographyListFilter):
    title = "县（市、区）"
    parameter_name = COUNTY_PARAM
    lookup = "county"
    dependents = (TOWNSHIP_PARAM, VILLAGE_PARAM)

    def lookups(self, request, model_admin):
        return [(pk, name) for pk, name in scope_to(request.user, County.objects.all()).values_list("pk", "name")]


class TownshipListFilter(GeographyListFilter):
    title = "乡（镇、街道）"
    parameter_name = TOWNSHIP_PARAM
    lookup = "township"
    dependents = (VILLAGE_PARAM,)

    def lookups(self, request, model_admin):
        townships = scope_to(request.user, Township.objects.only("pk", "name"))
        county = _param_pk(request, COUNTY_PARAM)
        if county:
            townships = townships.filter(county_id=county)
        return self.bounded(townships)


class VillageListFilter(GeographyListFilter):
    title = "行政村（社区）"
    parameter_name = VILLAGE_PARAM
    lookup = "village"

    def lookups(self, request, model_admin):
        villages = scope_to(request.user, Village.objects.only("pk", "name"))
        township = _param_pk(request, TOWNSHIP_PARAM)
        county = _param_pk(request, COUNTY_PARAM)
        if township:
            villages = villages.filter(township_id=township)
        elif county:
            villages = villages.filter(county_id=county)
        return self.bounded(villages)


def geography_filters(village_path: str) -> tuple[type[GeographyListFilter], ...]:
    """县, 乡镇 and 村 filters for a model that reaches Village through ``village_path``."""
    return (
        CountyListFilter.on(f"{village_path}__county"),
        TownshipListFilter.on(f"{village_path}__township"),
        VillageListFilter.on(village_path),
    )


# ---------------------------------------------------------------------------------------------------------
# The tree itself. ``assessments.admin_places`` extends these pages with the exit checks (DOMAIN.md §6).


@admin.register(County)
class CountyAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = (
        "code",
        "name",
        "city_name",
        "is_poverty_county",
        "exit_year",
        "wrong_exit_rate",
        "missed_identification_rate",
        "public_recognition_rate",
    )
    list_display_links = ("code", "name")
    search_fields = ("code", "name")
    list_filter = ("is_poverty_county", "city_name", "exit_year")
    fieldsets = (
        ("基本信息", {"fields": ("code", "name", "city_name", "is_poverty_county", "exit_year")}),
        (
            "第三方评估（摘帽）",
            {"fields": ("wrong_exit_rate", "missed_identification_rate", "public_recognition_rate")},
        ),
    )


@admin.register(Township)
class TownshipAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "county")
    list_display_links = ("code", "name")
    list_select_related = ("county",)
    search_fields = ("code", "name")
    search_help_text = "按乡镇代码或名称搜索"
    list_filter = (CountyListFilter,)
    list_per_page = 50
    fields = ("code", "name", "county")


@admin.register(Village)
class VillageAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = (
        "code",
        "name",
        "township",
        "county",
        "is_poverty_village",
        "exit_year",
        "registered_population",
        "indicators_met",
        "collective_income_yuan",
    )
    list_display_links = ("code", "name")
    list_select_related = ("township", "county")
    # township__name lets a clerk tell apart villages of the same name in different townships.
    search_fields = ("code", "name", "township__name")
    search_help_text = "按村代码、村名或乡镇名称搜索"
    list_filter = (CountyListFilter, TownshipListFilter, "is_poverty_village", "exit_year")
    list_per_page = 50
    autocomplete_fields = ("township",)
    readonly_fields = ("county",)
    fieldsets = (
        (
            "基本信息",
            {
                "fields": (
                    "code",
                    "name",
                    "township",
                    "county",
                    "is_poverty_village",
                    "exit_year",
                    "registered_population",
                )
            },
        ),
        (
            "出列指标",
            {
                "fields": (*Village.INDICATOR_FIELDS, "collective_income_yuan"),
                "description": "贫困村出列除贫困发生率达标外，还须达到以下七项指标；村集体经济收入一并记录。",
            },
        ),
    )

    @admin.display(description="出列指标达标")
    def indicators_met(self, obj: Village) -> str:
        met = sum(bool(getattr(obj, field)) for field in Village.INDICATOR_FIELDS)
        return f"{met}/{len(Village.INDICATOR_FIELDS)}"
