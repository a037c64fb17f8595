"""scripts/supervise.py on real processes: SIGKILL the worker ten times (as the OOM killer would); it comes back
each time, one scheduler stays, sweeps keep their pace, and nothing outlives the supervisor."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskdraft.settings import parse_config
from deskdraft.state import State
from tests.conftest import config_text
from tests.e2e.desks import SECRETS
from tests.e2e.harness import REPO, wait_for

SWEEP_INTERVAL = 1.0


def ours(marker: str) -> dict[int, str]:
    """pid -> command line of every process started with our config (found through its environment)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def celery(marker: str, role: str) -> list[int]:
    return [pid for pid, cmd in ours(marker).items() if f"celery -A worker {role}" in cmd]


@pytest.fixture
def supervised(tmp_path):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(config_text(tmp_path / "var", queue={"name": f"sup-{os.getpid()}-{time.time_ns()}",
                                                                 "sweep_interval_seconds": SWEEP_INTERVAL}))
    env = {**os.environ, **SECRETS, "DESKDRAFT_CONFIG": str(config_path), "HF_HUB_OFFLINE": "1",
           "DESKDRAFT_RESTART_PAUSES": "0.5", "DESKDRAFT_STOP_GROUP_ON_FAILURE": "0"}
    log = tmp_path / "supervisor.log"
    started = {}

    def start(**extra: str) -> subprocess.Popen:
        with log.open("a") as output:  # the child keeps its own copy
            proc = subprocess.Popen([sys.executable, "scripts/supervise.py"], cwd=REPO, env={**env, **extra},
                                    stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        started["proc"] = proc
        return proc

    yield start, str(config_path), log, parse_config(config_path.read_text(), str(config_path))
    proc = started.get("proc")
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in ours(str(config_path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def worker_ready(log: Path, count: int) -> bool:
    return log.read_text().count("ready.") >= count


@pytest.mark.timeout(1200)
def test_ten_sigkills_of_the_worker_leave_one_scheduler_and_the_sweeps_at_their_pace(supervised):
    start, marker, log, config = supervised
    supervisor = start()
    wait_for(lambda: worker_ready(log, 1), 120, "the first worker")
    began = time.monotonic()
    for n in range(10):
        [pid] = celery(marker, "worker")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda n=n: worker_ready(log, n + 2), 120, f"the worker to come back after kill {n + 1}")
        assert len(celery(marker, "beat")) == 1  # no orphan scheduler, no second one
    elapsed = time.monotonic() - began
    assert supervisor.poll() is None
    assert len(celery(marker, "worker")) == 1 and len(celery(marker, "beat")) == 1

    sent = len(re.findall(r"Sending due task sweep-inbox", log.read_text()))
    total = time.monotonic() - began + 5
    # One scheduler: about one sweep per interval over the whole run, not one per worker ever started.
    assert sent <= total / SWEEP_INTERVAL + 5, (sent, total)
    heartbeat = State(config.database_url).last_heartbeat()
    assert heartbeat is not None and heartbeat["pid"] in celery(marker, "worker")
    print(f"10 SIGKILLs in {elapsed:.1f} s; {sent} sweeps sent in {total:.1f} s")

    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(60) == 0
    wait_for(lambda: not ours(marker), 30, "every child to stop")


def test_nothing_outlives_a_killed_supervisor(supervised):
    start, marker, log, _ = supervised
    supervisor = start()
    wait_for(lambda: worker_ready(log, 1), 120, "the worker")
    os.kill(supervisor.pid, signal.SIGKILL)
    supervisor.wait(10)
    wait_for(lambda: not ours(marker), 60, "the worker and the scheduler to stop with their supervisor")


def test_a_worker_that_keeps_dying_stops_the_service_loudly(supervised):
    start, marker, log, _ = supervised
    supervisor = start(DESKDRAFT_MAX_RESTARTS="2")
    for n in range(3):
        wait_for(lambda n=n: worker_ready(log, n + 1), 120, "the worker")
        os.kill(celery(marker, "worker")[0], signal.SIGKILL)
    assert supervisor.wait(60) == 1
    assert "stopping the whole service" in log.read_text()
    wait_for(lambda: not ours(marker), 60, "every child to stop")


def test_a_second_scheduler_on_the_same_data_folder_refuses_to_run(supervised):
    start, marker, log, _config = supervised
    supervisor = start()
    wait_for(lambda: "beat: Starting" in log.read_text(), 120, "the scheduler")
    second = subprocess.run([sys.executable, "-m", "celery", "-A", "worker", "beat"], cwd=REPO,
                            env={**os.environ, **SECRETS, "DESKDRAFT_CONFIG": marker}, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 3 and "another scheduler" in second.stdout + second.stderr
    supervisor.send_signal(signal.SIGTERM)
    supervisor.wait(60)
