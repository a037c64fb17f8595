"""The web process's inbox write: a batch of accepted webhooks, each with its first audit step, in one transaction.

This is the one write on the webhook's path, run once per group commit (group_commit.py), so it is written for
CPU: the two statements are built from the table definitions once, compiled for the engine's dialect, and run on
the driver's cursor. Going through SQLAlchemy's execution layer for every batch (connection and transaction
objects, cache-key lookup, result wrapping) cost 0.64 ms of CPU for a batch of one against 0.31 ms here, and most
batches are one row (benchmarks/ack.py). Driver errors are turned into SQLAlchemy's exception classes, so callers
see the same errors as everywhere else in State.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError

from deskdraft.bounded import Overdue

Row = tuple[str, str, str, str]  # account, event_id, ticket_id, kind
Commit = Callable[[Callable[[], None]], bool]


def _always(do_commit: Callable[[], None]) -> bool:
    do_commit()
    return True
INBOX_FIELDS = ("account", "event_id", "ticket_id", "kind", "status", "attempts", "received_at", "enqueued_at")
AUDIT_FIELDS = ("account", "ticket_id", "inbox_id", "step", "at", "detail")


class InboxBatch:
    """`write(rows, now)`: each row's new inbox id, None for an (account, event_id) seen before (in an earlier batch
    or earlier in this one), or the DataError of a row the database refuses (the others still go in)."""

    def __init__(self, engine: Engine, inbox: Table, audit: Table,
                 turns: AbstractContextManager[Any] | None = None) -> None:
        """`turns` is held from the first statement to the commit: SQLite's write lock, taken in turn with the
        other web processes (writer_turns.py)."""
        self._engine = engine
        self._turns = turns or contextlib.nullcontext()
        dialect_insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
        new_event = dialect_insert(inbox).values({name: bindparam(name) for name in INBOX_FIELDS}) \
            .on_conflict_do_nothing(index_elements=["account", "event_id"]).returning(inbox.c.id)
        self._insert_event = _compiled(new_event, engine)
        self._insert_step = _compiled(insert(audit).values({name: bindparam(name) for name in AUDIT_FIELDS}), engine)

    def write(self, rows: Sequence[Row], now: float, commit: Commit = _always) -> list[int | Exception | None]:
        """`commit(do_commit)` ends each transaction: False means the batch's requests gave up (group_commit.py),
        and the rows are rolled back."""
        try:
            return list(self._write(rows, now, commit))
        except DataError:
            if len(rows) == 1:
                raise
        results: list[int | Exception | None] = []
        for row in rows:  # one refused value: find it, keep the rest
            try:
                results.extend(self._write([row], now, commit))
            except DataError as exc:
                results.append(exc)
        return results

    def _write(self, rows: Sequence[Row], now: float, commit: Commit) -> list[int | None]:
        driver_error = self._engine.dialect.loaded_dbapi.Error
        try:
            connection = self._engine.raw_connection()
        except driver_error as exc:  # the database cannot be opened or reached
            raise DBAPIError.instance(None, None, exc, driver_error, dialect=self._engine.dialect) from exc
        try:
            with self._turns:
                cursor = connection.cursor()
                try:
                    ids = self._insert(cursor, rows, now)
                finally:
                    cursor.close()  # a cursor left open on a failed statement keeps it (and its lock) alive
                if not commit(connection.commit):
                    connection.rollback()
                    raise Overdue("the requests of this batch gave up waiting: rolled back, not recorded")
            return ids
        except driver_error as exc:
            with contextlib.suppress(Exception):  # a connection that broke mid-batch may refuse this too
                connection.rollback()
            raise DBAPIError.instance(None, None, exc, driver_error, dialect=self._engine.dialect) from exc
        finally:
            connection.close()

    def _insert(self, cursor: Any, rows: Sequence[Row], now: float) -> list[int | None]:
        sql, params = self._insert_event
        ids: list[int | None] = []
        for account, event_id, ticket_id, kind in rows:
            cursor.execute(sql, params({"account": account, "event_id": event_id, "ticket_id": ticket_id,
                                        "kind": kind, "status": "pending", "attempts": 0, "received_at": now,
                                        "enqueued_at": now}))
            found = cursor.fetchone()  # none when ON CONFLICT skipped it: a duplicate
            ids.append(int(found[0]) if found else None)
        step_sql, step_params = self._insert_step
        steps = [step_params({"account": account, "ticket_id": str(ticket_id), "inbox_id": inbox_id,
                              "step": "event_received", "at": now,
                              "detail": json.dumps({"event_id": event_id, "kind": kind})})
                 for (account, event_id, ticket_id, kind), inbox_id in zip(rows, ids, strict=True)
                 if inbox_id is not None]
        if steps:
            cursor.executemany(step_sql, steps)
        return ids


def _compiled(statement: Any, engine: Engine) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """The statement's SQL for this engine's driver, and how to turn named values into the driver's parameters."""
    compiled = statement.compile(dialect=engine.dialect)
    if engine.dialect.positional:
        order = compiled.positiontup
        return compiled.string, lambda values: tuple(values[name] for name in order)
    return compiled.string, lambda values: values
