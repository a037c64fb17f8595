"""Metrics scraped after an end-to-end run (two gunicorn workers and the Celery worker, in Prometheus'
multiprocess mode) match the counts in the database."""
from __future__ import annotations

from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from deskdraft.state import audit, drafts, inbox
from tests.e2e.harness import Stack, wait_for

CUSTOMER, TOKEN = 5101, "e2e-metrics-token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    (tmp / "prom").mkdir()
    s = Stack(tmp, web_workers=2, extra_env={"PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"),
                                             "DESKDRAFT_METRICS_TOKEN": TOKEN}).start()
    s.desk.add_people(CUSTOMER, 5102)
    yield s
    s.stop()


def scrape(stack) -> dict[tuple[str, tuple], float]:
    response = httpx.get(f"{stack.web_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def total(samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and all((k, v2) in ls for k, v2 in labels.items()))


def test_metrics_after_a_run_match_the_database(stack):
    asks = {601: "When will my refund arrive? I sent the item back.", 602: "Where is my order?",
            603: "I want to reset my password", 604: "Refund please, it has been two weeks"}
    for ticket, text in asks.items():
        stack.desk.open_ticket(ticket, CUSTOMER, "Help", text)
        for _n in range(3):  # several deliveries spread over both gunicorn workers; repeats are duplicates
            stack.deliver(ticket, f"m-{ticket}")
    assert stack.deliver(601, "bad").status_code in (200, 202)
    wait_for(lambda: stack.inbox_settled() and len(stack.state.events()) == 5, 120, "the worker to finish")
    events = stack.state.events()
    samples = scrape(stack)

    assert total(samples, "deskdraft_webhook_deliveries_total", outcome="queued") == len(events)
    assert total(samples, "deskdraft_webhook_deliveries_total", outcome="duplicate") == 8
    with stack.state.engine.connect() as conn:
        outcomes = Counter(row[0] for row in conn.execute(select(inbox.c.outcome)))
        by_action = Counter((r[0], r[1]) for r in conn.execute(select(drafts.c.intent, drafts.c.action)))
        tokens = sum(__import__("json").loads(r[0]).get("input_tokens", 0)
                     for r in conn.execute(select(audit.c.detail).where(audit.c.step == "drafted")))
    for outcome, count in outcomes.items():
        assert total(samples, "deskdraft_events_total", outcome=outcome) == count, outcome
    for (intent, action), count in by_action.items():
        assert total(samples, "deskdraft_drafts_total", intent=intent, action=action) == count, (intent, action)
    assert total(samples, "deskdraft_model_tokens_total", direction="input") == tokens > 0
    assert total(samples, "deskdraft_pipeline_step_seconds_count", step="posted") == sum(by_action.values())
    assert samples[("deskdraft_inbox_backlog", ())] == 0
    assert samples[("deskdraft_worker_heartbeat_age_seconds", ())] < 60
    health = httpx.get(f"{stack.web_url}/healthz", timeout=10).json()
    assert health["components"]["worker"] == "ok" and health["components"]["database"] == "ok"


def test_worker_log_lines_carry_the_ids(stack):
    [event] = [e for e in stack.state.events() if e.ticket_id == "601"][:1]
    log = stack.worker_log()
    assert f"account=zendesk ticket=601 inbox={event.id}" in log
    assert "Z INFO" in log  # UTC timestamps on every line
