"""Turns at the SQLite write lock for the web processes' inbox writers, taken in a queue instead of by polling.

SQLite lets one writer in at a time, and a writer that finds the lock taken sleeps in its busy handler (1, 2, 5,
10, 15, 20, 25 ... ms) and looks again. With two gunicorn workers each committing batches back to back, the one
that just committed usually takes the lock again before the sleeper looks: its requests starved until they were
answered 503 (7 of 2,500 in a 16-in-flight run, benchmarks/ack.py), and the sleeps themselves left the disk idle.
An exclusive flock on a file beside the database is a queue kept by the kernel: the waiting process is woken the
moment the lock is released.

Only the web processes take turns here; the worker's writes still meet the inbox writers at SQLite's own lock. The
wait is not bounded here: a request is bounded by its group commit (it gives up and is answered 503), and a writer
process that dies releases its turn with its file descriptors.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext


class WriterTurns:
    """`with turns.turn():` around a write transaction; does nothing without a path (servers such as PostgreSQL
    queue their writers themselves)."""

    def __init__(self, path: str | None) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path else None

    def turn(self) -> AbstractContextManager[None]:
        return self._held() if self._fd is not None else nullcontext()

    @contextmanager
    def _held(self) -> Iterator[None]:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
