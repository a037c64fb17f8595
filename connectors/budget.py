"""Helpdesk request budgets (`helpdesks.<account>.requests_per_minute`): every request, retries included, waits for
a slot.

- `LocalBudget`, the embedded default: one process, slots spaced evenly, nothing to run.
- `SharedBudget`: every process and host that uses the same Redis spends one budget, a moving window of
  `per_minute` requests in any 60 s (the `limits` library's Redis storage: an atomic Lua script per hit). Four
  workers with local budgets would spend four times the plan's limit and get the account throttled (429s on the
  helpdesk's side, and Freshdesk postpones its webhooks too).

The shared store is `queue.budget_url`, or the broker itself when the broker is Redis (shared_store_url).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from connectors.http import TransientHelpdeskError

REDIS_SCHEMES = ("redis://", "rediss://")
MIN_POLL_SECONDS = 0.02


class LocalBudget:
    """At most `per_minute` requests a minute from this process, spaced evenly; thread-safe, sleeps outside the lock.

    Each caller reserves the next free slot, so concurrent workers queue instead of bursting.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 60.0 / per_minute
        self._clock, self._sleep = clock, sleep
        self._next_slot = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for this request's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)


class SharedBudget:
    """At most `per_minute` requests in any minute across every process using `storage_url` and `key`."""

    def __init__(self, per_minute: int, storage_url: str, key: str, max_wait_seconds: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from limits import RateLimitItemPerMinute, storage, strategies  # imported where budgets are shared only

        self.item = RateLimitItemPerMinute(per_minute, namespace="deskdraft-budget")
        self.limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_url))
        self.key = key
        self.max_wait = max_wait_seconds
        self._sleep = sleep

    def acquire(self) -> float:
        """Wait for a free slot in the shared window; returns the seconds waited. A budget store that cannot be
        reached, or a wait past max_wait_seconds, is a transient error: the job retries later, nothing is sent."""
        started = time.monotonic()
        while True:
            try:
                if self.limiter.hit(self.item, self.key):
                    return time.monotonic() - started
                reset_at = self.limiter.get_window_stats(self.item, self.key).reset_time
            except Exception as exc:  # redis-py's ConnectionError, TimeoutError, ...: the store is away
                raise TransientHelpdeskError(f"request budget store unreachable: {type(exc).__name__}") from exc
            waited = time.monotonic() - started
            if waited > self.max_wait:
                raise TransientHelpdeskError(f"request budget {self.item} exhausted for {waited:.0f} s",
                                             retry_after=90.0)  # past http.MAX_RETRY_AFTER: the task retries
            # reset_time is when the oldest hit in the window leaves it: a slot frees then, for one of the waiters.
            self._sleep(max(MIN_POLL_SECONDS, min(reset_at - time.time(), self.max_wait)))


def shared_store_url(config: Any) -> str | None:
    """Where budgets are shared: queue.budget_url, else the broker when it is Redis; None: per process."""
    url = config.queue.budget_url or config.queue.broker_url
    return url if url and url.startswith(REDIS_SCHEMES) else None


def budget_for(account: Any, storage_url: str | None) -> LocalBudget | SharedBudget | None:
    """The budget an account's requests wait for: None without requests_per_minute."""
    if not account.requests_per_minute:
        return None
    if storage_url is None:
        return LocalBudget(account.requests_per_minute)
    # Keyed by the helpdesk's host, not our account name: two accounts configured on one helpdesk share its limit.
    host = urlsplit(account.base_url or "").netloc or account.name
    return SharedBudget(account.requests_per_minute, storage_url, key=f"{account.type}:{host}")
