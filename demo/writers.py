"""How the demo generator writes rows: ``OrmWriter`` (``bulk_create``, any database) and ``CopyWriter``
(PostgreSQL ``COPY``, several times faster), each with one "+" history row (django-simple-history) per row,
the demo admin as ``history_user`` and the change reason "演示数据生成"; ``default_writer_class`` picks one.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from django.db import connections, models, router

from households.models import Household
from households.pgcopy import COPY_ESCAPES, copy_text

DEMO_CHANGE_REASON = "演示数据生成"
BATCH_SIZE = 2500  # rows per INSERT statement (PostgreSQL allows 65,535 parameters: 25 columns × 2,500 fits)


class OrmWriter:
    """Any database: ``bulk_create`` the rows, then their history rows built directly (one "+" row each)."""

    def __init__(self, *, when: dt.datetime, user_id: int | None, batch_size: int = BATCH_SIZE) -> None:
        self.when = when
        self.user_id = user_id
        self.batch_size = batch_size
        self.history_rows = 0

    def insert(self, model: type[models.Model], rows: list[dict]) -> list[int]:
        objects = model._default_manager.bulk_create([model(**row) for row in rows], batch_size=self.batch_size)
        self.write_history(model, objects)
        return [obj.pk for obj in objects]

    def write_history(self, model: type[models.Model], objects: Sequence[models.Model]) -> None:
        history_model = model.history.model
        attnames = [f.attname for f in history_model.tracked_fields]
        history_model._default_manager.bulk_create(
            [
                history_model(
                    history_date=self.when,
                    history_user_id=self.user_id,
                    history_change_reason=DEMO_CHANGE_REASON,
                    history_type="+",
                    **{name: getattr(obj, name) for name in attnames},
                )
                for obj in objects
            ],
            batch_size=self.batch_size,
        )
        self.history_rows += len(objects)


class CopyWriter:
    """PostgreSQL: reserve primary keys from the table's sequence, then ``COPY`` the rows and their history
    rows. Same rows and history as ``OrmWriter``, several times faster (no model instances, no INSERT SQL)."""

    def __init__(self, *, when: dt.datetime, user_id: int | None, batch_size: int = BATCH_SIZE) -> None:
        self.when = when
        self.user_id = user_id
        self.history_rows = 0
        self._history_suffix = "\t".join(
            [
                when.isoformat(),
                DEMO_CHANGE_REASON.translate(COPY_ESCAPES),
                "+",
                "\\N" if user_id is None else str(user_id),
            ]
        )

    def insert(self, model: type[models.Model], rows: list[dict]) -> list[int]:
        if not rows:
            return []
        meta = model._meta
        connection = connections[router.db_for_write(model)]
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        converters = [copy_text(f) for f in fields]
        defaults = {}
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                defaults[f.attname] = self.when
            elif f.has_default():
                defaults[f.attname] = f.get_default()
        attnames = [f.attname for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            main, history = io.StringIO(), io.StringIO()
            suffix = self._history_suffix
            for pk, row in zip(ids, rows, strict=True):
                text = "\t".join(
                    convert(row[name] if name in row else defaults.get(name))
                    for name, convert in zip(attnames, converters, strict=True)
                )
                main.write(f"{pk}\t{text}\n")
                history.write(f"{pk}\t{text}\t{suffix}\n")
            columns = [meta.pk.column, *(f.column for f in fields)]
            history_table = model.history.model._meta.db_table
            history_columns = [*columns, "history_date", "history_change_reason", "history_type", "history_user_id"]
            for table, cols, buffer in ((meta.db_table, columns, main), (history_table, history_columns, history)):
                buffer.seek(0)
                quoted = ", ".join(connection.ops.quote_name(c) for c in cols)
                cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN", buffer)
        self.history_rows += len(rows)
        return ids


def default_writer_class() -> type[OrmWriter | CopyWriter]:
    """``COPY`` on PostgreSQL with psycopg2, ``bulk_create`` elsewhere."""
    connection = connections[router.db_for_write(Household)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if hasattr(cursor.cursor, "copy_expert"):
                return CopyWriter
    return OrmWriter
