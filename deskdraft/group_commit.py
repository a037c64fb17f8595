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
is already writing marks the batch abandoned: it is rolled back instead of committed (Verdict), however long the
database's own lock wait really lasted (SQLite's busy timeout counts its sleeps, not the clock, and overshoots on
a loaded machine).
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


class Verdict:
    """Whether one batch commits, decided once under a lock by whichever comes first: the writer about to commit,
    or one of its requests giving up. So a request answered 503 can never find its row committed afterwards."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "open"  # open | committed | abandoned

    def commit(self, do_commit: Callable[[], None]) -> bool:
        """Run `do_commit` unless a request already gave up (then False: the caller rolls back)."""
        with self._lock:
            if self._state == "abandoned":
                return False
            do_commit()
            self._state = "committed"
            return True

    def give_up(self) -> bool:
        """False when the batch already committed: the request then takes its result instead."""
        with self._lock:
            if self._state == "committed":
                return False
            self._state = "abandoned"
            return True


WriteBatch = Callable[[Sequence[Row], Callable[[Callable[[], None]], bool]], Sequence[Any]]


class GroupCommit(Generic[Row]):
    """`submit(row)` returns what `write_batch` returned for that row, or raises what it raised for it.

    `write_batch(rows, commit)` writes the rows in one transaction and calls `commit(do_commit)` to end it: that
    runs `do_commit` and returns True, or returns False when a request of the batch has given up (roll back then).
    """

    def __init__(self, write_batch: WriteBatch, timeout: float,
                 max_batch: int = 200, max_waiting: int = 1000, name: str = "group-commit") -> None:
        self.timeout = timeout
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._waiting: queue.Queue[tuple[Row, Future, list[Verdict]]] = queue.Queue(max_waiting)
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, row: Row) -> Any:
        done: Future = Future()
        verdict: list[Verdict] = []  # the writer puts its batch's verdict here when it takes the row
        try:
            self._waiting.put_nowait((row, done, verdict))
        except queue.Full:
            raise Overdue("the database is not keeping up: too many writes already waiting") from None
        try:
            return done.result(timeout=self.timeout)
        except FutureTimeout:
            if done.cancel() or verdict[0].give_up():  # not taken yet, or taken and now not to be committed
                raise Overdue(f"no commit within {self.timeout * 1000:.0f} ms: not recorded") from None
        # The batch committed just now: its results are being handed out.
        return done.result(timeout=self.timeout)

    def _run(self) -> None:
        while True:
            taken = [self._waiting.get()]
            while len(taken) < self._max_batch:
                try:
                    taken.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            # From here a row is written or fails with its batch; a request that gave up before now is left out.
            verdict = Verdict()
            batch = []
            for row, done, slot in taken:
                slot.append(verdict)
                if done.set_running_or_notify_cancel():
                    batch.append((row, done))
            if not batch:
                continue
            try:
                results = self._write_batch([row for row, _ in batch], verdict.commit)
            except Exception as exc:  # the whole batch failed (database down): each request hears why
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    done.set_exception(result)
                else:
                    done.set_result(result)
