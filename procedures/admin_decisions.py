"""The decision log in the back office (DOMAIN.md §5 "Decisions"): read only, scoped, every field shown, with
the application it approved and its place in the county's hash chain. Registered by ``ProceduresConfig.ready()``."""

from __future__ import annotations

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from households.admin import household_link
from households.admin_history import register_history_annotator
from households.models import Household
from households.selectors import user_display_name
from povertycase.admin_scoping import ReadOnlyAdminMixin, ScopedAdminMixin
from procedures.models import Decision
from villages.admin import geography_filters


class DecisionAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("decided_at", "kind", "household_link", "year", "status", "decided_by_name", "source", "sequence")
    list_filter = ("kind", "source", "year", *geography_filters("household__village"))
    list_select_related = ("household", "decided_by__cadre", "county")
    search_fields = ("household__household_number", "reason")
    search_help_text = "按户编号或理由搜索"
    list_per_page = 50
    show_full_result_count = False
    fields = (
        "kind",
        "household_link",
        "county",
        "sequence",
        "year",
        "status",
        "identified_year",
        "exit_year",
        "reason",
        "source",
        "application_link",
        "decided_by_name",
        "decided_at",
        "content_display",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    @admin.display(description="贫困户", ordering="household__household_number")
    def household_link(self, obj: Decision) -> str:
        try:
            return household_link(obj.household)
        except Household.DoesNotExist:  # deleted as entered by mistake: the log keeps its id
            return f"#{obj.household_id}（已删除）"

    @admin.display(description="申请")
    def application_link(self, obj: Decision) -> str:
        if obj.application_id is None:
            return "—"
        url = reverse("admin:procedures_application_change", args=[obj.application_id])
        return format_html('<a href="{}">#{}</a>', url, obj.application_id)

    @admin.display(description="决定人")
    def decided_by_name(self, obj: Decision) -> str:
        return user_display_name(obj.decided_by) if obj.decided_by else "—"

    @admin.display(description="依据")
    def content_display(self, obj: Decision) -> str:
        return format_html(
            "<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(obj.content, ensure_ascii=False, indent=2)
        )


# A decision is written in the same transaction as the household row it changes, a moment after it.
DECISION_MATCH_SECONDS = 60


def decision_notes(household, rows) -> list[str | None]:
    """For the household's history page: a link from each version that changed (or created) the decided fields
    to the decision that did it (``households.admin_history.register_history_annotator``)."""
    decisions = list(Decision.objects.filter(household_id=household.pk).order_by("decided_at", "pk"))
    notes: list[str | None] = []
    for row in rows:
        record = row.record
        decided = record.history_type == "+" or any(row.changed(name) for name in Household.DECIDED_FIELDS)
        match = None
        if decided:
            candidates = [
                d
                for d in decisions
                if abs((d.decided_at - record.history_date).total_seconds()) <= DECISION_MATCH_SECONDS
            ]
            match = min(candidates, key=lambda d: abs(d.decided_at - record.history_date), default=None)
        if match is None:
            notes.append(None)
            continue
        url = reverse("admin:procedures_decision_change", args=[match.pk])
        notes.append(format_html('<a href="{}">决定：{}</a>', url, match.get_kind_display()))
    return notes


def register() -> None:
    admin.site.register(Decision, DecisionAdmin)
    register_history_annotator(decision_notes)
