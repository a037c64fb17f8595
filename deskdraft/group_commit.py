"""Group commit for the webhook inbox: the rows of requests arriving together are written in one transaction.

A 202 promises a durable row, so each inbox commit waits for the disk (SQLite synchronous=FULL: an fsync; on
PostgreSQL the WAL flush). One commit per request made the disk's flush time the ceiling on acks per second and
left requests queueing on the database's write lock (SQLite lets one writer in at a time; the busy handler's
sleeps were the 17-197 ms tail). Here one thread per process writes: it takes every row waiting, commits them
together, and then answers each request. Durability is unchanged (no request is answered before its row is
committed); the flush is shared.

Each row has a budget: the database may make it wait `budget` seconds from its arrival, no more. The writer hands
a batch the time its oldest row has left (SQLite's busy timeout is set from it, inbox_batch.py) and answers a row
whose budget went on waiting (for an earlier batch, or for the writer's turn) without trying. Before, a fixed
1 s busy timeout per batch let a row wait out the batch before its own and then its own: with the database locked
from outside, every request ran to the 2 s backstop below, and a loaded CI machine added the rest (2.51 s).

The wait stays bounded as before (bounded.py): a request waits at most `timeout` seconds for its commit, and when
`max_waiting` rows are already queued (the database is stuck) a new one is refused at once: the caller answers 503
and the helpdesk sends it again. A 503 must mean "not recorded", so a row whose request gave up before its batch
began is taken out (cancelled) rather than written later behind the caller's back; a row whose batch
is already writing marks the batch abandoned: it is rolled back instead of committed (Verdict), however long the
database's own lock wait really lasted (SQLite's busy timeout counts its sleeps, not the clock, and overshoots on
a loaded machine).
"""
from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from deskdraft.bounded import Overdue, with_waiting

Row = TypeVar("Row")
log = logging.getLogger(__name__)


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


WriteBatch = Callable[[Sequence[Row], Callable[[Callable[[], None]], bool], float], Sequence[Any]]

WAITING, TAKEN, CANCELLED = "waiting", "taken", "cancelled"


