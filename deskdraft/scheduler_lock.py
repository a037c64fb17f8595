"""Exactly one scheduler (celery beat) per deployment: two would send every sweep, review pass and sync twice.

- State on PostgreSQL (the multi-host topology): a session advisory lock on the deployment's database. A second
  beat, on this host or another, waits as a standby and takes over within `POLL_SECONDS` of the first one's death
  (its connection closes, PostgreSQL drops the lock). If the lock's connection is lost the holder exits, so two
  never run at once; its supervisor restarts it as a standby.
- State on SQLite (one host): a file lock in data_dir; a second beat exits at once, as before.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
STANDBY_LOG_SECONDS = 60.0


def lock_key(queue_name: str) -> int:
    """One key per queue name: deployments sharing a database but not a queue each get their scheduler."""
    return zlib.crc32(f"deskdraft-scheduler:{queue_name}".encode())


class PostgresSchedulerLock:
    def __init__(self, url: str, queue_name: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url, poolclass=_single_connection_pool())
        self.key = lock_key(queue_name)
        self.conn: Any = None

    def acquire(self) -> None:
        """Block until this process holds the lock."""
        from sqlalchemy import text

        waited_since, told = time.monotonic(), 0.0
        while True:
            try:
                conn = self.engine.connect()
                if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar():
                    conn.commit()  # the lock is the session's, not the transaction's: keep the connection open
                    self.conn = conn
                    log.info("scheduler lock %s held: this beat sends the periodic jobs", self.key)
                    return
                conn.close()
            except Exception as exc:  # the database is away: keep waiting, a standby costs nothing
                log.warning("scheduler lock not taken yet: %s", str(exc).splitlines()[0][:200])
            if time.monotonic() - told > STANDBY_LOG_SECONDS:
                log.info("another scheduler holds lock %s: waiting as a standby (%.0f s so far)", self.key,
                         time.monotonic() - waited_since)
                told = time.monotonic()
            time.sleep(POLL_SECONDS)

    def watch(self, on_lost: Any) -> None:
        """Check the lock's connection every POLL_SECONDS; call on_lost() when it is gone (the lock with it)."""
        from sqlalchemy import text

        def run() -> None:
            while True:
                time.sleep(POLL_SECONDS)
                try:
                    self.conn.execute(text("SELECT 1")).scalar()
                    self.conn.commit()
                except Exception as exc:
                    log.error("scheduler lock connection lost (%s): this beat stops", type(exc).__name__)
                    on_lost()
                    return

        threading.Thread(target=run, name="deskdraft-scheduler-lock", daemon=True).start()


def _single_connection_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool  # every connect() is a new session: a lost one is never handed back from a pool


def hold(config: Any) -> Any:
    """Become the one scheduler of this deployment, or stop/wait trying; returns what keeps the lock alive."""
    if config.database_url.startswith("postgresql"):
        lock = PostgresSchedulerLock(config.database_url, config.queue.name)
        lock.acquire()
        lock.watch(lambda: os._exit(4))  # beat must not go on without the lock: exiting is the safe side
        return lock
    from filelock import FileLock, Timeout

    path = Path(config.data_dir).resolve() / "celerybeat.lock"
    file_lock = FileLock(str(path), thread_local=False)
    try:
        file_lock.acquire(blocking=False)
    except Timeout:
        log.error("another scheduler (celery beat) holds %s: this one stops", path)
        os._exit(3)  # beat would go on after an exception here; a second one must not
    return file_lock
