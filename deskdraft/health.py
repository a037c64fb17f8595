"""What /healthz checks: the config, the database, the broker, the knowledge store and the worker's heartbeat.

The answer names each component and one word for its state, never a path, a config line or an error text:
the endpoint is unauthenticated. Details go to the log. Results are kept a few seconds so a flood of probes
cannot turn into a flood of broker connections.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("deskdraft.health")
HEARTBEAT_SECONDS = 15.0  # how often the worker beats
STALE_AFTER = 4 * HEARTBEAT_SECONDS
CACHE_SECONDS = 2.0


def database(state: Any) -> str:
    from sqlalchemy import text
    with state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def broker(config: Any) -> str:
    if not config.queue.broker_url:  # the embedded broker is a folder the worker and the web server share
        folder = Path(config.data_dir).resolve() / "broker" / "queue"
        return "ok" if folder.is_dir() else "missing"
    from kombu import Connection
    with Connection(config.queue.broker_url, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def knowledge(config: Any) -> str:
    """missing / empty / unreachable / ok, read without opening Chroma (the embedded store is the worker's alone)."""
    from knowledge.health import knowledge_store_health

    ok, reason = knowledge_store_health(config)
    if ok:
        return "ok"
    log.warning("knowledge store: %s", reason)
    if reason.startswith("the knowledge store is missing"):
        return "missing"
    return "empty" if reason.endswith("is empty") or " is empty;" in reason else "unreachable"


def worker(state: Any, now: float) -> str:
    last = state.last_beat()
    if last is None:
        return "never_seen"
    return "ok" if now - last < STALE_AFTER else "stale"


class Health:
    def __init__(self, config: Callable[[], Any], state: Callable[[], Any], config_error: Callable[[], str | None],
                 clock: Callable[[], float] = time.time) -> None:
        self._config, self._state, self._config_error, self._clock = config, state, config_error, clock
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    def report(self) -> dict[str, Any]:
        """{"status": "ok"|"degraded", "components": {name: word}}."""
        with self._lock:
            now = self._clock()
            if self._cached and now - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            config = self._config()
            checks: dict[str, Callable[[], str]] = {
                "config": lambda: "error" if self._config_error() else "ok",
                "database": lambda: database(self._state()),
                "broker": lambda: broker(config),
                "knowledge": lambda: knowledge(config),
                "worker": lambda: worker(self._state(), now)}
            components = {}
            for name, check in checks.items():
                try:
                    components[name] = check()
                except Exception as exc:  # the reason goes to the log, not to whoever asked
                    log.warning("health: %s unavailable: %s: %s", name, type(exc).__name__, exc)
                    components[name] = "unavailable"
            status = "ok" if all(v == "ok" for v in components.values()) else "degraded"
            result = {"status": status, "components": components}
            self._cached = (now, result)
            return result