class _Slot:
    """One request's row and, once written, its outcome. `done` is held until the writer has set the outcome.

    Not a concurrent.futures.Future: its Condition cost the writer 17% of its GIL time in notify() alone (py-spy,
    benchmarks/ack.py), and the writer is the one thread every webhook of the process waits on."""

    __slots__ = ("deadline", "done", "error", "result", "row", "state", "then", "verdict")

    def __init__(self, row: Any, deadline: float, then: Callable[[Any], None] | None) -> None:
        self.row = row
        self.then = then
        self.deadline = deadline  # time.monotonic() past which the database must not keep this row waiting
        self.done = threading.Lock()
        self.done.acquire()
        self.state = WAITING  # changed under GroupCommit._states only
        self.verdict: Verdict | None = None
        self.result: Any = None
        self.error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit(Generic[Row]):
    """`submit(row)` returns what `write_batch` returned for that row, or raises what it raised for it.

    `write_batch(rows, commit, seconds_left)` writes the rows in one transaction, waiting on the database for at
    most `seconds_left`, and calls `commit(do_commit)` to end it: that runs `do_commit` and returns True, or
    returns False when a request of the batch has given up (roll back then).
    """

    def __init__(self, write_batch: WriteBatch, timeout: float, max_batch: int = 200, max_waiting: int = 1000,
                 name: str = "group-commit", turns: AbstractContextManager[Any] | None = None,
                 budget: float | None = None) -> None:
        """`turns`: held around each batch, from taking its rows to the commit (writer_turns.py): the rows that
        arrive while the writer waits for its turn go in the same batch. `budget`: how long the database may keep
        a row waiting, from its arrival (default `timeout`); `timeout` stays the request's backstop."""
        self.timeout = timeout
        self._budget = timeout if budget is None else budget
        self._turns = turns or contextlib.nullcontext()
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        self._waiting: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        self._states = threading.Lock()  # a slot is taken by the writer or cancelled by its request, never both
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, row: Row, then: Callable[[Any], None] | None = None) -> Any:
        """`then(result)`, when given, runs on the writer's thread once the row is committed, before this returns:
        what each row of a batch hands on (the web process: its id to the publisher) is handed on together, while
        the requests are still asleep (see _answer). It must be quick, must not block, and should not raise (if it
        does, the error is logged and the row's result stands: the row is committed)."""
        if self._waiting.qsize() >= self._max_waiting:
            raise Overdue("the database is not keeping up: too many writes already waiting")
        slot = _Slot(row, time.monotonic() + self._budget, then)
        self._waiting.put(slot)
        if slot.done.acquire(timeout=self.timeout):
            return slot.outcome()
        with self._states:
            if slot.state == WAITING:  # not taken yet: it never will be
                slot.state = CANCELLED
            if slot.state == CANCELLED:  # by this request just now, or by the writer (its budget was spent)
                raise Overdue(f"no commit within {self.timeout * 1000:.0f} ms: not recorded")
        assert slot.verdict is not None  # set with TAKEN, under the same lock
        if slot.verdict.give_up():  # taken, and now its batch will not be committed
            raise Overdue(f"no commit within {self.timeout * 1000:.0f} ms: not recorded")
        # The batch committed just now: its results are being handed out.
        if not slot.done.acquire(timeout=self.timeout):
            raise Overdue("committed, but the writer did not hand out the result")
        return slot.outcome()

    def _run(self) -> None:
        while True:
            first = self._waiting.get()
            written: tuple[list[_Slot], Sequence[Any]] | None = None
            try:
                with self._turns:
                    written = self._write_taken(first)
            except Exception as exc:
                if written is None:  # the turn itself failed (its lock file): this row's request hears why
                    with self._states:
                        if first.state != WAITING:
                            continue
                        first.state, first.error = CANCELLED, exc
                    first.done.release()
                    continue
                log.error("group commit: giving back the writer's turn failed (%s); the batch stands", exc)
            if written is not None:
                # After the turn is given back: the other web process's writer starts its batch meanwhile.
                self._answer(*written)

    def _write_taken(self, first: _Slot) -> tuple[list[_Slot], Sequence[Any]] | None:
        """The batch written and each row's result (or exception), to answer; None when no row was left to write."""
        # Taken only now, with the turn held: with two web processes each writer waits about as long for its turn
        # as it holds it, and the rows that came meanwhile would otherwise each wait for one more turn.
        taken = with_waiting(first, self._waiting, self._max_batch)
        # From here a row is written or fails with its batch; a request that gave up before now is left out.
        verdict = Verdict()
        batch, spent = [], []
        with self._states:
            now = time.monotonic()
            for slot in taken:
                if slot.state != WAITING:
                    continue
                if slot.deadline <= now:  # its budget went on waiting (an earlier batch, the turn): not tried
                    slot.state = CANCELLED
                    spent.append(slot)
                else:
                    slot.state, slot.verdict = TAKEN, verdict
                    batch.append(slot)
        for slot in spent:
            slot.error = Overdue(f"no commit within {self._budget * 1000:.0f} ms: not recorded")
            slot.done.release()
        if not batch:
            return None
        seconds_left = min(slot.deadline for slot in batch) - now
        try:
            results: Sequence[Any] = self._write_batch([slot.row for slot in batch], verdict.commit, seconds_left)
        except Exception as exc:  # the whole batch failed (database down): each request hears why
            results = [exc] * len(batch)
        return batch, results

    @staticmethod
    def _answer(batch: list[_Slot], results: Sequence[Any]) -> None:
        # Every `then` before the first request wakes: a woken request thread takes the GIL from the writer, and
        # ids handed on in between reach the publisher a few at a time, each time waking it for one more broker
        # write. When each request handed on its own id, a broker message file held 2.7 webhooks at 16 in flight;
        # handed on here, 3.9 (benchmarks/ack.py's load).
        for slot, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                slot.error = result
                continue
            slot.result = result
            if slot.then is not None:
                try:
                    slot.then(result)
                except Exception:
                    log.exception("group commit: the step after a committed row failed; the row stays committed")
        for slot in batch:
            slot.done.release()
