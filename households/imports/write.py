"""Writing an import's plan (``validate.Plan``): bulk statements with their history rows, in batches.

On PostgreSQL new rows and all history rows go through ``COPY`` and updates through one
``UPDATE … FROM (VALUES …)`` per batch; elsewhere (SQLite) django-simple-history's bulk helpers. Figures in
README.md ("Excel import and export"). The caller holds the transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connections, models, router
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from households.choices import Relation
from households.imports.read import chunks
from households.imports.validate import Plan
from households.models import Household, IncomeRecord, Member
from households.pgcopy import COPY_ESCAPES, copy_text

# Rows per write statement (COPY, UPDATE … FROM (VALUES …), or the ORM's bulk statements) and per batch of
# history rows built in memory: 2,000 members × 21 values stay under PostgreSQL's 65,535 parameters. With it
# the commit of 20,000 households writes in about 8 s of its 27 s (bench_import, README).
WRITE_BATCH = 2000


@dataclass
class Written:
    """What a commit wrote."""

    households_created: int = 0
    households_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    incomes_created: int = 0
    incomes_updated: int = 0
    household_ids: list[int] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)  # the households entered into the register
    years: set[int] = field(default_factory=set)  # the years of the incomes written


def write_plan(plan: Plan, *, user, reason: str) -> Written:
    """Write the plan, every row with its history row by ``user`` and ``reason``. Call inside a transaction."""
    now = timezone.now()
    households = list(plan.households.values())
    new = [h for h in households if h.pk is None]
    old = [h for h in households if h.pk is not None]
    for household in old:
        household.updated_at = now
    households_writer = _Writer(Household, user, reason, now)
    households_writer.update(old, [*_editable(Household, plan.fields["household"] | {"village"}), "updated_at"])
    households_writer.create(new)  # sets their primary keys (COPY: from the sequence; ORM: PostgreSQL, SQLite ≥ 3.35)

    for member in plan.members:
        member.household_id = member.household.pk
    updates = [m for m in plan.members if m.pk is not None]
    creates = [m for m in plan.members if m.pk is None]
    member_fields = [*_editable(Member, plan.fields["member"]), "gender", "birth_date"]
    members = _Writer(Member, user, reason, now)
    # The database allows one active head per household and one active member per ID number after every
    # statement: departures first, then the other members, then the heads; new members last.
    for group in (
        [m for m in updates if not m.is_active],
        [m for m in updates if m.is_active and m.relation != Relation.HEAD],
        [m for m in updates if m.is_active and m.relation == Relation.HEAD],
    ):
        members.update(group, member_fields)
    members.create(creates)

    for record in plan.incomes:
        record.household_id = record.household.pk
    income_updates = [r for r in plan.incomes if r.pk is not None]
    income_creates = [r for r in plan.incomes if r.pk is None]
    incomes = _Writer(IncomeRecord, user, reason, now)
    incomes.update(income_updates, _editable(IncomeRecord, plan.fields["income"] - {"year"}))
    incomes.create(income_creates)

    return Written(
        households_created=len(new),
        households_updated=len(old),
        members_created=len(creates),
        members_updated=len(updates),
        incomes_created=len(income_creates),
        incomes_updated=len(income_updates),
        household_ids=sorted(h.pk for h in households),
        created_ids=sorted(h.pk for h in new),
        years={r.year for r in plan.incomes},
    )


def _editable(model, names: set[str]) -> list[str]:
    allowed = {f.name for f in model._meta.concrete_fields if not f.primary_key}
    return sorted(n for n in names if n in allowed)


def _copy_supported(connection) -> bool:
    """PostgreSQL through psycopg2 (``COPY … FROM STDIN``); anything else writes through the ORM."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")


class _Writer:
    """Bulk writes of one commit, each row with its history row (django-simple-history's table) naming the
    user and the reason. On PostgreSQL new rows and all history rows go through ``COPY`` and updates through
    one ``UPDATE … FROM (VALUES …)`` per batch: the ORM's ``bulk_create`` spends most of its time preparing
    values one by one, and ``bulk_update`` writes a ``CASE`` per field that PostgreSQL evaluates against every
    row of the batch (20 s for 2,000 households). Elsewhere (SQLite) django-simple-history's bulk helpers."""

    def __init__(self, model: type[models.Model], user, reason: str, when) -> None:
        self.model, self.user, self.reason, self.when = model, user, reason, when
        self.connection = connections[router.db_for_write(model)]
        self.copy = _copy_supported(self.connection)
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.texts = [(f.attname, copy_text(f)) for f in self.fields]

    def create(self, objs: list) -> None:
        for batch in chunks(objs, WRITE_BATCH):
            if not self.copy:
                bulk_create_with_history(
                    batch, self.model, batch_size=WRITE_BATCH, default_user=self.user, default_change_reason=self.reason
                )
                continue
            meta = self.model._meta
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(batch)],
                )
                for obj, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                    obj.pk = pk
            for model_field in self.fields:  # what Model.save() would set
                if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                    for obj in batch:
                        setattr(obj, model_field.attname, self.when)
            self._copy(meta.db_table, [meta.pk.column, *(f.column for f in self.fields)], self._lines(batch))
            self._history(batch, "+")

    def update(self, objs: list, names: list[str]) -> None:
        for batch in chunks(objs, WRITE_BATCH):
            if not self.copy or not names:
                bulk_update_with_history(
                    batch,
                    self.model,
                    names,
                    batch_size=WRITE_BATCH,
                    default_user=self.user,
                    default_change_reason=self.reason,
                )
                continue
            self._update_from_values(batch, names)
            self._history(batch, "~")

    def _lines(self, objs: list, suffix: str = "") -> Iterator[str]:
        texts = self.texts
        for obj in objs:
            yield f"{obj.pk}\t" + "\t".join(text(getattr(obj, attname)) for attname, text in texts) + suffix + "\n"

    def _history(self, objs: list, kind: str) -> None:
        user_id = "\\N" if self.user is None or self.user.pk is None else str(self.user.pk)
        suffix = "\t" + "\t".join([self.when.isoformat(), self.reason.translate(COPY_ESCAPES), kind, user_id])
        meta = self.model._meta
        columns = [meta.pk.column, *(f.column for f in self.fields)]
        columns += ["history_date", "history_change_reason", "history_type", "history_user_id"]
        self._copy(self.model.history.model._meta.db_table, columns, self._lines(objs, suffix))

    def _copy(self, table: str, columns: list[str], lines: Iterable[str]) -> None:
        quote = self.connection.ops.quote_name
        buffer = io.StringIO("".join(lines))
        with self.connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN", buffer
            )

    def _update_from_values(self, objs: list, names: list[str]) -> None:
        """``UPDATE t SET f = v.f … FROM (VALUES …) AS v(id, f, …) WHERE t.id = v.id``."""
        connection, meta = self.connection, self.model._meta
        fields = [meta.get_field(name) for name in names]
        quote = connection.ops.quote_name
        casts = [f"%s::{meta.pk.db_type(connection)}", *(f"%s::{f.db_type(connection)}" for f in fields)]
        row = "(" + ", ".join(casts) + ")"
        params: list = []
        for obj in objs:
            params.append(obj.pk)
            params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)
        columns = ", ".join(quote(c) for c in ["id", *(f.column for f in fields)])
        assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
        table = quote(meta.db_table)
        sql = (
            f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(objs))}) AS v({columns}) "
            f"WHERE {table}.{quote(meta.pk.column)} = v.{quote('id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
