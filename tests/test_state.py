"""The inbox and the post claims: what makes "nothing lost" and "never twice" hold."""
from __future__ import annotations

import os
import socket
import threading
import uuid

import pytest

from deskdraft.state import State

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def postgres_url() -> str:
    """A throwaway database on the local PostgreSQL (trust auth), as `state.url` would name one."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        if os.environ.get("DESKDRAFT_REQUIRE_POSTGRES"):
            raise
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    from sqlalchemy import create_engine, text

    name = f"deskdraft_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request, tmp_path, clock):
    if request.param == "sqlite":
        yield State(f"sqlite:///{tmp_path / 'nested' / 'state.db'}", clock=clock)
        return
    url = postgres_url()
    store = State(url, clock=clock)
    yield store
    store.dispose()
    drop_database(url)


def test_inbox_dedupes_on_account_and_event_id(state):
    first = state.record_event("zendesk", "evt-1", "7", "ticket.updated")
    assert first is not None
    assert state.record_event("zendesk", "evt-1", "7", "ticket.updated") is None
    assert state.record_event("brand-b", "evt-1", "7", "ticket.updated") is not None


def test_sweep_finds_only_stalled_pending_events(state, clock):
    stalled = state.record_event("zendesk", "a", "1", "k")
    done = state.record_event("zendesk", "b", "2", "k")
    state.finish_event(done, "posted_note")
    clock.now += 10
    fresh = state.record_event("zendesk", "c", "3", "k")
    assert [e.id for e in state.stalled_events(older_than_seconds=5)] == [stalled]
    state.mark_enqueued(stalled, delay=60)  # a retry scheduled a minute out is not stalled yet
    clock.now += 30
    assert [e.id for e in state.stalled_events(older_than_seconds=5)] == [fresh]


def test_claim_is_exclusive_until_stale(state, clock):
    assert state.claim_post("z:1:5", "z", "1", stale_after=60) == "claimed"
    assert state.claim_post("z:1:5", "z", "1", stale_after=60) == "busy"
    clock.now += 61
    assert state.claim_post("z:1:5", "z", "1", stale_after=60) == "claimed"  # its holder died
    state.confirm_post("z:1:5", "note", "900")
    assert state.claim_post("z:1:5", "z", "1", stale_after=60) == "posted"
    assert state.post_status("z:1:5") == "posted"


def test_released_claim_can_be_taken_at_once(state):
    assert state.claim_post("z:1:5", "z", "1", stale_after=60) == "claimed"
    state.release_claim("z:1:5")
    assert state.claim_post("z:1:5", "z", "1", stale_after=60) == "claimed"


def test_only_one_of_many_threads_wins_a_claim(state):
    results: list[str] = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        barrier.wait()
        results.append(state.claim_post("z:9:1", "z", "9", stale_after=60))

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["busy"] * 7 + ["claimed"]


def test_audit_trail_keeps_order_and_details(state):
    state.log("zendesk", "7", "event_received", 1, event_id="e")
    state.log("zendesk", "7", "posted", 1, comment_id="55")
    state.log("zendesk", "8", "posted", 2)
    trail = list(state.audit_trail("zendesk", "7"))
    assert [(s["step"], s.get("comment_id")) for s in trail] == [("event_received", None), ("posted", "55")]


def test_an_event_being_worked_on_is_not_swept(state, clock):
    event = state.record_event("zendesk", "a", "1", "k")
    clock.now += 10
    state.start_attempt(event)  # a worker picked it up just now
    assert state.stalled_events(older_than_seconds=5) == []
    clock.now += 6
    assert [e.id for e in state.stalled_events(older_than_seconds=5)] == [event]


def test_only_the_current_claim_holder_may_post(tmp_path):
    """A slow run whose claim was taken over as stale learns it before an irreversible post (a public reply)."""
    import threading

    clock = [1000.0]
    state = State(f"sqlite:///{tmp_path}/claims.db", clock=lambda: clock[0])
    assert state.claim_post("z:1:2", "z", "1", stale_after=5) == "claimed"  # run A
    clock[0] += 10  # A is slow, not dead
    result = {}

    def run_b():
        result["claim"] = state.claim_post("z:1:2", "z", "1", stale_after=5)
        result["holds"] = state.still_holds("z:1:2")

    b = threading.Thread(target=run_b)
    b.start()
    b.join()
    assert result == {"claim": "claimed", "holds": True}
    assert state.still_holds("z:1:2") is False  # A (this thread) lost it: it must not post
    assert state.still_holds("z:9:9") is False  # never claimed here
