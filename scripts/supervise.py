"""Runs the Celery worker and the scheduler (celery beat) as two supervised processes; scripts/run starts it.

- A child that dies (the OOM killer's SIGKILL, a crash) is restarted after a short, growing pause. More than
  ten deaths within five minutes mean something is wrong that restarting will not fix: the whole service (scripts/run's
  process group, gunicorn included) is stopped loudly instead of answering 202 with nobody draining the inbox.
- The scheduler is its own process, not a `-B` child of the worker: killing the worker's main process used to
  leave its embedded beat running, and each restart added another one sending sweeps. Beat also holds a lock
  (deskdraft/scheduler_lock.py): a second scheduler on the same SQLite data folder refuses to start, and on
  PostgreSQL one on another host waits as a standby.
- Each child gets SIGTERM if this supervisor dies (Linux PR_SET_PDEATHSIG), so nothing outlives it.
Child pids are written to <data_dir>/run/<name>.pid.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CELERY = [sys.executable, "-m", "celery", "-A", "worker"]
CHILDREN = {
    "worker": [*CELERY, "worker", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
    "beat": [*CELERY, "beat", "--loglevel", "INFO"],
}
MAX_RESTARTS = int(os.environ.get("DESKDRAFT_MAX_RESTARTS", "10"))  # within WINDOW_SECONDS, then stop everything
WINDOW_SECONDS = 300.0
# Seconds before the n-th quick restart in a row (a child that ran a minute starts the row again).
PAUSES = tuple(float(p) for p in os.environ.get("DESKDRAFT_RESTART_PAUSES", "1,2,5,10,30").split(","))
STOP_GRACE_SECONDS = 30.0


def _die_with_parent() -> None:
    # Not Linux: a killed supervisor can leave children, as with any shell script.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def say(message: str) -> None:
    print(f"deskdraft supervisor: {message}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, run_dir: Path, children: dict[str, list[str]]) -> None:
        self.run_dir = run_dir
        self.commands = children
        self.procs: dict[str, subprocess.Popen] = {}
        self.deaths: list[float] = []
        self.in_a_row = dict.fromkeys(children, 0)
        self.started_at: dict[str, float] = {}
        self.stopping = False

    def start(self, name: str) -> None:
        proc = subprocess.Popen(self.commands[name], cwd=REPO, preexec_fn=_die_with_parent)
        self.procs[name] = proc
        self.started_at[name] = time.monotonic()
        (self.run_dir / f"{name}.pid").write_text(f"{proc.pid}\n")
        say(f"{name} started, pid {proc.pid}")

    def run(self) -> int:
        for name in self.commands:
            self.start(name)
        while not self.stopping:
            time.sleep(0.5)
            for name, proc in list(self.procs.items()):
                code = proc.poll()
                if code is None or self.stopping:
                    continue
                now = time.monotonic()
                if now - self.started_at[name] > 60:
                    self.in_a_row[name] = 0
                self.deaths = [t for t in self.deaths if now - t < WINDOW_SECONDS] + [now]
                if len(self.deaths) > MAX_RESTARTS:
                    say(f"{name} exited with {code}; {len(self.deaths)} deaths in {WINDOW_SECONDS:.0f} s: "
                        "stopping the whole service (see the log above)")
                    self.stop()
                    return 1
                pause = PAUSES[min(self.in_a_row[name], len(PAUSES) - 1)]
                self.in_a_row[name] += 1
                say(f"{name} (pid {proc.pid}) exited with {code}; restarting in {pause} s")
                time.sleep(pause)
                if not self.stopping:
                    self.start(name)
        return 0

    def stop(self, *_: object) -> None:
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()  # Celery's warm shutdown: running tasks finish or go back to the queue
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> int:
    from deskdraft.settings import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as exc:
        say(f"not started: {exc}")
        return 2
    run_dir = Path(config.data_dir).resolve() / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    # Several hosts on one PostgreSQL and broker need one scheduler: DESKDRAFT_SCHEDULER=0 on all but one.
    children = {k: v for k, v in CHILDREN.items() if k != "beat" or os.environ.get("DESKDRAFT_SCHEDULER", "1") != "0"}
    supervisor = Supervisor(run_dir, children)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    code = supervisor.run()
    if code and os.environ.get("DESKDRAFT_STOP_GROUP_ON_FAILURE", "1") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(os.getpgid(0), signal.SIGTERM)  # gunicorn too: a service without a worker must not say 202
    return code


if __name__ == "__main__":
    sys.exit(main())
