"""Turns on a SQLite file's write lock for the web processes' inbox writers, handed over the moment it is free.

SQLite lets one connection write at a time. A connection that finds the file locked waits in SQLite's busy
handler, which sleeps 1, 2, 5, 10... ms between tries and so wakes up long after the lock was freed. With two
gunicorn workers each committing batches of webhooks, each writer spent most of its time in those sleeps: 4.6-7 ms
a batch waiting to insert against 1.2 ms committing, and the web processes together acked 817 webhooks/s
(benchmarks/ack.py). A blocking `flock` on a file beside the database queues them in the kernel instead, which
wakes the next writer as the lock is released: 1,150/s on the same machine, same run.

Only the inbox writers take turns here; other writers (the worker's bookkeeping) still meet SQLite's own lock and
its busy timeout, as before. Not the `filelock` package: it polls (sleeps between non-blocking tries), which is the
very wait this removes. POSIX only, as gunicorn is.
"""
from __future__ import annotations

import fcntl
import os
import threading
from types import TracebackType


class WriterTurns:
    """`with turns:` holds the exclusive turn of every process that opened the same path.

    The lock belongs to this object's open file: opened after the fork, in the process that writes (a lock on a
    descriptor shared across a fork would be shared too). The kernel frees it when the process dies, so a killed
    web worker never leaves the others waiting."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._threads = threading.Lock()  # flock does not exclude threads sharing the file: this does

    def __enter__(self) -> WriterTurns:
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks in the kernel, without the GIL
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        os.close(self._fd)
