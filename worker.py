"""The Celery app and its two tasks: process one inbox event, and sweep stalled ones back into the queue.

With the embedded defaults, run it as ONE process with a thread pool (`celery -A worker worker`), and the
scheduler as its own process (`celery -A worker beat`; scripts/supervise.py runs and restarts both): the embedded
Chroma store is not process-safe, and drafting waits on HTTP, so threads give the concurrency. With a Chroma server
and PostgreSQL, run as many worker processes as needed and one beat (a second one stands by:
deskdraft/scheduler_lock.py); scripts/cluster starts that topology. `worker.app` is built from config.yaml on first
access, so importing this module never reads the config or opens anything.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anthropic
from celery import Celery
from celery.signals import beat_init, worker_ready
from sqlalchemy.exc import OperationalError, SQLAlchemyError

import pipeline
from connectors import PermanentHelpdeskError, TransientHelpdeskError, build_connectors
from deskdraft import (
    leases,
    private_files,
    worker_signals,  # noqa: F401  logs with ids, metrics and the heartbeat, on Celery's signals
)
from deskdraft.queue_transport import broker_settings
from deskdraft.settings import Config, ConfigError, LiveConfig, load_config
from deskdraft.state import State
from drafting.claude import RETRYABLE as MODEL_RETRYABLE
from drafting.claude import Drafter
from knowledge.retriever import RetrievalUnavailable  # light: the store is opened on first use

log = logging.getLogger(__name__)

celery_app = Celery("deskdraft")
# A locked or unreachable database is an outage too (SQLite busy past its timeout, PostgreSQL restarting).
TRANSIENT = (TransientHelpdeskError, RetrievalUnavailable, OperationalError, *MODEL_RETRYABLE)
MAX_COUNTDOWN = 3600
PURGE_INTERVAL_SECONDS = 3600  # retention is in days: hourly keeps every record within an hour of its limit

_config: Config | None = None
_live: LiveConfig | None = None
_deps: pipeline.Deps | None = None
_deps_lock = threading.Lock()


def beat_schedule(config: Config) -> dict[str, dict[str, Any]]:
    """Periodic jobs: the inbox sweep, the review of drafts agents answered, and (if set) knowledge syncs."""
    schedule = {"sweep-inbox": {"task": "worker.sweep_inbox", "schedule": config.queue.sweep_interval_seconds},
                "review-drafts": {"task": "worker.review_drafts",
                                  "schedule": config.autonomy.review_interval_seconds},
                "purge-expired": {"task": "worker.purge_expired", "schedule": PURGE_INTERVAL_SECONDS}}
    if config.knowledge.sync_interval_minutes and config.knowledge.sources:
        schedule["sync-knowledge"] = {"task": "worker.sync_knowledge",
                                      "schedule": config.knowledge.sync_interval_minutes * 60}
    return schedule


def configure(config: Config) -> Celery:
    """Point the Celery app at this config (web process: to publish; worker: to consume)."""
    global _config, _deps, _live
    _config, _deps = config, None
    _live = LiveConfig(Path(config.source), config) if config.source and Path(config.source).exists() else None
    private_files.restrict(config.data_dir)  # before the broker, SQLite or Chroma create anything there
    celery_app.conf.update(
        **broker_settings(config),
        task_default_queue=config.queue.name,  # several deployments can share one Redis or RabbitMQ
        task_ignore_result=True,
        task_acks_late=True,  # a job that dies mid-way is redelivered where the broker can; the sweep covers the rest
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_pool="threads", worker_concurrency=config.queue.concurrency,
        task_serializer="json", accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # ride out a broker restart of any length (Celery's default gives up
                                             # after 100 attempts and the worker exits)
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(config),
        beat_schedule_filename=str(Path(config.data_dir).resolve() / "celerybeat-schedule"),
    )
    return celery_app


def __getattr__(name: str) -> Any:
    # `celery -A worker` asks for worker.app: read config.yaml then, and refuse to start on a bad one.
    if name == "app":
        try:
            return configure(load_config())
        except ConfigError as exc:
            sys.stderr.write(f"deskdraft: worker not started.\n{exc}\n")
            raise SystemExit(2) from None
    raise AttributeError(name)


def deps() -> pipeline.Deps:
    """This process's connections, built on first use, shared by the worker threads, and rebuilt when an
    admin's edit of config.yaml is valid (a bad edit is refused and logged; the last good config stays)."""
    global _deps
    with _deps_lock:
        if _config is None:
            configure(load_config())
        config = _live.current() if _live else _config
        if config is None:
            raise RuntimeError("worker.configure did not set a config")
        if _deps is None or _deps.config is not config:
            _deps = build_deps(config, _deps)
        return _deps


