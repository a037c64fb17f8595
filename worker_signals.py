"""The worker's logs, metrics and heartbeat, hooked on Celery's signals so the tasks themselves stay as they are.

Every process_event run is tagged with its account, ticket and inbox ids in the log, timed, and counted by
outcome; every retry is counted by cause; a thread records the worker's heartbeat for /healthz.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from celery.signals import setup_logging, task_postrun, task_prerun, task_retry, worker_ready, worker_shutdown

import health
import logging_setup
import metrics

log = logging.getLogger("deskdraft.worker")
_running: dict[str, tuple[Any, float, int, str]] = {}  # task id -> (log context, start, inbox id, account)
_stop = threading.Event()


@setup_logging.connect
def _logging(**kwargs: Any) -> None:
    """Connected, so Celery leaves logging to us: the same format (and JSON switch) as the web server."""
    import worker
    from ops_settings import logging_settings

    logging_setup.configure(worker._config.logging if worker._config else logging_settings())


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


def _beat(name: str) -> None:
    import worker

    while not _stop.is_set():
        try:
            worker.deps().state.beat(name)
        except Exception as exc:  # a database blip: /healthz shows a stale heartbeat if it lasts
            log.warning("heartbeat not recorded: %s", exc)
        _stop.wait(health.HEARTBEAT_SECONDS)


@worker_ready.connect
def _start_heartbeat(**kwargs: Any) -> None:
    _stop.clear()
    threading.Thread(target=_beat, args=(f"{socket.gethostname()}:{os.getpid()}",), name="deskdraft-heartbeat",
                     daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**kwargs: Any) -> None:
    _stop.set()
