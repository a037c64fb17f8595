"""Schema migrations: a database made by the release before migrations is adopted and upgraded with its rows
kept; processes starting together on an empty folder migrate once, without racing; the tables deskdraft/state.py
declares are exactly what the migrations build (SQLite and PostgreSQL)."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from deskdraft import migrations
from deskdraft import state as state_module
from deskdraft.state import State
from tests.test_state import drop_database, postgres_url

REPO = Path(__file__).resolve().parents[1]
BEFORE = Path(__file__).parent / "fixtures" / "schema_before_migrations.sql"


def test_a_database_from_the_release_before_migrations_is_upgraded_with_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'deskdraft.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in BEFORE.read_text().split(";"):
            if (statement.strip() and not statement.strip().startswith("--")) or "CREATE" in statement:
                conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO inbox (account, event_id, ticket_id, kind, status, attempts, received_at, "
                          "enqueued_at) VALUES ('zendesk', 'e1', '7', 'customer.replied', 'pending', 0, 1, 1)"))
    engine.dispose()

    state = State(url)
    with state.engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
        assert {"pending_posts", "heartbeats"} <= set(inspect(conn).get_table_names())
    assert [e.event_id for e in state.events()] == ["e1"]  # the old rows are kept
    state.save_plan("zendesk:7:1", "zendesk", "7", {"kind": "posted_note"})  # and the new tables work
    assert state.pending_posts("zendesk", "7")[0]["step"] == "planned"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_what_state_declares(tmp_path, backend):
    url = f"sqlite:///{tmp_path / 'x.db'}" if backend == "sqlite" else postgres_url()
    try:
        state = State(url)
        with state.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), state_module.metadata)
        state.dispose()
        assert diff == []
    finally:
        if backend == "postgresql":
            drop_database(url)


def _start(url: str) -> None:
    State(url).dispose()


def test_processes_starting_together_on_an_empty_folder_migrate_once(tmp_path):
    """What scripts/run's processes (2 gunicorn workers and the Celery worker) do at once on a first start,
    20 times over: none may fail. Forked, so 60 Python start-ups do not drown the race in import time."""
    fork = multiprocessing.get_context("fork")
    for n in range(20):
        url = f"sqlite:///{tmp_path / f'start{n}' / 'deskdraft.db'}"
        procs = [fork.Process(target=_start, args=(url,)) for _ in range(3)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(120)
        assert [proc.exitcode for proc in procs] == [0, 0, 0], f"start {n} failed"
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [migrations.head()]
        engine.dispose()
