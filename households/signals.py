"""The household file's own signals, for higher apps to receive (a lower app never imports a higher one).

``households_bulk_written``: sent after the commit of a bulk write that bypassed ``save()`` and its
``post_save`` signals (the Excel import), with the keyword arguments

- ``household_ids: list[int]``: the households written (created or updated), sorted;
- ``years: list[int]``: the years of the income records written, sorted.

``sender`` is ``households.models.Household``. The assessments app receives it to recompute
(``assessments.receivers``).

``households_registered``: sent inside the transaction that entered households into the register (a form, the
API, an import), with the keyword arguments

- ``household_ids: list[int]``: the new households;
- ``user``: who registered them (or None);
- ``source``: ``"form"``, ``"api"`` or ``"import"``;
- ``import_job_id``: the import job, for an import.

The procedures app receives it to record each household's ``registered`` decision (建档登记) in the decision log,
in the same transaction: a registration without its decision cannot be committed.
"""

from __future__ import annotations

from django.dispatch import Signal

households_bulk_written = Signal()
households_registered = Signal()
