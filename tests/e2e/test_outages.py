"""What the helpdesk sees while the broker or the database is away, on real processes (issue #18; #19's finding on
database outages). Deliveries come at 10 a second for 30 seconds, spread over 30 tickets (so each ticket gets about
ten distinct deliveries, as a busy ticket with several triggers would): every ack stays fast, and once the outage
ends every ticket gets exactly one note."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Stack, free_port, wait_for
from tests.e2e.test_spine import CUSTOMER

AGENT = 5002
RATE, OUTAGE_SECONDS, TICKETS = 10, 30, 30
WHY: list[str] = []  # bodies of the answers that were not 202, for the failure message


class OwnRedis:
    """A redis-server of the test's own, on its own port, so freezing it touches nobody else's."""

    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("DESKDRAFT_REQUIRE_REDIS"):
                raise RuntimeError("redis-server is not installed")
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(tmp)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(self._answers, 20, "redis-server")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        import redis
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def freeze(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)  # as a hung host or a partition: TCP still connects, nothing answers

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()
        self.proc.terminate()
        self.proc.wait(10)


def open_tickets(stack: Stack) -> list[int]:
    stack.desk.add_people(CUSTOMER, AGENT)
    tickets = list(range(601, 601 + TICKETS))
    for ticket in tickets:
        stack.desk.open_ticket(ticket, CUSTOMER, "Refund", f"Where is my refund for order {ticket}?")
    return tickets


def deliver_at_rate(stack: Stack, tickets: list[int], seconds: float, client: httpx.Client,
                    prefix: str) -> list[tuple[int, str, int, float]]:
    """(ticket, delivery id, status, seconds to answer) for RATE deliveries a second, sent on schedule from a pool
    so a slow answer does not slow the helpdesk down (it does not wait for us either)."""
    results: list[tuple[int, str, int, float]] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        ticket = tickets[n % len(tickets)]
        delivery = f"{prefix}-{ticket}-{n}"
        body, headers = stack.desk.delivery(ticket, delivery)
        started = time.monotonic()
        response = client.post(f"{stack.web_url}/webhooks/{stack.desk.name}", content=body,
                               headers={**headers, "Content-Type": "application/json"})
        took = time.monotonic() - started
        with lock:
            results.append((ticket, delivery, response.status_code, took))
            if response.status_code != 202:
                WHY.append(f"{delivery}: {response.status_code} {response.text[:200]}")
            if response.status_code == 503:
                assert response.headers.get("Retry-After"), "a 503 must say when to retry"

    total = int(RATE * seconds)
    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        futures = []
        for n in range(total):
            delay = start + n / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, n))
        for future in futures:
            future.result()
    return results


def assert_one_note_each(stack: Stack, tickets: list[int], timeout: float) -> None:
    wait_for(lambda: all(stack.notes(t) for t in tickets), timeout, "a note on every ticket")
    wait_for(stack.inbox_settled, timeout, "the inbox to settle")
    time.sleep(3)  # room for a late redelivery or sweep to (wrongly) post again
    counts = {t: len(stack.notes(t)) for t in tickets}
    assert set(counts.values()) == {1}, {t: c for t, c in counts.items() if c != 1}


def test_frozen_redis_never_holds_an_ack_and_every_ticket_is_drafted_once_after(tmp_path):
    redis_server = OwnRedis(tmp_path)
    stack = Stack(tmp_path / "stack", broker_url=redis_server.url)
    (tmp_path / "stack").mkdir()
    try:
        stack.start()
        tickets = open_tickets(stack)
        with httpx.Client(timeout=30) as client:
            # Warm-up, not timed: the first publish builds the producer, the client opens its connections.
            warm = deliver_at_rate(stack, tickets, 2, client, "warm")
            # A 503 here is a worker write holding SQLite past the web's 1 s bound on a starved machine: allowed
            # (the helpdesk retries it); these tickets get later deliveries anyway.
            assert {status for _, _, status, _ in warm} <= {202, 503}, WHY[:5]
            redis_server.freeze()
            try:
                results = deliver_at_rate(stack, tickets, OUTAGE_SECONDS, client, "frozen")
            finally:
                redis_server.thaw()
        slow = sorted(took for *_, took in results if took >= 0.1)
        odd = [r for r in results if r[2] != 202]
        assert not odd, odd[:10]
        # Before: acks waited on the frozen broker (59 of 60 over 1 s, up to 30 s). On an idle machine every ack
        # is under 100 ms (max 61 ms measured); a machine shared with other test runs can still deschedule the web
        # process for a few hundred ms, which no code of ours can prevent (7 of 300 over 100 ms, max 0.43 s, in a
        # niced full-suite run beside six others), so 5% may pass 100 ms, none 1 s.
        assert len(slow) <= len(results) // 20, f"{len(slow)} of {len(results)} acks took 100 ms or more: {slow}"
        assert not slow or slow[-1] < 1.0, f"the slowest ack took {slow[-1]:.3f}s"
        assert_one_note_each(stack, tickets, timeout=240)
    finally:
        stack.stop()
        redis_server.stop()


def test_locked_database_answers_fast_503s_and_the_helpdesks_retries_are_drafted_once(tmp_path):
    stack = Stack(tmp_path)
    try:
        stack.start()
        tickets = open_tickets(stack)
        locker = sqlite3.connect(stack.config.database_url[len("sqlite:///"):], timeout=30)
        locker.execute("BEGIN EXCLUSIVE")  # as a long migration or a stuck writer would hold it
        try:
            with httpx.Client(timeout=30) as client:
                results = deliver_at_rate(stack, tickets, OUTAGE_SECONDS, client, "locked")
        finally:
            locker.rollback()
            locker.close()
        statuses = {status for _, _, status, _ in results}
        assert statuses == {503}, statuses  # not recorded, so not acknowledged: the helpdesk keeps it
        slowest = max(took for *_, took in results)
        assert slowest < 2.5, f"a 503 took {slowest:.2f}s"
        assert stack.state.events() == []
        # The helpdesk retries after Retry-After: the same signed deliveries again.
        retried = []
        for ticket, delivery, _, _ in results:
            body, headers = stack.desk.delivery(ticket, delivery)
            response = httpx.post(f"{stack.web_url}/webhooks/{stack.desk.name}", content=body,
                                  headers={**headers, "Content-Type": "application/json"}, timeout=10)
            retried.append(response.status_code)
        assert set(retried) == {202}, set(retried)
        assert_one_note_each(stack, tickets, timeout=240)
    finally:
        stack.stop()
