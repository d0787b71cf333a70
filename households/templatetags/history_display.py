"""``{% readable_history as table %}``: the rows of a simple-history page as a clerk reads them (labels, dates,
"—", Chinese field names, people by name, personal numbers masked as the page's admin masks them); used by the
project's ``templates/simple_history/object_history_list.html``. The work is ``households.admin_history``'s."""

from __future__ import annotations

from django import template

from households.admin_history import HistoryTable, history_table

register = template.Library()


@register.simple_tag(takes_context=True)
def readable_history(context) -> HistoryTable:
    """The current page (``page_obj``) of the history of ``object`` (a model of ``opts``)."""
    return history_table(
        request=context["request"],
        model=context["opts"].model,
        records=context["page_obj"].object_list,
        obj=context.get("object"),
    )
