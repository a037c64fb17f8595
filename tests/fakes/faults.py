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


@dataclass
class Delay:
    seconds: float
    path_contains: str | None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._delays: list[Delay] = []

    def fail(self, status: int, times: int, wait: float | None, path_contains: str | None, body: Any) -> None:
        """A 429 always says when to come back (1 second unless given), as every vendor's does."""
        if status == 429 and wait is None:
            wait = 1
        with self._lock:
            self._faults.extend(Fault(status, wait, path_contains, body) for _ in range(times))

    def delay(self, seconds: float, path_contains: str | None, times: int) -> None:
        with self._lock:
            self._delays.extend(Delay(seconds, path_contains) for _ in range(times))

    def before(self, path: str) -> Fault | None:
        """Sleep a matching delay, then return the matching fault to answer with, if any."""
        delay = self._take(self._delays, path)
        if delay:
            time.sleep(delay.seconds)
        return self._take(self._faults, path)

    def _take(self, queue: list[Any], path: str) -> Any:
        with self._lock:
            for n, item in enumerate(queue):
                if item.path_contains is None or item.path_contains in path:
                    return queue.pop(n)
        return None
