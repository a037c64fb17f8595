"""worker.process_event's decisions: retry (and when), give up with a note in the ticket, record a refusal, or
finish a duplicate; and the retry delay. Called in-process (Celery's direct call: no broker, no worker process),
on the real state database, with the helpdesk and the model in memory."""
from __future__ import annotations

import anthropic
import httpx
import pytest

import worker
from connectors.http import PermanentHelpdeskError, TransientHelpdeskError
from deskdraft.state import State
from tests.unit.pipeline_support import ACCOUNT, MemoryDesk, ScriptedModel, config, deps, event, said, ticket


def model_error(kind: type[anthropic.APIStatusError], status: int, retry_after: str | None = None) -> Exception:
    headers = {"retry-after": retry_after} if retry_after else {}
    response = httpx.Response(status, headers=headers, request=httpx.Request("POST", "http://127.0.0.1/v1/messages"))
    return kind(f"{status} from the model", response=response, body=None)


@pytest.fixture
def start(tmp_path, monkeypatch):
    """The worker module configured with in-memory deps, as worker.configure would leave it."""
    def start(desk: MemoryDesk, model: ScriptedModel | None = None, **sections) -> State:
        cfg = config(tmp_path, **sections)
        d = deps(tmp_path, desk, cfg, model or ScriptedModel())
        monkeypatch.setattr(worker, "_config", cfg)
        monkeypatch.setattr(worker, "_live", None)
        monkeypatch.setattr(worker, "_deps", d)
        return d.state
    return start


def steps(state: State, ticket_id: str = "7") -> list[str]:
    return [row["step"] for row in state.audit_trail(ACCOUNT, ticket_id)]


def test_a_finished_event_is_not_processed_again(start):
    desk = MemoryDesk({"7": ticket(said(1))})
    state = start(desk)
    inbox = event(state)
    assert worker.process_event(inbox.id) == "escalated"  # no intents configured: every ticket is a human's
    assert worker.process_event(inbox.id) == "not pending"
    assert desk.kinds() == ["handoff"]


def test_a_transient_helpdesk_error_is_retried_after_the_hinted_delay(start):
    desk = MemoryDesk({"7": ticket(said(1))}, fail_fetch=[TransientHelpdeskError("429", 429, retry_after=120)])
    state = start(desk)
    inbox = event(state)
    with pytest.raises(TransientHelpdeskError):  # a direct call re-raises where a worker would schedule the retry
        worker.process_event(inbox.id)
    retry = [row for row in state.audit_trail(ACCOUNT, "7") if row["step"] == "retry_scheduled"]
    assert [(r["in_seconds"], r["retry"]) for r in retry] == [(120, 1)]
    assert state.get_event(inbox.id).status == "pending" and desk.posts == []
    assert state.stalled_events(60) == []  # the sweep leaves it to the scheduled retry


def test_out_of_retries_a_note_says_no_draft_is_coming(start):
    desk = MemoryDesk({"7": ticket(said(1))}, fail_fetch=[TransientHelpdeskError("503", 503)])
    state = start(desk, queue={"task_max_retries": 0})
    inbox = event(state)
    assert worker.process_event(inbox.id) == "failure_note"
    assert desk.kinds() == ["note"] and "TransientHelpdeskError" in desk.posts[0][2]
    assert state.get_event(inbox.id).status == "failed"


def test_a_spend_limit_gives_up_at_once_with_retries_left(start):
    error = model_error(anthropic.EnforcedSpendLimitReachedError, 429)
    desk = MemoryDesk({"7": ticket(said(1))})
    state = start(desk, ScriptedModel(error=error), queue={"task_max_retries": 5})
    inbox = event(state)
    assert worker.process_event(inbox.id) == "failure_note"
    assert desk.kinds() == ["note"] and "retry_scheduled" not in steps(state)


def test_a_permanent_refusal_is_recorded_and_nothing_is_posted(start):
    desk = MemoryDesk({"7": ticket(said(1))}, fail_fetch=[PermanentHelpdeskError("403 Forbidden", 403)])
    state = start(desk)
    inbox = event(state)
    assert worker.process_event(inbox.id) == "helpdesk_refused"
    assert desk.posts == [] and state.get_event(inbox.id).status == "failed"


def test_an_unexpected_error_gives_up_with_a_note_at_once(start):
    desk = MemoryDesk({"7": ticket(said(1))}, fail_fetch=[ValueError("a bug")])
    state = start(desk, queue={"task_max_retries": 5})
    inbox = event(state)
    assert worker.process_event(inbox.id) == "failure_note"
    assert desk.kinds() == ["note"] and "ValueError: a bug" in desk.posts[0][2]


def test_when_the_failure_note_cannot_be_posted_either_the_inbox_row_keeps_the_record(start):
    desk = MemoryDesk({"7": ticket(said(1))}, fail_fetch=[ValueError("a bug"), TransientHelpdeskError("down")])
    state = start(desk)
    inbox = event(state)
    assert worker.process_event(inbox.id) == "gave_up"
    assert state.get_event(inbox.id).status == "failed" and desk.posts == []


def test_a_second_delivery_for_a_claimed_message_is_a_duplicate(start):
    desk = MemoryDesk({"7": ticket(said(1))})
    state = start(desk)
    # another event's run holds it
    assert state.claim_post(f"{ACCOUNT}:7:1", ACCOUNT, "7", "another-run", 900) == "claimed"
    inbox = event(state)
    assert worker.process_event(inbox.id) == "duplicate"
    assert state.get_event(inbox.id).status == "done" and desk.posts == []


def test_a_swept_event_whose_first_run_may_still_be_working_stays_pending(start):
    desk = MemoryDesk({"7": ticket(said(1))})
    state = start(desk)
    assert state.claim_post(f"{ACCOUNT}:7:1", ACCOUNT, "7", "another-run", 900) == "claimed"
    inbox = event(state)
    state.start_attempt(inbox.id)  # the first attempt, still running when the sweep sends it again
    assert worker.process_event(inbox.id) == "in_progress"
    assert state.get_event(inbox.id).status == "pending"


@pytest.mark.parametrize("error, retries, base, expected", [
    (TransientHelpdeskError("429", 429, retry_after=45), 0, 30, 45),  # the helpdesk's hint when it is longer
    (TransientHelpdeskError("429", 429, retry_after=5), 2, 30, 120),  # else exponential backoff: 30 * 2**2
    (model_error(anthropic.RateLimitError, 429, retry_after="90"), 0, 30, 90),  # the model's Retry-After header
    (model_error(anthropic.RateLimitError, 429, retry_after="soon"), 1, 30, 60),  # an unreadable header: backoff
    (TransientHelpdeskError("503", 503), 20, 30, worker.MAX_COUNTDOWN),  # never longer than an hour
])
def test_retry_delay(error, retries, base, expected):
    assert worker._countdown(error, retries, base) == expected
