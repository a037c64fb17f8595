"""Injected failures and slowness for the fake helpdesks: each matched to the next request whose path
contains a string (or any request), answered before auth as a real outage or rate limit would be."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    status: int
    wait: float | None  # seconds until a retry may succeed: Retry-After, or Intercom's reset window
    path_contains: str | None
    body: Any
    method: str | None = None  # only requests with this method (None: any)


@dataclass
class Delay:
    seconds: float
    path_contains: str | None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._delays: list[Delay] = []
        self._losses: list[Delay] = []  # (seconds unused) writes carried out, then answered 500

    def fail(self, status: int, times: int, wait: float | None, path_contains: str | None, body: Any,
             method: str | None = None) -> None:
        """A 429 always says when to come back (1 second unless given), as every vendor's does."""
        if status == 429 and wait is None:
            wait = 1
        with self._lock:
            self._faults.extend(Fault(status, wait, path_contains, body, method) for _ in range(times))

    def delay(self, seconds: float, path_contains: str | None, times: int) -> None:
        with self._lock:
            self._delays.extend(Delay(seconds, path_contains) for _ in range(times))

    def lose(self, path_contains: str | None, times: int) -> None:
        """The next `times` matching writes are carried out, then answered 500: the answer is lost, not the write."""
        with self._lock:
            self._losses.extend(Delay(0, path_contains) for _ in range(times))

    def lost(self, method: str, path: str) -> bool:
        """After handling: should this answer be replaced by a 500?"""
        return method != "GET" and self._take(self._losses, path) is not None

    def before(self, path: str, method: str | None = None) -> Fault | None:
        """Sleep a matching delay, then return the matching fault to answer with, if any."""
        delay = self._take(self._delays, path)
        if delay:
            time.sleep(delay.seconds)
        return self._take(self._faults, path, method)

    def _take(self, queue: list[Any], path: str, method: str | None = None) -> Any:
        with self._lock:
            for n, item in enumerate(queue):
                if getattr(item, "method", None) not in (None, method):
                    continue
                if item.path_contains is None or item.path_contains in path:
                    return queue.pop(n)
        return None
