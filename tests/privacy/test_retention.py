"""Retention: the scheduled purge deletes what is older than retention_days, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

import worker
from deskdraft.settings import ConfigError
from deskdraft.state import State
from tests.test_state import Clock, drop_database, postgres_url

DAY = 86400.0


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request, tmp_path):
    clock = Clock()
    if request.param == "sqlite":
        yield State(f"sqlite:///{tmp_path / 'state.db'}", clock=clock), clock
        return
    url = postgres_url()
    store = State(url, clock=clock)
    yield store, clock
    store.dispose()
    drop_database(url)


def _ticket(state: State, ticket: str, event: str, finished: bool = True) -> None:
    inbox_id = state.record_event("zendesk", event, ticket, "k")
    state.log("zendesk", ticket, "ticket_read", inbox_id, requester="5001")
    ref = f"zendesk:{ticket}:{event}"
    state.claim_post(ref, "zendesk", ticket, "run-1", 60)
    state.confirm_post(ref, "run-1", "note", "c1")
    state.record_draft(ref, "zendesk", ticket, "refunds", "note", "c1", 0.8, "Your refund is on its way, Casey.",
                       "en", "p1", "m", "kb")
    if finished:
        state.finish_event(inbox_id, "posted_note")


def test_purge_deletes_each_kind_after_its_own_retention(state):
    state, clock = state
    _ticket(state, "1", "old")
    _ticket(state, "2", "old-pending", finished=False)
    clock.now += 40 * DAY
    _ticket(state, "3", "new")
    state.record_review("zendesk:3:new", "accepted", 0.95, [])

    removed = state.purge(inbox_days=30, audit_days=365, drafts_days=35, reviews_days=365)
    assert removed["inbox"] == 1  # the old finished event; a pending one is never purged (the sweep needs it)
    assert {e.ticket_id for e in state.events()} == {"2", "3"}
    assert removed["audit"] == 0 and removed["reviews"] == 0
    assert removed["drafted_text"] == 2  # the old drafts lose their text but keep their numbers for the gate
    texts = {d.ticket_id: d.text for d in state.drafts_between(0, clock.now + 1)}
    assert texts == {"1": None, "2": None, "3": "Your refund is on its way, Casey."}

    clock.now += 340 * DAY  # tickets 1 and 2 are now 380 days old, ticket 3 is 340
    removed = state.purge(inbox_days=30, audit_days=365, drafts_days=35, reviews_days=365)
    assert removed["audit"] == 4 and removed["claims"] == 2 and removed["reviews"] == 2
    assert list(state.audit_trail("zendesk", "1")) == [] and list(state.audit_trail("zendesk", "3"))
    assert [d.ticket_id for d in state.drafts_between(0, clock.now + 1)] == ["3"]
    assert state.post_status("zendesk:1:old") is None and state.post_status("zendesk:3:new") == "posted"
    assert state.purge(inbox_days=30, audit_days=365, drafts_days=35, reviews_days=365)["audit"] == 0  # idempotent


def test_retention_is_configured_and_cannot_undercut_the_gate_window(make_config):
    config = make_config(retention_days={"inbox": 7, "audit": 90, "drafts": 30, "reviews": 60})
    assert (config.retention.inbox, config.retention.audit, config.retention.drafts, config.retention.reviews) == (
        7, 90, 30, 60)
    assert make_config().retention.inbox == 30  # kept a bounded time by default, never forever
    with pytest.raises(ConfigError, match=r"retention_days\.reviews: must be at least autonomy\.window_days"):
        make_config(retention_days={"reviews": 10})
    with pytest.raises(ConfigError, match=r"retention_days\.inbox"):
        make_config(retention_days={"inbox": 0})


def test_the_worker_schedules_the_purge(make_config):
    schedule = worker.beat_schedule(make_config())
    assert schedule["purge-expired"]["task"] == worker.purge_expired.name == "worker.purge_expired"


def test_the_purge_task_uses_the_configured_retention(make_config, monkeypatch):
    config = make_config(retention_days={"inbox": 1})
    state = State(config.database_url)
    finished = state.record_event("zendesk", "e1", "9", "k")
    state.finish_event(finished, "posted_note")
    monkeypatch.setattr(worker, "_deps", None)
    worker.configure(config)
    try:
        assert worker.purge_expired()["inbox"] == 0  # a second old: kept
        with state.engine.begin() as conn:  # two days pass for that row
            from deskdraft.state import inbox
            conn.execute(inbox.update().values(received_at=inbox.c.received_at - 2 * DAY))
        assert worker.purge_expired()["inbox"] == 1
        assert state.events() == []
    finally:
        worker._deps = None
        worker._config = None
