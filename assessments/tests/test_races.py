"""A single recompute racing a batch page (issue 15, item 1), with two real connections on PostgreSQL: whoever
comes second waits for the first and reads the newest inputs, so the stored assessment is never left stale."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from assessments import services
from assessments.models import Assessment
from households.models import IncomeRecord
from testing.factories import HouseholdFactory, IncomeRecordFactory, MemberFactory

YEAR = 2020


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("migrated_data_restored")
def test_a_recompute_after_an_income_change_is_not_lost_behind_a_batch_page(require_services):
    if connection.vendor != "postgresql":
        require_services("two concurrent transactions need PostgreSQL")
    household = HouseholdFactory()
    MemberFactory(household=household)
    IncomeRecordFactory(household=household, year=YEAR, wage_income=Decimal("9000.00"), business_income=0)
    services.assess_households(household_ids=[household.pk], year=YEAR)
    # An earlier change the batch page will store: the page retires the current row and inserts its own.
    IncomeRecord.objects.filter(household=household, year=YEAR).update(wage_income=Decimal("9500.00"))
    page_done = threading.Event()
    errors: list[Exception] = []

    def batch_page() -> None:
        """A batch page: stores the 9,500 yuan result and holds its transaction a moment longer."""
        try:
            with transaction.atomic():
                services.assess_households(household_ids=[household.pk], year=YEAR)
                page_done.set()
                time.sleep(1.0)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def income_change_then_recompute() -> None:
        """The clerk's income change commits, then its on-commit recompute runs."""
        try:
            page_done.wait(5)
            IncomeRecord.objects.filter(household=household, year=YEAR).update(wage_income=Decimal("100.00"))
            services.assess_households(household_ids=[household.pk], year=YEAR)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=batch_page), threading.Thread(target=income_change_then_recompute)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    current = Assessment.objects.get(household=household, year=YEAR, is_current=True)
    assert current.per_capita_net_income < Decimal("1000")  # the newest income (100), not the page's (9,500)
    assert not current.income_passed
