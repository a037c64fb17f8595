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
        # SQLite: one connection kept for the writer thread. Taking one from the pool and giving it back (with the
        # pool's rollback) cost 11% of the writer's time; a server database keeps the pool, whose pre-ping finds a
        # connection the server dropped.
        self._keep = engine.dialect.name == "sqlite"
        self._connection: Any = None
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
        # Everything that needs no database is done before taking the turn: the turn is the processes' one lock.
        event_sql, event_params = self._insert_event
        events = [event_params({"account": account, "event_id": event_id, "ticket_id": ticket_id, "kind": kind,
                                "status": "pending", "attempts": 0, "received_at": now, "enqueued_at": now})
                  for account, event_id, ticket_id, kind in rows]
        steps = [{"account": account, "ticket_id": str(ticket_id), "step": "event_received", "at": now,
                  "detail": json.dumps({"event_id": event_id, "kind": kind})}
                 for account, event_id, ticket_id, kind in rows]
        driver_error = self._engine.dialect.loaded_dbapi.Error
        connection = self._connection
        try:
            if connection is None:
                connection = self._engine.raw_connection()
            with self._turns:
                cursor = connection.cursor()
                try:
                    ids = self._insert(cursor, event_sql, events, steps)
                finally:
                    cursor.close()  # a cursor left open on a failed statement keeps it (and its lock) alive
                if not commit(connection.commit):
                    connection.rollback()
                    raise Overdue("the requests of this batch gave up waiting: rolled back, not recorded")
            if self._keep and self._connection is None:
                self._connection, connection = connection, None
            return ids
        except driver_error as exc:
            if connection is not None:
                with contextlib.suppress(Exception):  # a connection that broke mid-batch may refuse this too
                    connection.rollback()
                if connection is self._connection:  # not reused after an error: the next batch opens a new one
                    self._connection = None
                with contextlib.suppress(Exception):
                    connection.close()
                connection = None
            raise DBAPIError.instance(None, None, exc, driver_error, dialect=self._engine.dialect) from exc
        finally:
            if connection is not None and connection is not self._connection:
                connection.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # at shutdown: nothing left to keep
                connection.close()

    def _insert(self, cursor: Any, event_sql: str, events: list[Any],
                steps: list[dict[str, Any]]) -> list[int | None]:
        ids: list[int | None] = []
        for params in events:
            cursor.execute(event_sql, params)
            found = cursor.fetchone()  # none when ON CONFLICT skipped it: a duplicate
            ids.append(int(found[0]) if found else None)
        step_sql, step_params = self._insert_step
        new_steps = [step_params({**step, "inbox_id": inbox_id})
                     for step, inbox_id in zip(steps, ids, strict=True) if inbox_id is not None]
        if new_steps:
            cursor.executemany(step_sql, new_steps)
        return ids


def _compiled(statement: Any, engine: Engine) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """The statement's SQL for this engine's driver, and how to turn named values into the driver's parameters."""
    compiled = statement.compile(dialect=engine.dialect)
    if engine.dialect.positional:
        order = compiled.positiontup
        return compiled.string, lambda values: tuple(values[name] for name in order)
    return compiled.string, lambda values: values
