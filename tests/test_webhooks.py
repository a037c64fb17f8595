"""The webhook endpoint: verify, parse, record, enqueue, answer; nothing is enqueued for a rejected request."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from deskdraft.state import State
from tests.conftest import ZENDESK_SECRET
from tests.fakes.zendesk import sign_zendesk, zendesk_event
from webhooks import create_app


def _now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def setup(make_config, tmp_path):
    queued: list[int] = []
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    app = create_app(make_config(), enqueue=queued.append, state=state)
    return app.test_client(), queued, state


def post(client, payload, secret=ZENDESK_SECRET, account="zendesk", invocation="inv-1", raw=None, stamp=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = sign_zendesk(secret, body, stamp or _now_stamp(), invocation_id=invocation)
    return client.post(f"/webhooks/{account}", data=body, headers={**headers, "Content-Type": "application/json"})


def test_accepted_event_is_recorded_then_enqueued(setup):
    client, queued, state = setup
    response = post(client, {"ticket_id": "7"})
    assert response.status_code == 202
    assert response.json["status"] == "queued"
    [event] = state.events()
    assert (event.ticket_id, event.status) == ("7", "pending") and event.event_id.startswith("sha256:")
    assert queued == [event.id]
    assert [s["step"] for s in state.audit_trail("zendesk", "7")] == ["event_received"]


def test_duplicate_delivery_adds_nothing(setup):
    client, queued, state = setup
    stamp = _now_stamp()  # a retry resends the same signed pair (two stamps a second apart are two events)
    assert post(client, {"ticket_id": "7"}, stamp=stamp).status_code == 202
    again = post(client, {"ticket_id": "7"}, stamp=stamp)
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert len(state.events()) == 1 and len(queued) == 1


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_bad_signature_is_401_and_nothing_is_recorded(setup, secret):
    client, queued, state = setup
    response = post(client, {"ticket_id": "7"}, secret=secret)
    assert response.status_code == 401 and "signature" in response.json["error"]
    assert queued == [] and state.events() == []


def test_replayed_signature_is_refused(setup):
    client, queued, _state = setup
    body = b'{"ticket_id": "7"}'
    headers = sign_zendesk(ZENDESK_SECRET, body, "2020-01-01T00:00:00Z")
    assert client.post("/webhooks/zendesk", data=body, headers=headers).status_code == 401
    assert queued == []


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "not valid JSON"),
    (b'["a", "list"]', "JSON object"),
    (b'{"message": "no ticket id here"}', "missing field"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_malformed_bodies_are_400_with_a_reason(setup, raw, reason):
    client, queued, state = setup
    response = post(client, None, raw=raw)
    assert response.status_code == 400 and reason in response.json["error"]
    assert queued == [] and state.events() == []


def test_oversized_body_is_413(setup):
    client, queued, _ = setup
    big = json.dumps({"ticket_id": "7", "pad": "x" * 1_100_000}).encode()
    assert post(client, None, raw=big).status_code == 413
    assert queued == []


def test_unknown_helpdesk_is_404(setup):
    client, queued, _ = setup
    assert post(client, {"ticket_id": "7"}, account="nosuchdesk").status_code == 404
    assert queued == []


def test_events_we_do_not_draft_for_are_acknowledged_with_the_reason(setup):
    client, queued, state = setup
    staff = zendesk_event(7, type="zen:event-type:ticket.comment_added", event_id="e-1", author_is_staff=True)
    response = post(client, staff)
    assert response.status_code == 200 and response.json["status"] == "ignored"
    assert "staff" in response.json["reason"]
    assert queued == [] and state.events() == []


def test_broker_down_still_accepts_and_keeps_the_event(make_config, tmp_path):
    state = State(f"sqlite:///{tmp_path / 'state.db'}")

    def broken_enqueue(_: int) -> None:
        raise ConnectionError("broker unreachable")

    client = create_app(make_config(), enqueue=broken_enqueue, state=state).test_client()
    assert post(client, {"ticket_id": "9"}).status_code == 202
    [event] = state.events()
    assert event.status == "pending"  # the sweep will enqueue it
    assert state.stalled_events(older_than_seconds=-1) == [event]


def test_broker_down_with_the_web_process_inbox_still_accepts_and_logs_once(make_config, tmp_path, caplog):
    """As served: the group commit's writer hands the id on, and a broker that refuses it costs no 202."""
    state = State(f"sqlite:///{tmp_path / 'state.db'}", wait_seconds=1.0)
    handed: list[int] = []

    def broken_enqueue(inbox_id: int) -> None:
        handed.append(inbox_id)
        raise ConnectionError("broker unreachable")

    client = create_app(make_config(), enqueue=broken_enqueue, state=state).test_client()
    response = post(client, {"ticket_id": "9"})
    assert response.status_code == 202
    assert handed == [response.json["inbox_id"]]
    assert caplog.text.count("recorded but not queued") == 1
    [event] = state.events()
    assert event.status == "pending"


def test_server_refuses_to_start_on_a_bad_config(tmp_path, monkeypatch):
    bad = tmp_path / "config.yaml"
    bad.write_text("helpdesks: {}\nanthropic: {model: m}\n")
    monkeypatch.setenv("DESKDRAFT_CONFIG", str(bad))
    from deskdraft.settings import ConfigError
    with pytest.raises(ConfigError, match="helpdesks"):
        create_app()


def test_each_account_has_its_own_secret_and_url(make_config, tmp_path, monkeypatch):
    monkeypatch.setenv("BRAND_B_SECRET", "brand-b-secret")
    config = make_config(helpdesks={"brand-b": {
        "type": "zendesk", "base_url": "http://127.0.0.1:9", "email": "bot@b.test",
        "api_token_env": "BRAND_B_TOKEN", "webhook_secret_env": "BRAND_B_SECRET"}})
    queued: list[int] = []
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    client = create_app(config, enqueue=queued.append, state=state).test_client()
    assert post(client, {"ticket_id": "7"}, account="brand-b").status_code == 401  # brand A's secret
    assert post(client, {"ticket_id": "7"}, secret="brand-b-secret", account="brand-b").status_code == 202
    assert post(client, {"ticket_id": "7"}, account="zendesk").status_code == 202  # same ids, other account
    assert sorted(e.account for e in state.events()) == ["brand-b", "zendesk"] and len(queued) == 2
