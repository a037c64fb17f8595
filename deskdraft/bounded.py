"""Calls that may block on another machine (broker, database), run so the caller waits at most a set time.

Socket timeouts do not cover everything: a stopped server process still completes TCP handshakes and ACKs what we
send (its kernel does), then never answers. So the wait itself is bounded: the call runs on one of a few threads,
and the caller gives up after `timeout` seconds while the thread finishes (or fails) on its own. When every thread
is already stuck, new calls are refused at once instead of piling up in memory.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")


class Overdue(RuntimeError):
    """The call did not finish in time (it may still finish later), or no thread was free to run it."""


class BoundedCalls:
    def __init__(self, timeout: float, threads: int = 4, name: str = "bounded") -> None:
        self.timeout = timeout
        self._free = threading.BoundedSemaphore(threads)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args), waiting at most `timeout` seconds for it."""
        try:
            return self.start(fn, *args).result(timeout=self.timeout)
        except FutureTimeout:
            raise Overdue(f"no answer within {self.timeout * 1000:.0f} ms") from None

    def start(self, fn: Callable[..., T], *args: Any) -> Future:
        """fn(*args) on a free thread, without waiting; Overdue when every thread is busy."""
        if not self._free.acquire(blocking=False):
            raise Overdue("every thread is still waiting on an earlier call")
        return self._pool.submit(self._call, fn, *args)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        finally:
            self._free.release()
