"""The worker's logs, metrics, heartbeat and malloc arenas, hooked on Celery's signals so the tasks themselves stay as
they are.

Every process_event run is tagged with its account, ticket and inbox ids in the log, timed, and counted by
outcome; every retry is counted by cause; the heartbeat itself is written by worker.py's warm-up thread.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import setup_logging, task_postrun, task_prerun, task_retry, worker_init, worker_ready

from deskdraft import allocator, logging_setup, metrics

log = logging.getLogger("deskdraft.worker")
_running: dict[str, tuple[Any, float, int, str]] = {}  # task id -> (log context, start, inbox id, account)
_arenas: int | None = None  # the malloc arena cap set at worker_init


@setup_logging.connect
def _logging(**kwargs: Any) -> None:
    """Connected, so Celery leaves logging to us: the same format (and JSON switch) as the web server."""
    import worker
    from deskdraft.settings import LoggingSettings

    logging_setup.configure(worker._config.logging if worker._config else LoggingSettings())


@worker_init.connect
def _cap_malloc_arenas(**kwargs: Any) -> None:
    """Before the pool's threads start: each would get an arena of its own (deskdraft/allocator.py)."""
    global _arenas
    _arenas = allocator.limit_arenas()


@worker_ready.connect
def _say_arenas(**kwargs: Any) -> None:  # logging is set up by now, not yet at worker_init
    log.info("malloc arenas: %s", _arenas if _arenas is not None else "not capped (not glibc)")


@task_prerun.connect
def _job_started(task_id: str = "", task: Any = None, args: tuple = (), **kwargs: Any) -> None:
    if getattr(task, "name", "") != "worker.process_event" or not args:
        return
    import worker

    d = worker.deps()
    if metrics.on_audit not in d.state.listeners:
        d.state.listeners.append(metrics.on_audit)
    inbox_id = int(args[0])
    event = d.state.get_event(inbox_id)
    account, ticket = (event.account, event.ticket_id) if event else ("(gone)", None)
    context = logging_setup.log_context(account=account, ticket=ticket, inbox=inbox_id)
    context.__enter__()
    metrics.job_started(inbox_id)
    _running[task_id] = (context, time.monotonic(), inbox_id, account)


@task_postrun.connect
def _job_finished(task_id: str = "", retval: Any = None, state: str = "", **kwargs: Any) -> None:
    running = _running.pop(task_id, None)
    if running is None:
        return
    context, started, inbox_id, account = running
    outcome = retval if state == "SUCCESS" and isinstance(retval, str) else (state or "unknown").lower()
    metrics.job_finished(inbox_id, account, outcome.replace(" ", "_"), started)
    context.__exit__(None, None, None)


@task_retry.connect
def _retried(reason: Any = None, **kwargs: Any) -> None:
    if isinstance(reason, BaseException):
        metrics.count_retry(reason)