def build_deps(config: Config, previous: pipeline.Deps | None = None) -> pipeline.Deps:
    """Everything a job needs; what the new config did not change (database, knowledge store) is kept, and what it
    replaced is closed: the old store at once (its embedded lock must go before the new one opens), HTTP clients
    after a grace period, since runs in flight may still be using them."""
    from drafting.intents import persistence
    from drafting.safety import SafetyNet
    from knowledge.retriever import Retriever  # keeps onnxruntime/chromadb out of the web process

    drafter = Drafter(config.anthropic, config.drafting.assistant_name, config.brand) \
        if config.anthropic.api_key else None
    if drafter is None:
        log.warning("%s is not set: notes will list relevant articles but carry no drafted reply",
                    config.anthropic.api_key_env)
    # state.url is restart-only (settings.RESTART_ONLY): a reload never moves this process to another database.
    state = previous.state if previous is not None else _counted(State(config.database_url))
    same_intents = previous is not None and previous.config.intents == config.intents \
        and previous.config.knowledge.embedding == config.knowledge.embedding
    router = previous.router if previous is not None and same_intents else persistence.load_or_train(config)
    log.info("intent router: %s", persistence.describe(router))
    retriever = Retriever(config, previous.retrieve if previous is not None and isinstance(previous.retrieve, Retriever)
                          else None)
    if previous is not None:
        _close_later([*previous.connectors.values(), previous.drafter])
    return pipeline.Deps(config=config, state=state, connectors=build_connectors(config), retrieve=retriever,
                         drafter=drafter, router=router, safety=SafetyNet(config.routing.risk_patterns))


def _counted(state: State) -> State:
    from deskdraft import metrics

    metrics.count_database_work(state.engine)
    return state


CLOSE_GRACE_SECONDS = 300.0  # longer than any helpdesk or model call a run in flight can still be making


def _close_later(resources: list[Any]) -> None:
    def close() -> None:
        for resource in resources:
            try:
                if resource is not None:
                    resource.close()
            except Exception as exc:  # closing is tidying up: never let it hurt a run
                log.warning("closing a replaced %s: %s", type(resource).__name__, exc)

    timer = threading.Timer(CLOSE_GRACE_SECONDS, close)
    timer.daemon = True
    timer.start()


HEARTBEAT_SECONDS = 10.0


@worker_ready.connect
def _warm_up(**kwargs: Any) -> None:
    """Load the embedding model, the router and the connections before the first ticket, not during it; then
    say so every HEARTBEAT_SECONDS (state.last_heartbeat(), for /healthz)."""
    from drafting import language
    from knowledge.health import knowledge_store_health

    d = deps()
    language.detect("Hello, where is my order?")  # loads the language model (2.5 s here), not in the first ticket
    try:  # read before the store is opened: opening creates an empty one where the folder is gone
        ok, reason = knowledge_store_health(d.config)
        (log.info if ok else log.error)("knowledge store: %s", reason)
        _store(d)
    except Exception as exc:  # held by an admin's ingest, a server down: retrievals retry; start anyway
        log.error("knowledge store not opened at start: %s", exc)
    name = f"{socket.gethostname()}:{os.getpid()}"

    def beat() -> None:
        while True:
            try:
                deps().state.heartbeat(name, os.getpid())
            except Exception as exc:  # the database is down: /healthz shows the heartbeat getting old
                log.warning("heartbeat not written: %s", exc)
            time.sleep(HEARTBEAT_SECONDS)

    threading.Thread(target=beat, name="deskdraft-heartbeat", daemon=True).start()


