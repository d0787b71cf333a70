"""The procedures app's receivers of the household file's signals (``households.signals``).

``households_registered``: households entered into the register (a form, the API, an import) get their
``registered`` decision (建档登记) in the decision log, inside the same transaction.
"""

from __future__ import annotations

from django.dispatch import receiver

from households.signals import households_registered
from procedures.decisions import SOURCES_FROM_HOUSEHOLDS, record_registered


@receiver(households_registered, dispatch_uid="procedures.households_registered")
def register_decisions(sender, *, household_ids, user, source: str, import_job_id: int | None = None, **kwargs):
    record_registered(
        household_ids=household_ids, user=user, source=SOURCES_FROM_HOUSEHOLDS[source], import_job_id=import_job_id
    )
