"""Group commit for the webhook inbox: the rows of requests arriving together are written in one transaction.

A 202 promises a durable row, so each inbox commit waits for the disk (SQLite synchronous=FULL: an fsync; on
PostgreSQL the WAL flush). One commit per request made the disk's flush time the ceiling on acks per second and
left requests queueing on the database's write lock (SQLite lets one writer in at a time; the busy handler's
sleeps were the 17-197 ms tail). Here one thread per process writes: it takes every row waiting, commits them
together, and then answers each request. Durability is unchanged (no request is answered before its row is
committed); the flush is shared.

The wait stays bounded as before (bounded.py): a request waits at most `timeout` seconds for its commit, and when
`max_waiting` rows are already queued (the database is stuck) a new one is refused at once: the caller answers 503
and the helpdesk sends it again. A 503 must mean "not recorded", so a row whose request gave up before its batch
began is taken out (its future is cancelled) rather than written later behind the caller's back; a row whose batch
is already writing waits for that one transaction's outcome (bounded by the driver's own lock wait) instead.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

from deskdraft.bounded import Overdue

Row = TypeVar("Row")


class GroupCommit(Generic[Row]):
    """`submit(row)` returns what `write_batch` returned for that row, or raises what it raised for it."""

    def __init__(self, write_batch: Callable[[Sequence[Row]], Sequence[Any]], timeout: float,
                 max_batch: int = 200, max_waiting: int = 1000, name: str = "group-commit") -> None:
        self.timeout = timeout
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._waiting: queue.Queue[tuple[Row, Future]] = queue.Queue(max_waiting)
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, row: Row) -> Any:
        done: Future = Future()
        try:
            self._waiting.put_nowait((row, done))
        except queue.Full:
            raise Overdue("the database is not keeping up: too many writes already waiting") from None
        try:
            return done.result(timeout=self.timeout)
        except FutureTimeout:
            if done.cancel():  # still queued: it will not be written, so the 503 the caller answers is true
                raise Overdue(f"no commit within {self.timeout * 1000:.0f} ms") from None
        try:  # its batch is writing: that transaction ends by the driver's lock wait, so its outcome is near
            return done.result(timeout=self.timeout)
        except FutureTimeout:
            # Only a server that stopped answering mid-transaction gets here: the row may still commit later, and
            # the helpdesk's retry is then a duplicate whose row the sweep enqueues.
            raise Overdue(f"no commit within {2 * self.timeout * 1000:.0f} ms") from None

    def _run(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            # From here a row is written or fails with its batch; a request that gave up before now is left out.
            batch = [(row, done) for row, done in batch if done.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                results = self._write_batch([row for row, _ in batch])
            except Exception as exc:  # the whole batch failed (database down): each request hears why
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    done.set_exception(result)
                else:
                    done.set_result(result)