_beat_lock: Any = None


@beat_init.connect
def _one_scheduler(**kwargs: Any) -> None:
    """One scheduler per deployment (deskdraft/scheduler_lock.py): a second beat waits as a standby on PostgreSQL,
    and refuses to start on the same SQLite data folder."""
    from deskdraft import scheduler_lock

    global _beat_lock
    _beat_lock = scheduler_lock.hold(_config or load_config())


def _countdown(exc: BaseException, retries: int, base: int) -> int:
    hinted = getattr(exc, "retry_after", None)
    if isinstance(exc, anthropic.APIStatusError):
        header = exc.response.headers.get("retry-after")
        hinted = float(header) if header and header.replace(".", "", 1).isdigit() else None
    backoff = base * (2 ** retries)
    return int(min(MAX_COUNTDOWN, max(hinted or 0, backoff)))


@celery_app.task(bind=True, name="worker.process_event", acks_late=True, max_retries=None)
def process_event(self: Any, inbox_id: int) -> str:
    """Draft for one accepted webhook event. Ids in, everything re-read; safe to run twice."""
    d = deps()
    try:
        event = d.state.start_attempt(inbox_id)
    except OperationalError as exc:  # the database is locked or restarting: nothing started yet, try again later
        raise self.retry(exc=exc, countdown=_countdown(exc, self.request.retries,
                                                       d.config.queue.retry_backoff_seconds)) from None
    if event is None:  # not pending any more, or erased meanwhile (`erase`)
        return "not pending"
    try:
        with d.state.audit_batch():
            outcome = pipeline.handle(event, d, owner=leases.owner_id(self.request.id))
    except TRANSIENT as exc:
        limit = d.config.queue.task_max_retries
        if self.request.retries >= limit or isinstance(exc, anthropic.EnforcedSpendLimitReachedError):
            # A spend limit is monthly: backing off for minutes would only delay the note that says so.
            return _give_up(event, d, f"{type(exc).__name__}: {exc}")
        countdown = _countdown(exc, self.request.retries, d.config.queue.retry_backoff_seconds)
        try:
            d.state.log(event.account, event.ticket_id, "retry_scheduled", inbox_id, error=str(exc)[:300],
                        in_seconds=countdown, retry=self.request.retries + 1, of=limit)
            d.state.mark_enqueued(inbox_id, delay=countdown)
        except SQLAlchemyError as db_down:  # the retry still goes out; the pending row and the sweep back it up
            log.warning("inbox %s: retry bookkeeping not written: %s", inbox_id, db_down)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except PermanentHelpdeskError as exc:
        # 401/403/404/422: the helpdesk refuses; retrying will not change that. Recorded for the admin.
        d.state.log(event.account, event.ticket_id, "failed", inbox_id, error=str(exc))
        d.state.finish_event(inbox_id, "helpdesk_refused", str(exc), failed=True)
        log.error("inbox %s: %s", inbox_id, exc)
        return "helpdesk_refused"
    except Exception as exc:  # a refusal waiting cannot fix (bad API key, a bug): say so in the ticket, once
        log.exception("inbox %s: giving up", inbox_id)
        return _give_up(event, d, f"{type(exc).__name__}: {exc}")
    if outcome.kind == "in_progress":
        if event.attempts > 1:
            # Possibly our own first attempt, still running after the sweep sent us again: stay pending, so a
            # sweep brings this event back if that run died.
            d.state.mark_enqueued(inbox_id)
            return outcome.kind
        # A new delivery for a customer message another event's run is working on. That event stays pending until
        # its run finishes (and is swept back if it dies), so this duplicate is done after its one ticket read
        # (left pending, it was read again at every sweep: 62 reads a ticket in a duplicate storm).
        d.state.finish_event(inbox_id, "duplicate", outcome.reason or None)
        return "duplicate"
    d.state.finish_event(inbox_id, outcome.kind, outcome.reason or None)
    return outcome.kind


