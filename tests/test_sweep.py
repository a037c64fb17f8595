"""The sweep scales with the backlog: 1,000 events lost from the broker are all back in the queue after one pass
(it used to take ten passes, one a minute), and a backlog the workers are still draining is not enqueued twice."""
from __future__ import annotations

import time

import worker
from deskdraft.settings import parse_config
from deskdraft.state import State
from tests.conftest import config_text
from tests.e2e.test_spine import redis_url


def test_one_sweep_requeues_a_thousand_lost_events_once(tmp_path, secrets):
    broker = redis_url()
    queue = f"sweep-{time.time_ns()}"
    config = parse_config(config_text(tmp_path / "var", queue={"broker_url": broker, "name": queue,
                                                               "concurrency": 8, "sweep_after_seconds": 60}),
                          str(tmp_path / "config.yaml"))
    long_ago = State(config.database_url, clock=lambda: time.time() - 3600)  # accepted an hour ago, never drafted
    for n in range(1000):
        long_ago.record_event("zendesk", f"lost-{n}", str(n), "customer.replied")
    worker.configure(config)
    from kombu import Connection

    try:
        started = time.monotonic()
        assert worker.sweep_inbox.run() == 1000
        took = time.monotonic() - started
        with Connection(broker) as conn:
            assert conn.default_channel.client.llen(queue) == 1000  # every one of them on the broker now
        assert worker.sweep_inbox.run() == 0  # still queued: not sent again on the next pass
        # The clock of each requeued event is pushed out by its place in the backlog (8 threads, ~4 s a ticket):
        # the last is not "stalled" again before the workers could have reached it.
        state = worker.deps().state
        assert len(state.stalled_events(60, limit=2000)) == 0
        due_in_400s = len(state.stalled_events(-400, limit=2000))  # the first ~800 (2 a second), not the rest
        assert 700 < due_in_400s < 900, due_in_400s
        print(f"1000 lost events back on the broker in {took:.1f} s (one pass)")
    finally:
        with Connection(broker) as conn:
            conn.default_channel.queue_delete(queue)
        if worker._deps is not None:
            worker._deps.retrieve.close()
        worker._config = worker._deps = worker._live = None
