"""What follows the writing of the demo registry (``demo.generator.generate``) and the demo roles: the assessments
of every demo year, the demo village's applications (``demo.procedures.run_demo_procedures``) and, once, the daily
jobs' alerts and decision check (``raise_alerts``). ``manage.py generate_demo_data`` runs it after committing the
registry; the tests run it the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from assessments.selectors import keyset_pages
from assessments.services import assess_households
from demo.procedures import ProceduresResult, raise_alerts, run_demo_procedures


@dataclass(frozen=True)
class Finished:
    assess_seconds: float | None  # None: not assessed (--no-assess)
    procedures: ProceduresResult
    alerts: dict


def assess_years(years: Sequence[int]) -> float:
    """Assess every household for each of ``years`` (the batch path, keyset pages); the seconds it took."""
    started = time.perf_counter()
    for year in years:
        for page in keyset_pages(year=year):
            assess_households(household_ids=page, year=year)
    return time.perf_counter() - started


def finish_demo(*, years: Sequence[int], assess: bool = True) -> Finished:
    """Assess (unless ``assess`` is false: the demo village's scripted households are assessed anyway), run the
    demo village's applications for the latest of ``years``, then the daily jobs once."""
    seconds = assess_years(years) if assess else None
    procedures = run_demo_procedures(year=max(years))
    return Finished(assess_seconds=seconds, procedures=procedures, alerts=raise_alerts())
