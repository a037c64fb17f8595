"""One scheduler per deployment: with state on PostgreSQL a second `celery beat` (another host, a second
scripts/cluster) waits as a standby, and takes over when the first dies."""
from __future__ import annotations

import os

from deskdraft.cluster import Cluster
from tests.conftest import config_text
from tests.e2e.desks import SECRETS
from tests.e2e.harness import wait_for
from tests.e2e.test_spine import redis_url
from tests.test_state import drop_database, postgres_url

HELD = "scheduler lock"


def test_a_second_beat_waits_and_takes_over_when_the_first_dies(tmp_path):
    database = postgres_url()
    config = tmp_path / "config.yaml"
    config.write_text(config_text(tmp_path / "var", state={"url": database},
                                  queue={"broker_url": redis_url(), "name": f"beat-{os.getpid()}",
                                         "sweep_interval_seconds": 1}))
    cluster = Cluster({**os.environ, **SECRETS, "DESKDRAFT_CONFIG": str(config)}, tmp_path / "logs")
    try:
        cluster.start_beat("beat-a")
        wait_for(lambda: "held: this beat sends" in cluster.log("beat-a"), 60, "the first beat to hold the lock")
        cluster.start_beat("beat-b")
        wait_for(lambda: "waiting as a standby" in cluster.log("beat-b"), 60, "the second beat to stand by")
        assert cluster.alive("beat-b") and "held: this beat sends" not in cluster.log("beat-b")
        wait_for(lambda: "Sending due task sweep-inbox" in cluster.log("beat-a"), 20, "the first beat's sweeps")
        assert "Sending due task" not in cluster.log("beat-b")  # the standby sends nothing

        cluster.kill("beat-a")  # SIGKILL: its connection drops, PostgreSQL frees the lock
        wait_for(lambda: "held: this beat sends" in cluster.log("beat-b"), 30, "the standby to take over")
        wait_for(lambda: "Sending due task sweep-inbox" in cluster.log("beat-b"), 20, "the new scheduler's sweeps")
    finally:
        cluster.stop()
        drop_database(database)
