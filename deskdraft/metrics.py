"""Prometheus metrics with the official client, correct under several gunicorn workers and the Celery worker.

Process-local counters and histograms (webhook deliveries, pipeline steps, tokens, retries) use
prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (scripts/run sets it for every
process, gunicorn.conf.py marks dead workers). What lives in the database (backlog, inbox age, gate state,
the worker's heartbeat) is read at scrape time, so it is right whichever process or host did the work.
"""
from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

WEBHOOK_DELIVERIES = Counter("deskdraft_webhook_deliveries_total", "Webhook deliveries by account and outcome",
                             ["account", "outcome"])
EVENTS = Counter("deskdraft_events_total", "Inbox events the worker finished, by account and outcome",
                 ["account", "outcome"])
JOB_SECONDS = Histogram("deskdraft_job_seconds", "Time to handle one inbox event", ["outcome"], buckets=STEP_BUCKETS)
STEP_SECONDS = Histogram("deskdraft_pipeline_step_seconds",
                         "Time from the previous audit step of a job to this one (ticket_read: the helpdesk read, "
                         "retrieved: retrieval, drafted: the model, posted: the helpdesk write)", ["step"],
                         buckets=STEP_BUCKETS)
MODEL_TOKENS = Counter("deskdraft_model_tokens_total", "Model tokens", ["direction"])
MODEL_ERRORS = Counter("deskdraft_model_errors_total", "Model calls that failed or answered out of shape", ["kind"])
DRAFTS = Counter("deskdraft_drafts_total", "What the pipeline did per intent (note, reply, escalate, ...)",
                 ["intent", "action"])
GATE_CHANGES = Counter("deskdraft_gate_changes_total", "Gate promotions and demotions", ["intent", "direction"])
RETRIES = Counter("deskdraft_retries_total", "Jobs sent back to the queue, by cause", ["cause"])
# Per-component cost per ticket (benchmarks/load.py divides these by the events finished).
DB_STATEMENTS = Counter("deskdraft_db_statements_total", "SQL statements run by this process's state database")
DB_TRANSACTIONS = Counter("deskdraft_db_transactions_total", "Transactions committed by this process's state database")
KNOWLEDGE_CALLS = Counter("deskdraft_knowledge_calls_total", "Calls to the knowledge store (Chroma)", ["kind"])

# What pipeline.py records as the post's outcome, in the drafts table's words.
ACTIONS = {"escalated": "escalate", "public_reply": "reply", "posted_note": "note"}
# Per worker thread: two runs of one inbox event can overlap (a sweep re-enqueues a slow job), so a job is
# the thread running it, not its inbox id.
_jobs: dict[int, dict[str, Any]] = {}
_jobs_lock = threading.Lock()


def count_database_work(engine: Any) -> None:
    """Count the statements and commits of `engine` (the worker's state): the database's share of a ticket."""
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", lambda *args: DB_STATEMENTS.inc())
    event.listen(engine, "commit", lambda conn: DB_TRANSACTIONS.inc())


def webhook_outcome(status: int, body: Mapping[str, Any] | None) -> str:
    """A delivery's outcome from the answer we gave, in a closed set of words (never text from the request)."""
    if status == 200 and body and body.get("status") in ("ignored", "duplicate"):
        return str(body["status"])
    return {202: "queued", 200: "ok", 400: "malformed", 401: "refused", 404: "unknown_account",
            405: "bad_method", 413: "too_large"}.get(status, "error" if status >= 500 else "rejected")


def job_started(inbox_id: int) -> None:
    with _jobs_lock:
        _jobs[threading.get_ident()] = {"inbox_id": inbox_id, "last": time.monotonic(), "intent": None}


def job_finished(inbox_id: int, account: str, outcome: str, started: float) -> None:
    with _jobs_lock:
        _jobs.pop(threading.get_ident(), None)
    EVENTS.labels(account, outcome).inc()
    JOB_SECONDS.labels(outcome).observe(time.monotonic() - started)


