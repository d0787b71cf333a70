"""Back office for the configurable poverty and dibao lines (扶贫标准, DOMAIN.md §3)."""

from __future__ import annotations

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from assessments.models import PovertyLine


@admin.register(PovertyLine)
class PovertyLineAdmin(SimpleHistoryAdmin):
    list_display = ("year", "kind", "region_code", "region_name", "amount", "verified", "source")
    list_display_links = ("year", "kind")
    list_filter = ("kind", "verified", "year")
    search_fields = ("region_code", "region_name", "source")
    search_help_text = "按地区代码、地区名称或来源搜索"
    actions = ("mark_verified",)
    fieldsets = (
        ("标准", {"fields": ("year", "kind", "amount")}),
        ("适用地区", {"fields": ("region_code", "region_name")}),
        ("来源与核实", {"fields": ("source", "verified")}),
    )

    @admin.action(description="将所选标准标记为已核实", permissions=["change"])
    def mark_verified(self, request, queryset) -> None:
        # Saved one by one (a handful of rows) so that each change is recorded with the user in the history.
        changed = 0
        for line in queryset.filter(verified=False):
            line.verified = True
            line._history_user = request.user
            line.save(update_fields=["verified"])
            changed += 1
        self.message_user(request, f"已将{changed}条标准标记为已核实。", messages.SUCCESS)
