"""A worker run's bookkeeping in fewer transactions: its audit steps written together, its start in one statement."""
from __future__ import annotations

import pytest

from deskdraft.state import State


@pytest.fixture
def state(tmp_path) -> State:
    return State(f"sqlite:///{tmp_path / 'state.db'}")


def test_a_runs_audit_steps_are_written_together_when_it_ends(state):
    heard = []
    state.listeners.append(lambda account, ticket, step, inbox_id, detail: heard.append(step))
    with state.audit_batch():
        state.log("zendesk", "7", "ticket_read", 1, comments=2)
        state.log("zendesk", "7", "routed", 1, intent="refund_status")
        assert list(state.audit_trail("zendesk", "7")) == []  # not yet written
        assert heard == ["ticket_read", "routed"]  # metrics hear each step when it happens
    trail = list(state.audit_trail("zendesk", "7"))
    assert [(s["step"], s.get("comments"), s.get("intent")) for s in trail] == [
        ("ticket_read", 2, None), ("routed", None, "refund_status")]


def test_steps_of_a_run_that_fails_are_still_written(state):
    with pytest.raises(RuntimeError), state.audit_batch():
        state.log("zendesk", "7", "ticket_read", 1)
        raise RuntimeError("the helpdesk went away")
    assert [s["step"] for s in state.audit_trail("zendesk", "7")] == ["ticket_read"]
    state.log("zendesk", "7", "gave_up", 1)  # outside a block: written at once, as before
    assert [s["step"] for s in state.audit_trail("zendesk", "7")] == ["ticket_read", "gave_up"]


def test_start_attempt_counts_and_returns_only_a_pending_event(state):
    inbox_id = state.record_event("zendesk", "evt-1", "7", "comment")
    event = state.start_attempt(inbox_id)
    assert (event.id, event.status, event.attempts) == (inbox_id, "pending", 1)
    state.finish_event(inbox_id, "posted_note")
    assert state.start_attempt(inbox_id) is None
    assert state.get_event(inbox_id).attempts == 1
