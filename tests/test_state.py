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


def test_claim_is_a_lease_exclusive_until_it_expires(state, clock):
    assert state.claim_post("z:1:5", "z", "1", "run-a", lease_seconds=60) == "claimed"
    assert state.claim_post("z:1:5", "z", "1", "run-b", lease_seconds=60) == "busy"
    clock.now += 61  # run A stopped renewing: its process died
    assert state.claim_post("z:1:5", "z", "1", "run-b", lease_seconds=60) == "taken_over"
    assert state.claim_owner("z:1:5") == "run-b"
    assert state.confirm_post("z:1:5", "run-a", "note", "899") is False  # only the owner confirms
    assert state.confirm_post("z:1:5", "run-b", "note", "900") is True
    assert state.claim_post("z:1:5", "z", "1", "run-c", lease_seconds=60) == "posted"
    assert state.post_status("z:1:5") == "posted"


def test_a_renewed_lease_is_never_taken_over(state, clock):
    """The heartbeat: a live run slower than the lease keeps its claim."""
    assert state.claim_post("z:1:6", "z", "1", "run-a", lease_seconds=60) == "claimed"
    for _ in range(10):  # ten minutes of a slow job, renewed every 30 s
        clock.now += 30
        assert state.renew_lease("z:1:6", "run-a", 60) is True
        assert state.claim_post("z:1:6", "z", "1", "run-b", lease_seconds=60) == "busy"
    assert state.renew_lease("z:1:6", "run-b", 60) is False  # not its claim


def test_only_the_owner_releases(state):
    assert state.claim_post("z:1:5", "z", "1", "run-a", lease_seconds=60) == "claimed"
    state.release_claim("z:1:5", "run-b")  # someone else's failure must not free A's claim
    assert state.claim_post("z:1:5", "z", "1", "run-b", lease_seconds=60) == "busy"
    state.release_claim("z:1:5", "run-a")
    assert state.claim_post("z:1:5", "z", "1", "run-b", lease_seconds=60) == "claimed"


def test_a_claim_left_by_the_release_before_leases_expires_after_the_old_timeout(state, clock):
    from sqlalchemy import insert

    from deskdraft.state import posts

    with state.engine.begin() as conn:  # what 0004 makes of a claim open during the upgrade
        conn.execute(insert(posts).values(draft_ref="z:2:1", account="z", ticket_id="2", status="claimed",
                                          claimed_at=clock.now, owner=None, lease_until=clock.now + 900))
    assert state.claim_post("z:2:1", "z", "2", "run-b", lease_seconds=60) == "busy"
    clock.now += 901
    assert state.claim_post("z:2:1", "z", "2", "run-b", lease_seconds=60) == "taken_over"


def _contend(state: State, ref: str, takers: int = 8) -> list[str]:
    """claim_post from `takers` threads released at once, each as its own run."""
    results: list[str] = []
    barrier = threading.Barrier(takers)

    def contend(n: int) -> None:
        barrier.wait()
        results.append(state.claim_post(ref, "z", "9", f"run-{n}", lease_seconds=60))

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(takers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


def test_only_one_of_many_threads_wins_a_claim(state):
    assert _contend(state, "z:9:1") == ["busy"] * 7 + ["claimed"]


def test_only_one_of_many_takers_wins_an_expired_lease(state, clock):
    assert state.claim_post("z:9:2", "z", "9", "dead", lease_seconds=60) == "claimed"
    clock.now += 61
    assert _contend(state, "z:9:2") == ["busy"] * 7 + ["taken_over"]


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
    """A run frozen past its lease (a paused VM) learns it lost the claim before an irreversible post."""
    clock = [1000.0]
    state = State(f"sqlite:///{tmp_path}/claims.db", clock=lambda: clock[0])
    assert state.claim_post("z:1:2", "z", "1", "run-a", lease_seconds=5) == "claimed"
    clock[0] += 10  # A is frozen, not renewing
    assert state.claim_post("z:1:2", "z", "1", "run-b", lease_seconds=5) == "taken_over"
    assert state.still_holds("z:1:2", "run-b", 5) is True
    assert state.still_holds("z:1:2", "run-a", 5) is False  # A lost it: it must not post
    assert state.still_holds("z:9:9", "run-a", 5) is False  # never claimed
