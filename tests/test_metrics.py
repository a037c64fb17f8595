"""/metrics: a bearer token, webhook deliveries by account and outcome, database gauges that match the rows."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from deskdraft import metrics
from deskdraft.state import State
from tests.conftest import ZENDESK_SECRET
from tests.fakes.zendesk import sign_zendesk
from webhooks import create_app


def scrape(client, token="metrics-token") -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def deliver(client, ticket: str, secret: str = ZENDESK_SECRET, account: str = "zendesk", invocation: str = "i"):
    body = json.dumps({"ticket_id": ticket}).encode()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = sign_zendesk(secret, body, stamp, invocation_id=invocation)
    return client.post(f"/webhooks/{account}", data=body, headers={**headers, "Content-Type": "application/json"})


def test_metrics_need_the_token(make_config, monkeypatch):
    config = make_config()
    client = create_app(config, enqueue=lambda _: None, state=State(config.database_url)).test_client()
    monkeypatch.delenv("DESKDRAFT_METRICS_TOKEN", raising=False)
    assert client.get("/metrics").status_code == 404
    monkeypatch.setenv("DESKDRAFT_METRICS_TOKEN", "metrics-token")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer metrics-token"}).status_code == 200


def test_deliveries_are_counted_by_outcome_and_unknown_accounts_share_one_label(make_config, monkeypatch):
    monkeypatch.setenv("DESKDRAFT_METRICS_TOKEN", "metrics-token")
    config = make_config()
    state = State(config.database_url)
    client = create_app(config, enqueue=lambda _: None, state=state).test_client()
    before = scrape(client)
    key = lambda outcome, account="zendesk": ("deskdraft_webhook_deliveries_total",  # noqa: E731
                                              (("account", account), ("outcome", outcome)))
    assert deliver(client, "1", invocation="a").status_code == 202
    assert deliver(client, "1", invocation="a").status_code == 200  # duplicate
    assert deliver(client, "2", secret="wrong", invocation="b").status_code == 401
    for name in ("evil1", "evil2", "evil3"):
        assert deliver(client, "3", account=name).status_code == 404
    after = scrape(client)
    delta = lambda k: after.get(k, 0) - before.get(k, 0)  # noqa: E731
    assert delta(key("queued")) == 1 and delta(key("duplicate")) == 1 and delta(key("refused")) == 1
    assert delta(key("unknown_account", "(unknown)")) == 3
    assert not any("evil" in str(k) for k in after)
    assert after[("deskdraft_inbox_backlog", ())] == len([e for e in state.events() if e.status == "pending"]) == 1
    assert after[("deskdraft_inbox_oldest_pending_seconds", ())] >= 0


def test_gate_state_per_intent_comes_from_the_last_recorded_change(make_config, monkeypatch):
    monkeypatch.setenv("DESKDRAFT_METRICS_TOKEN", "metrics-token")
    config = make_config(intents={"order_status": {"description": "d", "examples": ["where"]},
                                  "refund_status": {"description": "r", "examples": ["refund"]}})
    state = State(config.database_url)
    state.note_gate_state("order_status", True, "opened")
    state.note_gate_state("refund_status", True, "opened")
    state.note_gate_state("refund_status", False, "demoted")
    client = create_app(config, enqueue=lambda _: None, state=state).test_client()
    samples = scrape(client)
    assert samples[("deskdraft_gate_open", (("intent", "order_status"),))] == 1
    assert samples[("deskdraft_gate_open", (("intent", "refund_status"),))] == 0


def test_audit_steps_feed_step_latency_tokens_and_actions():
    before = {s.name + str(s.labels): s.value for m in metrics.REGISTRY.collect() for s in m.samples}
    metrics.job_started(424242)
    for step, detail in (("ticket_read", {}), ("routed", {"intent": "order_status"}),
                         ("drafted", {"input_tokens": 900, "output_tokens": 100}),
                         ("posted", {"outcome": "public_reply"})):
        metrics.on_audit("zendesk", "1", step, 424242, detail)
    metrics.job_finished(424242, "zendesk", "public_reply", time.monotonic())
    after = {s.name + str(s.labels): s.value for m in metrics.REGISTRY.collect() for s in m.samples}
    delta = lambda k: after.get(k, 0) - before.get(k, 0)  # noqa: E731
    assert delta("deskdraft_drafts_total{'intent': 'order_status', 'action': 'reply'}") == 1
    assert delta("deskdraft_model_tokens_total{'direction': 'input'}") == 900
    assert delta("deskdraft_pipeline_step_seconds_count{'step': 'drafted'}") == 1
    assert delta("deskdraft_events_total{'account': 'zendesk', 'outcome': 'public_reply'}") == 1