def on_audit(account: str, ticket_id: str, step: str, inbox_id: int | None, detail: Mapping[str, Any]) -> None:
    """State listener: every pipeline step is an audit row, so the audit is where the metrics come from."""
    if step == "drafted":
        MODEL_TOKENS.labels("input").inc(detail.get("input_tokens") or 0)
        MODEL_TOKENS.labels("output").inc(detail.get("output_tokens") or 0)
    elif step == "draft_failed":
        MODEL_ERRORS.labels("malformed").inc()
    elif step == "gate_changed":
        GATE_CHANGES.labels(str(detail.get("intent")), "promoted" if detail.get("open") else "demoted").inc()
    with _jobs_lock:
        job = _jobs.get(threading.get_ident())
        if job is None or job["inbox_id"] != inbox_id:
            return
        now = time.monotonic()
        STEP_SECONDS.labels(step).observe(now - job["last"])
        job["last"] = now
        if step == "routed":
            job["intent"] = str(detail.get("intent"))
        intent = job["intent"]
    if step == "posted" and intent is not None:
        outcome = str(detail.get("outcome"))
        DRAFTS.labels(intent, ACTIONS.get(outcome, outcome)).inc()


def count_retry(exc: BaseException) -> None:
    cause = type(exc).__name__
    RETRIES.labels(cause).inc()
    if type(exc).__module__.startswith("anthropic"):
        MODEL_ERRORS.labels(cause).inc()


class StateCollector:
    """Numbers read from the database at scrape time."""

    def __init__(self, state: Callable[[], Any], config: Callable[[], Any]) -> None:
        self._state, self._config = state, config

    def collect(self):
        from sqlalchemy import func, select

        from deskdraft.state import gate_events, heartbeats, inbox

        state, config, now = self._state(), self._config(), time.time()
        with state.engine.connect() as conn:
            pending, oldest = conn.execute(select(func.count(), func.min(inbox.c.received_at))
                                           .where(inbox.c.status == "pending")).one()
            failed = conn.execute(select(func.count()).where(inbox.c.status == "failed")).scalar()
            last = select(gate_events.c.intent, func.max(gate_events.c.id).label("id")).group_by(
                gate_events.c.intent).subquery()
            gates = dict(conn.execute(select(gate_events.c.intent, gate_events.c.open)
                                      .join(last, gate_events.c.id == last.c.id)).all())
            beat = conn.execute(select(func.max(heartbeats.c.at))).scalar()
        yield GaugeMetricFamily("deskdraft_inbox_backlog", "Accepted events not finished yet", value=pending)
        yield GaugeMetricFamily("deskdraft_inbox_oldest_pending_seconds", "Age of the oldest unfinished event",
                                value=(now - oldest) if oldest else 0.0)
        yield GaugeMetricFamily("deskdraft_inbox_failed", "Events that ended failed (all time)", value=failed)
        gate = GaugeMetricFamily("deskdraft_gate_open", "1 when the intent has earned public replies",
                                 labels=["intent"])
        for name in sorted(set(config.intents) | set(gates)):
            gate.add_metric([name], float(bool(gates.get(name))))
        yield gate
        yield GaugeMetricFamily("deskdraft_worker_heartbeat_age_seconds", "Seconds since a worker last beat",
                                value=(now - beat) if beat else float("inf"))


def exposition(db_registry: CollectorRegistry) -> bytes:
    """The text a scrape gets: every process's counters (multiprocess mode) plus the database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    return counters + generate_latest(db_registry)


def authorised(header: str, token: str) -> bool:
    expected = f"Bearer {token}"
    return bool(token) and hmac.compare_digest(header.encode(), expected.encode())


__all__ = [
    "CONTENT_TYPE_LATEST",
    "StateCollector",
    "authorised",
    "count_retry",
    "exposition",
    "job_finished",
    "job_started",
    "on_audit",
    "webhook_outcome",
]
