"""Live reload: the config in force is re-read when the file changes; a bad edit, or one that only a restart
can apply, is refused and the last good config kept."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deskdraft.settings.loading import ConfigError, load_config
from deskdraft.settings.model import Config

log = logging.getLogger("deskdraft.config")

# Settings a running process cannot switch safely: the database and broker both processes share (the web server
# on the old database while the worker reads the new one drops events), what Celery, gunicorn and the scheduler
# read once at start. An edit that changes one of them is refused as a whole until a restart.
RESTART_ONLY: dict[str, Callable[[Config], Any]] = {
    "data_dir": lambda c: str(Path(c.data_dir).resolve()),
    "state.url": lambda c: c.database_url,
    "queue.broker_url": lambda c: c.queue.broker_url,
    "queue.name": lambda c: c.queue.name,
    "queue.concurrency": lambda c: c.queue.concurrency,
    "queue.sweep_interval_seconds": lambda c: c.queue.sweep_interval_seconds,
    "webhooks.max_body_bytes": lambda c: c.webhooks.max_body_bytes,
    "autonomy.review_interval_seconds": lambda c: c.autonomy.review_interval_seconds,
    "knowledge.sync_interval_minutes": lambda c: c.knowledge.sync_interval_minutes,
}


def needs_restart(running: Config, edited: Config) -> list[str]:
    """The restart-only settings an edit changes, by their config.yaml names."""
    return [name for name, read in RESTART_ONLY.items() if read(running) != read(edited)]


class LiveConfig:
    """The config in force, re-read when the file changes; a bad edit is refused and the last good one kept.

    Checked at most every `interval` seconds (one stat call), so a running worker or web process picks up an
    admin's edit without a restart.
    """

    def __init__(self, path: Path, initial: Config, interval: float = 1.0,
                 clock: Callable[[], float] | None = None) -> None:
        self.path = path
        self._config = initial
        self._interval = interval
        self._clock = clock or time.monotonic
        self._checked = self._clock()
        self._mtime = self._stat()
        self._lock = threading.Lock()
        self.error: str | None = None  # why the file on disk is not in force, if it is not

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size  # two quick edits can share a timestamp on coarse clocks

    def current(self) -> Config:
        now = self._clock()
        if now - self._checked < self._interval:  # every call but one a second: no lock (64 threads take this path)
            return self._config
        with self._lock:
            if now - self._checked < self._interval:
                return self._config
            self._checked = now
            mtime = self._stat()
            if mtime == self._mtime:
                return self._config
            self._mtime = mtime
            try:
                loaded = load_config(self.path)
                restart = needs_restart(self._config, loaded)
                if restart:  # web and worker must never disagree on these: both keep the running values
                    raise ConfigError(f"{', '.join(restart)} changed: needs a restart of scripts/run")
                self._config = loaded
                self.error = None
                log.warning("config reloaded from %s", self.path)
            except ConfigError as exc:
                self.error = f"{exc} (the last good config stays in force)"
                log.error("config edit refused: %s", self.error)
            return self._config