def _give_up(event: Any, d: pipeline.Deps, error: str) -> str:
    """Out of retries: a note in the ticket says so, so nothing is dropped in silence."""
    d.state.log(event.account, event.ticket_id, "gave_up", event.id, error=error)
    try:
        pipeline.post_failure(event, d, error)
    except Exception as exc:  # the helpdesk itself is down: the inbox row keeps the record
        log.error("inbox %s: could not post the failure note either: %s", event.id, exc)
        d.state.finish_event(event.id, "gave_up", f"{error}; failure note not posted: {exc}", failed=True)
        return "gave_up"
    d.state.finish_event(event.id, "failure_note", error, failed=True)
    return "failure_note"


SWEEP_BATCH = 500
SWEEP_SECONDS_PER_TICKET = 4.0  # ~2 s model + helpdesk reads and writes (benchmarks/pipeline.py, README figures)


@celery_app.task(name="worker.sweep_inbox")
def sweep_inbox() -> int:
    """Re-enqueue every accepted event not finished in time (lost message, killed worker), in batches until none
    is left. Each requeued event's sweep clock is pushed out by its place in the backlog divided by what the
    workers drain, so a backlog bigger than one sweep_after is not enqueued again while it is still queued."""
    d = deps()
    per_second = max(1, d.config.queue.concurrency) / SWEEP_SECONDS_PER_TICKET
    total = 0
    while True:
        stalled = d.state.stalled_events(d.config.queue.sweep_after_seconds, limit=SWEEP_BATCH)
        d.state.requeue([(event, (total + n) / per_second) for n, event in enumerate(stalled)])
        for event in stalled:  # after the bookkeeping: a job that starts at once must find its row updated
            process_event.delay(event.id)
        total += len(stalled)
        if len(stalled) < SWEEP_BATCH:
            break
    if total:
        log.warning("sweep: re-enqueued %d stalled event(s)", total)
    return total


@celery_app.task(name="worker.review_drafts")
def review_drafts() -> int:
    """Look for agents' answers to our drafts (they call no webhook of ours): per account, read only the tickets the
    helpdesk lists as changed since the last pass (drafting/review_pass.py)."""
    from drafting import review_pass

    d = deps()
    recorded = 0
    for account, connector in d.connectors.items():
        try:
            report = review_pass.review_account(connector, d.state, d.config.autonomy.accept_after_days)
        except (TransientHelpdeskError, PermanentHelpdeskError) as exc:  # the cursor stays: the next pass catches up
            log.warning("review: %s changes not listed: %s", account, exc)
            continue
        if report.read or report.failed:
            log.info("review: %s", report)
        recorded += report.recorded
    return recorded


@celery_app.task(name="worker.purge_expired")
def purge_expired() -> dict[str, int]:
    """Delete what is older than config.retention_days (inbox, audit, drafted text, reviews)."""
    d = deps()
    keep = d.config.retention
    removed = d.state.purge(keep.inbox, keep.audit, keep.drafts, keep.reviews)
    if any(removed.values()):
        log.info("retention purge: %s", ", ".join(f"{k} {v}" for k, v in removed.items()))
    return removed


def _store(d: pipeline.Deps) -> Any:
    """The knowledge store behind the worker's retriever (build_deps always makes a Retriever)."""
    from knowledge.retriever import Retriever

    assert isinstance(d.retrieve, Retriever)
    return d.retrieve.store()


@celery_app.task(name="worker.sync_knowledge")
def sync_knowledge() -> list[str]:
    """Sync every configured knowledge source; runs here because the worker holds the embedded store."""
    from knowledge.sync import summary, sync_all

    d = deps()
    reports = [summary(r) for r in sync_all(_store(d), d.config.knowledge.sources, d.connectors)]
    for line in reports:
        log.info("knowledge sync: %s", line)
    return reports
