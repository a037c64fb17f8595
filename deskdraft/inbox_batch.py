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
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError

from deskdraft.bounded import Overdue

Row = tuple[str, str, str, str]  # account, event_id, ticket_id, kind
Statement = tuple[str, Callable[[dict[str, Any]], Any]]  # SQL for the driver, named values -> its parameters
Commit = Callable[[Callable[[], None]], bool]


def _always(do_commit: Callable[[], None]) -> bool:
    do_commit()
    return True
INBOX_FIELDS = ("account", "event_id", "ticket_id", "kind", "status", "attempts", "received_at", "enqueued_at")
AUDIT_FIELDS = ("account", "ticket_id", "inbox_id", "step", "at", "detail")


class InboxBatch:
    """`write(rows, now)`: each row's new inbox id, None for an (account, event_id) seen before (in an earlier batch
    or earlier in this one), or the DataError of a row the database refuses (the others still go in)."""

    def __init__(self, engine: Engine, inbox: Table, audit: Table) -> None:
        self._engine = engine
        # SQLite: one connection kept for the writer thread. Taking one from the pool and giving it back (with the
        # pool's rollback) cost 11% of the writer's time; a server database keeps the pool, whose pre-ping finds a
        # connection the server dropped.
        self._keep = engine.dialect.name == "sqlite"
        self._connection: Any = None
        self._busy_ms: int | None = None  # the kept connection's busy timeout, as last set
        self._inbox, self._audit = inbox, audit
        self._statements: dict[int, tuple[Statement, Statement]] = {}

    def write(self, rows: Sequence[Row], now: float, commit: Commit = _always,
              seconds_left: float | None = None) -> list[int | Exception | None]:
        """`commit(do_commit)` ends each transaction: False means the batch's requests gave up (group_commit.py),
        and the rows are rolled back. `seconds_left`: how long SQLite may wait for its write lock (its busy
        timeout; default the connection's own). PostgreSQL keeps its per-statement lock_timeout (state.py):
        setting one per batch would cost a round trip each."""
        try:
            return list(self._write(rows, now, commit, seconds_left))
        except DataError:
            if len(rows) == 1:
                raise
        results: list[int | Exception | None] = []
        for row in rows:  # one refused value: find it, keep the rest
            try:
                results.extend(self._write([row], now, commit, seconds_left))
            except DataError as exc:
                results.append(exc)
        return results

    def _write(self, rows: Sequence[Row], now: float, commit: Commit, seconds_left: float | None) -> list[int | None]:
        # Everything that needs no database is done before the first statement, which takes SQLite's write lock.
        new_events = self._statements_for(len(rows))[0]
        events = new_events[1]({f"{name}{n}": value for n, (account, event_id, ticket_id, kind) in enumerate(rows)
                                for name, value in (("account", account), ("event_id", event_id),
                                                    ("ticket_id", ticket_id), ("kind", kind), ("status", "pending"),
                                                    ("attempts", 0), ("received_at", now), ("enqueued_at", now))})
        steps = [{"account": account, "ticket_id": str(ticket_id), "step": "event_received", "at": now,
                  "detail": json.dumps({"event_id": event_id, "kind": kind})}
                 for account, event_id, ticket_id, kind in rows]
        driver_error = self._engine.dialect.loaded_dbapi.Error
        connection = self._connection
        try:
            if connection is None:
                connection = self._engine.raw_connection()
            cursor = connection.cursor()
            try:
                if self._keep and seconds_left is not None:
                    self._wait_at_most(cursor, seconds_left, fresh=connection is not self._connection)
                ids = self._insert(cursor, rows, new_events[0], events, steps)
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

    def _wait_at_most(self, cursor: Any, seconds: float, fresh: bool) -> None:
        """SQLite's busy timeout for this batch. Left alone when within 10 ms of the last one: nearly every batch
        begins within a few ms of its oldest row's arrival, so it is set only when rows did wait."""
        busy_ms = max(1, int(seconds * 1000))
        if fresh or self._busy_ms is None or abs(busy_ms - self._busy_ms) >= 10:
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            self._busy_ms = busy_ms

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # at shutdown: nothing left to keep
                connection.close()

    def _insert(self, cursor: Any, rows: Sequence[Row], event_sql: str, events: Any,
                steps: list[dict[str, Any]]) -> list[int | None]:
        """One INSERT for the batch's events and one for their audit steps. Statement by statement, each row cost
        three calls into SQLite, and on each return the writer waits for the GIL while holding the database's
        write lock, which every web process needs (benchmarks/ack.py)."""
        cursor.execute(event_sql, events)
        inserted = {(account, event_id): int(inbox_id) for inbox_id, account, event_id in cursor.fetchall()}
        ids: list[int | None] = []
        for account, event_id, _ticket_id, _kind in rows:
            ids.append(inserted.pop((account, event_id), None))  # absent: seen before, or earlier in this batch
        new_steps = [{**step, "inbox_id": inbox_id} for step, inbox_id in zip(steps, ids, strict=True)
                     if inbox_id is not None]
        if new_steps:
            step_sql, step_params = self._statements_for(len(new_steps))[1]
            cursor.execute(step_sql, step_params({f"{name}{n}": value for n, step in enumerate(new_steps)
                                                  for name, value in step.items()}))
        return ids

    def _statements_for(self, count: int) -> tuple[Statement, Statement]:
        """The inbox and audit INSERTs for `count` rows, compiled once for the engine's dialect (values named
        `<column><n>`)."""
        found = self._statements.get(count)
        if found is None:
            dialect_insert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
            events = dialect_insert(self._inbox).values(
                [{name: bindparam(f"{name}{n}") for name in INBOX_FIELDS} for n in range(count)]
            ).on_conflict_do_nothing(index_elements=["account", "event_id"]).returning(
                self._inbox.c.id, self._inbox.c.account, self._inbox.c.event_id)
            steps = insert(self._audit).values(
                [{name: bindparam(f"{name}{n}") for name in AUDIT_FIELDS} for n in range(count)])
            found = self._statements[count] = (_compiled(events, self._engine), _compiled(steps, self._engine))
        return found


def _compiled(statement: Any, engine: Engine) -> Statement:
    """The statement's SQL for this engine's driver, and how to turn named values into the driver's parameters."""
    compiled = statement.compile(dialect=engine.dialect)
    if engine.dialect.positional:
        order = compiled.positiontup
        return compiled.string, lambda values: tuple(values[name] for name in order)
    return compiled.string, lambda values: values
