"""The decision log of the demo registry (DOMAIN.md §5 "Decisions"). The demo households stand for a register
migrated from an existing file, so each gets its ``registered`` decision (建档登记) and each exited household its
``exited`` decision (脱贫退出, in its exit year), both marked ``{"migrated": true}``.

``migrated_decisions`` builds the unsaved rows of one chunk of households, grouped by county; the generator
appends them with ``procedures.decisions.append_decisions``, one call per county and chunk (bulk, hash-chained,
under the county's lock). Never ``decide()`` per household: it would re-save every household one by one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from households.choices import HouseholdStatus
from procedures.choices import DecisionKind, DecisionSource
from procedures.decisions import append_decisions
from procedures.models import Decision

MIGRATED = {"migrated": True}


def migrated_decisions(
    households: Iterable[tuple[int, dict]],
    *,
    county_of_village: dict[int, int],
    decided_by_id: int | None,
    decided_at: dt.datetime,
) -> dict[int, list[Decision]]:
    """The decisions of ``households`` ((id, field dict) pairs, as written), by county id, in household order.

    An exited household is registered as in poverty, then exited in its exit year, so that its latest decision
    gives its status and years; every other household is registered with its status and years as filed."""
    by_county: dict[int, list[Decision]] = defaultdict(list)
    for household_id, fields in households:
        county_id = county_of_village[fields["village_id"]]
        status, identified_year, exit_year = fields["status"], fields["identified_year"], fields["exit_year"]
        exited = status == HouseholdStatus.EXITED
        common = {"household_id": household_id, "identified_year": identified_year, "decided_by_id": decided_by_id}
        by_county[county_id].append(
            Decision(
                kind=DecisionKind.REGISTERED,
                year=identified_year,
                status=HouseholdStatus.IN_POVERTY if exited else status,
                exit_year=None if exited else exit_year,
                source=DecisionSource.IMPORT,
                decided_at=decided_at,
                content=dict(MIGRATED),
                **common,
            )
        )
        if exited:
            by_county[county_id].append(
                Decision(
                    kind=DecisionKind.EXITED,
                    year=exit_year,
                    status=status,
                    exit_year=exit_year,
                    source=DecisionSource.PROCEDURE,
                    decided_at=decided_at,
                    content=dict(MIGRATED),
                    **common,
                )
            )
    return by_county


def append_migrated(by_county: dict[int, list[Decision]]) -> int:
    """Append the decisions county by county (always the same lock order); the number written."""
    return sum(len(append_decisions(county_id, by_county[county_id])) for county_id in sorted(by_county))
