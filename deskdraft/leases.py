"""The heartbeat of the claims a process's runs hold: one thread renews them all, every third of the lease.

A claim is a lease (state.claim_post): the run that took it owns it until `lease_until`. While the run is alive this
thread keeps pushing that out, so a slow model call never lets another run take the claim over; when the process
dies (SIGKILL, OOM, a lost host) the renewals stop and the claim is free again within one lease
(queue.claim_timeout_seconds, 90 s by default) instead of waiting out a fixed timeout sized for the slowest job.
A renewal that finds the claim taken marks it lost, and the run's compare-and-set right before its post
(state.still_holds) stops it from posting.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

MIN_INTERVAL_SECONDS = 0.2


def owner_id(job_id: str | None = None) -> str:
    """Who holds a claim: this host and process, the job (Celery task id) and this run of it. A retry keeps its
    task id and a broker may redeliver a message still running, so the run's own suffix keeps two runs apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{job_id or '-'}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Renews the leases this process holds; one per State and lease length."""

    def __init__(self, state: Any, lease_seconds: float) -> None:
        self.state = state
        self.lease_seconds = lease_seconds
        self.interval = max(MIN_INTERVAL_SECONDS, lease_seconds / 3)  # two renewals may fail before it expires
        self._held: dict[tuple[str, str], bool] = {}  # (ref, owner) -> still ours
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, ref: str, owner: str) -> Iterator[None]:
        """Renew (ref, owner) until the block ends."""
        with self._lock:
            self._held[(ref, owner)] = True
            if self._thread is None or not self._thread.is_alive():  # also after a fork: threads do not survive it
                self._thread = threading.Thread(target=self._run, name="deskdraft-leases", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop((ref, owner), None)

    def lost(self, ref: str, owner: str) -> bool:
        """True once a renewal found the claim gone to another run."""
        with self._lock:
            return self._held.get((ref, owner)) is False

    def renew_all(self) -> None:
        with self._lock:
            held = [key for key, ours in self._held.items() if ours]
        for ref, owner in held:
            try:
                ours = self.state.renew_lease(ref, owner, self.lease_seconds)
            except Exception as exc:  # the database is briefly away: the next beat tries again, well within the lease
                log.warning("lease on %s not renewed: %s", ref, exc)
                continue
            if not ours:
                log.warning("lease on %s lost to another run: this run will not post", ref)
                with self._lock:
                    if (ref, owner) in self._held:
                        self._held[(ref, owner)] = False

    def _run(self) -> None:
        while not self._wake.wait(self.interval):
            self.renew_all()


_keepers: weakref.WeakKeyDictionary[Any, dict[float, LeaseKeeper]] = weakref.WeakKeyDictionary()
_keepers_lock = threading.Lock()


def keeper(state: Any, lease_seconds: float) -> LeaseKeeper:
    """This process's keeper for a State (a config reload that changes the lease gets a new one)."""
    with _keepers_lock:
        per_state = _keepers.setdefault(state, {})
        if lease_seconds not in per_state:
            per_state[lease_seconds] = LeaseKeeper(state, lease_seconds)
        return per_state[lease_seconds]
