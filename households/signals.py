"""The household file's own signals, for higher apps to receive (a lower app never imports a higher one).

``households_bulk_written``: sent after the commit of a bulk write that bypassed ``save()`` and its
``post_save`` signals (the Excel import), with the keyword arguments

- ``household_ids: list[int]``: the households written (created or updated), sorted;
- ``years: list[int]``: the years of the income records written, sorted.

``sender`` is ``households.models.Household``. The assessments app receives it to recompute
(``assessments.receivers``).
"""

from __future__ import annotations

from django.dispatch import Signal

households_bulk_written = Signal()
