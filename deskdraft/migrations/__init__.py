"""Alembic migrations of deskdraft's own tables (state.py). `upgrade(engine)` brings a database to head,
once, under a lock, so the web workers and the Celery worker starting together cannot race."""
from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema every release before migrations created with metadata.create_all
PG_LOCK_KEY = 0x6465736B  # "desk": one advisory lock for every deskdraft migration on a PostgreSQL server


def _alembic(connection: Connection | None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(_alembic(None)).get_current_head()
    if revision is None:  # only a broken checkout gets here
        raise RuntimeError(f"no migration found in {HERE / 'versions'}")
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str | None:
    """Bring the schema to head; returns the revision it started from (None: an empty database).

    Cheap when already at head (one read). Otherwise one process migrates while the others wait on the lock
    (a file lock beside the SQLite file, an advisory lock on PostgreSQL) and then find nothing left to do.
    """
    with engine.connect() as conn:
        if current(conn) == head():
            return head()
    if engine.dialect.name == "sqlite":
        with FileLock(f"{engine.url.database}.migrate.lock", timeout=120):
            return _upgrade_locked(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
        try:
            return _upgrade_locked(engine)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})


def _upgrade_locked(engine: Engine) -> str | None:
    with engine.begin() as conn:
        started = current(conn)
        if started is None and inspect(conn).has_table("inbox"):
            # Made by a release before migrations: adopt it as the baseline, then upgrade as usual.
            command.stamp(_alembic(conn), BASELINE)
            started = BASELINE
        if started != head():
            log.info("database schema: upgrading from %s to %s", started or "empty", head())
            command.upgrade(_alembic(conn), "head")
        return started
