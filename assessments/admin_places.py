"""The exit checks of the places (DOMAIN.md §6) plugged into the administrative tree's back office.

``villages.admin`` serves the plain tree; incidence and the exit checks need the households and their
assessments, which lie above it, so this module extends the county, township and village pages and registers
the extended admins in their place (``AssessmentsConfig.ready()`` imports it).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string

from assessments.selectors import POOR_STATUSES, ExitCheck, county_exit_check, township_incidence, village_exit_check
from households.models import Member
from villages import admin as place_admin
from villages.models import County, Township, Village


def render_exit_check(check: ExitCheck, *, verdict_label: str = "") -> str:
    """The incidence of ``check`` and, given a ``verdict_label`` (出列, 摘帽), whether the place may exit and
    every condition still missing."""
    return render_to_string(
        "admin/villages/exit_check.html",
        {"check": check, "show_verdict": bool(verdict_label), "verdict_label": verdict_label},
    )


def _poor_people(group_path: str):
    """People in poor or returned households grouped by ``group_path`` (``household__village`` or
    ``household__village__county``), as a correlated subquery counted per listed row: the same definition
    as ``assessments.selectors.poor_people_by``, for a whole list page in one query."""
    people = (
        Member.objects.filter(is_active=True, household__status__in=POOR_STATUSES, **{group_path: OuterRef("pk")})
        .order_by()
        .values(group_path)
        .annotate(people=Count("pk"))
        .values("people")
    )
    return Coalesce(Subquery(people, output_field=IntegerField()), 0)


def _with(fields: tuple[str, ...], name: str, *, after: str) -> tuple[str, ...]:
    index = fields.index(after) + 1
    return (*fields[:index], name, *fields[index:])


class CountyExitAdmin(place_admin.CountyAdmin):
    list_display = _with(place_admin.CountyAdmin.list_display, "incidence", after="exit_year")
    readonly_fields = ("exit_check",)
    fieldsets = (*place_admin.CountyAdmin.fieldsets, ("摘帽核查", {"fields": ("exit_check",)}))

    def get_queryset(self, request):
        population = (
            Village.objects.filter(county=OuterRef("pk"))
            .order_by()
            .values("county")
            .annotate(people=Sum("registered_population"))
            .values("people")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                poor_people=_poor_people("household__village__county"),
                population=Coalesce(Subquery(population, output_field=IntegerField()), 0),
            )
        )

    @admin.display(description="贫困发生率")
    def incidence(self, obj: County) -> str:
        # The list shows incidence only; the whole check (villages exited, third-party figures) is on the page.
        if not obj.population:
            return "—"
        ratio = (Decimal(obj.poor_people) / Decimal(obj.population)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        return f"{ratio * 100:.2f}%"

    @admin.display(description="摘帽条件核查")
    def exit_check(self, obj: County) -> str:
        if not obj.pk:
            return "保存后显示"
        return render_exit_check(county_exit_check(obj), verdict_label="摘帽")


class TownshipExitAdmin(place_admin.TownshipAdmin):
    readonly_fields = ("incidence",)
    fields = (*place_admin.TownshipAdmin.fields, "incidence")

    @admin.display(description="贫困发生率")
    def incidence(self, obj: Township) -> str:
        if not obj.pk:
            return "保存后显示"
        return render_exit_check(township_incidence(obj))


class VillageExitAdmin(place_admin.VillageAdmin):
    list_display = _with(
        _with(place_admin.VillageAdmin.list_display, "incidence", after="registered_population"),
        "exit_eligible",
        after="indicators_met",
    )
    readonly_fields = (*place_admin.VillageAdmin.readonly_fields, "exit_check")
    fieldsets = (*place_admin.VillageAdmin.fieldsets, ("出列核查", {"fields": ("exit_check",)}))

    def get_queryset(self, request):
        # The poor people of every listed village in the list's own query (no query per row).
        return super().get_queryset(request).annotate(poor_people=_poor_people("household__village"))

    def _list_check(self, obj: Village) -> ExitCheck:
        return village_exit_check(obj, poor_people=obj.poor_people)

    @admin.display(description="贫困发生率")
    def incidence(self, obj: Village) -> str:
        return self._list_check(obj).incidence_percent

    @admin.display(description="出列条件", boolean=True)
    def exit_eligible(self, obj: Village) -> bool:
        return self._list_check(obj).eligible

    @admin.display(description="出列条件核查")
    def exit_check(self, obj: Village) -> str:
        if not obj.pk:
            return "保存后显示"
        return render_exit_check(village_exit_check(obj), verdict_label="出列")


def register() -> None:
    for model, model_admin in ((County, CountyExitAdmin), (Township, TownshipExitAdmin), (Village, VillageExitAdmin)):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)
