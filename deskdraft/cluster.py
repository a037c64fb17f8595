"""The production topology on one machine: a Chroma server, N Celery worker processes, exactly one scheduler
(celery beat) and gunicorn, against a shared broker (Redis or RabbitMQ) and PostgreSQL. `scripts/cluster` runs it
for development; the multi-worker fault test and benchmarks/faults.py drive the same class.

Each child is its own process group, so a SIGKILL of a worker takes its pool threads with it (as the OOM killer
would) and nothing else. `supervise()` restarts children that die, like scripts/supervise.py does for scripts/run.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CELERY = [sys.executable, "-m", "celery", "-A", "worker"]
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/deskdraft"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {seconds:.0f} s")


@dataclass
class Cluster:
    """Start, kill, restart and stop the topology's processes. `env` carries DESKDRAFT_CONFIG and the secrets."""

    env: dict[str, str]
    log_dir: Path
    workers: int = 3
    concurrency: int = 4
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    chroma_url: str | None = None
    chroma_path: Path | None = None
    web_url: str | None = None

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("a")
        proc = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()  # the child holds its own descriptor
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- the parts -----------------------------------------------------------------------------------
    def start_chroma(self, path: Path, port: int | None = None) -> str:
        exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        if exe is None:
            raise RuntimeError("the chroma command is not installed (it comes with the chromadb package)")
        port = port or free_port()
        self.chroma_path = path
        self._spawn("chroma", [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)])
        _wait(lambda: _listening(port) or self.procs["chroma"].poll() is not None, 60, "chroma run")
        if self.procs["chroma"].poll() is not None:
            raise RuntimeError(f"chroma run exited: {self.log('chroma')[-2000:]}")
        self.chroma_url = f"http://127.0.0.1:{port}"
        return self.chroma_url

    def worker_names(self) -> list[str]:
        return [f"worker{n}" for n in range(1, self.workers + 1)]

    def start_worker(self, name: str, wait: bool = True) -> subprocess.Popen:
        """One worker process (a thread pool of `concurrency`), without an embedded scheduler."""
        marker = len(self.log(name))
        proc = self._spawn(name, [*CELERY, "worker", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                                  "--pool", "threads", "--concurrency", str(self.concurrency), "-n", f"{name}@%h"])
        if wait:
            _wait(lambda: "ready." in self.log(name)[marker:] or proc.poll() is not None, 120, name)
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log(name)[-3000:]}")
        return proc

    def start_beat(self, name: str = "beat") -> subprocess.Popen:
        """The one scheduler: a second one waits on the scheduler lock (deskdraft/scheduler_lock.py) until this one
        dies. Its schedule file is per process name, so two beats on one data folder do not share it."""
        return self._spawn(name, [*CELERY, "beat", "--loglevel", "INFO"])

    def start_web(self, bind: str | None = None, workers: int = 1) -> str:
        bind = bind or f"127.0.0.1:{free_port()}"
        proc = self._spawn("web", [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", bind,
                                   "--workers", str(workers), "webhooks:create_app()"])
        port = int(bind.rsplit(":", 1)[1])
        _wait(lambda: _listening(port) or proc.poll() is not None, 60, "gunicorn")
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {self.log('web')[-2000:]}")
        self.web_url = f"http://{bind}"
        return self.web_url

    def start(self, chroma_path: Path | None = None, chroma_port: int | None = None,
              web_bind: str | None = None) -> Cluster:
        if chroma_path is not None:
            self.start_chroma(chroma_path, chroma_port)
        for name in self.worker_names():
            self.start_worker(name, wait=False)
        self.start_beat()
        self.start_web(web_bind)
        for name in self.worker_names():
            _wait(lambda n=name: "ready." in self.log(n) or self.procs[n].poll() is not None, 120, name)
        return self

    # --- faults and shutdown -------------------------------------------------------------------------
    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a child's whole process group (SIGKILL: no clean shutdown, nothing handed back to the broker)."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(proc.pid, sig)
        if sig == signal.SIGKILL:
            proc.wait(10)

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def stop(self) -> None:
        for name in [n for n in self.procs if n != "chroma"] + (["chroma"] if "chroma" in self.procs else []):
            if self.alive(name):
                self.kill(name, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(name)

    def supervise(self) -> None:
        """Restart any child that dies until SIGINT/SIGTERM; then stop them all."""
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        try:
            while not stopping:
                time.sleep(1)
                for name in list(self.procs):
                    if not self.alive(name) and not stopping:
                        print(f"deskdraft cluster: {name} exited with {self.procs[name].returncode}; restarting "
                              f"(log: {self.log_dir / (name + '.log')})", file=sys.stderr, flush=True)
                        time.sleep(1)
                        self._restart(name)
        finally:
            self.stop()

    def _restart(self, name: str) -> None:
        if name.startswith("worker"):
            self.start_worker(name, wait=False)
        elif name.startswith("beat"):
            self.start_beat(name)
        elif name == "web" and self.web_url:
            self.start_web(self.web_url.removeprefix("http://"))
        elif name == "chroma" and self.chroma_url and self.chroma_path:
            self.start_chroma(self.chroma_path, int(self.chroma_url.rsplit(":", 1)[1]))


def cluster_config(source: Path, target: Path, chroma_url: str) -> Path:
    """The user's config.yaml with what the topology needs filled in where it is not set: the local Redis as broker,
    the local PostgreSQL as state, and the Chroma server started here as the knowledge store."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    queue, state, knowledge = (raw.setdefault(key, {}) or {} for key in ("queue", "state", "knowledge"))
    raw.update(queue=queue, state=state, knowledge=knowledge)
    if not queue.get("broker_url") and not queue.get("broker_url_env"):
        queue["broker_url"] = os.environ.get("DESKDRAFT_CLUSTER_BROKER", LOCAL_REDIS)
    if not state.get("url") and not state.get("url_env"):
        state["url"] = os.environ.get("DESKDRAFT_CLUSTER_DATABASE", LOCAL_POSTGRES)
    knowledge.pop("url_env", None)
    knowledge["url"] = chroma_url
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return target


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database the cluster uses if it is not there yet (local trust auth)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": parsed.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    import argparse

    from deskdraft.settings import CONFIG_ENV, ConfigError, config_path, load_config

    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("DESKDRAFT_WORKERS", "3")))
    parser.add_argument("--concurrency", type=int, default=None, help="threads per worker (default: queue.concurrency)")
    parser.add_argument("--bind", default=os.environ.get("DESKDRAFT_BIND", "127.0.0.1:8000"))
    parser.add_argument("--chroma-port", type=int, default=int(os.environ.get("DESKDRAFT_CHROMA_PORT", "8001")))
    args = parser.parse_args(argv)

    source = config_path()
    var = REPO / "var" / "cluster"
    target = cluster_config(source, var / "config.yaml", f"http://127.0.0.1:{args.chroma_port}")
    env = {**os.environ, CONFIG_ENV: str(target)}
    try:
        config = load_config(target)
    except ConfigError as exc:
        print(f"deskdraft cluster: not started.\n{exc}", file=sys.stderr)
        return 2
    ensure_database(config.database_url)
    cluster = Cluster(env, var / "logs", workers=args.workers, concurrency=args.concurrency or config.queue.concurrency)
    subprocess.run([sys.executable, "-m", "flask", "--app", "webhooks", "db", "upgrade"], cwd=REPO, env=env, check=True)
    cluster.start(chroma_path=var / "chroma", chroma_port=args.chroma_port, web_bind=args.bind)
    print(f"deskdraft cluster: config {target}\n  chroma {cluster.chroma_url}, {args.workers} worker(s) x "
          f"{cluster.concurrency} threads, one beat, webhooks on {cluster.web_url}/webhooks/<account>\n"
          f"  logs in {cluster.log_dir}; load knowledge with DESKDRAFT_CONFIG={target} deskdraft knowledge ingest DIR",
          file=sys.stderr, flush=True)
    cluster.supervise()
    return 0


if __name__ == "__main__":
    sys.exit(main())
