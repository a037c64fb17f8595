"""Exactly once with many workers, proven under faults: three worker processes on Redis and PostgreSQL with a Chroma
server, 60 tickets, a 2 s model, and a random worker SIGKILLed every few seconds (and restarted, as a supervisor
would); the scheduler is SIGKILLed once and its standby must take over. Every ticket ends with exactly one post;
none is lost. The time to drain is printed (benchmarks/faults.py runs 500 tickets)."""
from __future__ import annotations

from tests.e2e.fault_drill import run_drill
from tests.e2e.test_spine import redis_url
from tests.test_state import drop_database, postgres_url


def test_three_workers_killed_at_random_post_every_ticket_exactly_once(tmp_path, capsys):
    broker = redis_url()
    database = postgres_url()
    try:
        result = run_drill(tmp_path, tickets=60, broker_url=broker, database_url=database, workers=3,
                           concurrency=4, model_seconds=2.0, kill_every=(3.0, 6.0), lease_seconds=6,
                           sweep_after_seconds=8, timeout=150)
    finally:
        drop_database(database)
    with capsys.disabled():
        print(f"\nmulti-worker fault drill: {result.summary()}")
    assert len(result.kills) >= 4, "the drill must actually kill workers mid-run"
    assert result.missing == [] and result.doubled == [], result.summary()
    assert result.standby_sent_before is False, "a standby scheduler sent tasks while the first one ran"
    assert result.standby_took_over, "the standby scheduler never took over"
