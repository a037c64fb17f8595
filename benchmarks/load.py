"""Load test of the local processes: webhooks at a set rate, a 2 s model, what the workers keep up with.

    .venv/bin/python benchmarks/load.py [--rate 10] [--seconds 120] [--concurrency 32]
                                        [--broker redis://127.0.0.1:6379/8] [--soak-minutes 60]

Starts gunicorn (`webhooks:create_app()`), one Celery worker process (thread pool, --concurrency threads, the
embedded Chroma store with the MiniLM int8 embedding) and the fake Zendesk and Claude servers on loopback (the
model answers after --model-seconds). Sends signed Zendesk deliveries for new tickets at --rate per second for
--seconds, then waits for the backlog to drain. Prints drafts/s, the backlog every 10 s, webhook-to-note p50/p99
(inbox received_at to finished_at: the note is posted just before), and per ticket: database statements and
transactions, knowledge store calls (from the worker's Prometheus counters), helpdesk and model calls (from the
fakes). --soak-minutes runs the same load for that long and prints the worker's RSS and thread count every
minute, to show memory is flat after warm-up.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from deskdraft.state import inbox  # noqa: E402
from tests.e2e.harness import Stack, good_draft, wait_for  # noqa: E402

CUSTOMER, AGENT = 5001, 5002
INTENTS = {"refund_status": {"examples": ["When will I get my refund?", "Where is my money back?"]},
           "order_status": {"examples": ["Where is my order?", "My parcel has not arrived"]},
           "password_reset": {"examples": ["I forgot my password", "I can't log in"]}}
QUESTIONS = ["When will my refund arrive?", "Where is my parcel? It has not arrived.", "I forgot my password",
             "How long does shipping take to Spain?"]


class LoadStack(Stack):
    """The end-to-end harness with the worker at the concurrency under test (the tests keep it at 4)."""

    concurrency = 32

    def start_worker(self) -> None:
        import subprocess

        self.log_path = self.tmp / f"worker-{time.monotonic_ns()}.log"
        with self.log_path.open("w") as log:  # the child keeps its own copy
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker", "worker", "-B", "--loglevel", "WARNING",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "--concurrency",
                 str(self.concurrency)], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        wait_for(lambda: "ready." in self.log_path.read_text() or self.worker.poll() is not None, 120,
                 "the Celery worker to start")
        assert self.worker.poll() is None, self.log_path.read_text()[-3000:]


def proc_status(pid: int) -> tuple[float, int]:
    """(RSS in MB, threads) of one process."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def cpu_seconds(pid: int) -> float:
    """utime+stime of one process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_counters(multiproc_dir: str) -> dict[str, float]:
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, multiproc_dir)
    totals: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = sample.name + ("" if not sample.labels else str(sorted(sample.labels.items())))
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=10.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long to send (ignored with --soak-minutes)")
    parser.add_argument("--soak-minutes", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=32, help="worker threads")
    parser.add_argument("--model-seconds", type=float, default=2.0)
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the worker's and web's logs here")
    parser.add_argument("--broker", default=None, help="e.g. redis://127.0.0.1:6379/8 (default: embedded folders)")
    args = parser.parse_args()
    seconds = args.soak_minutes * 60 if args.soak_minutes else args.seconds

    with tempfile.TemporaryDirectory() as tmp:
        multiproc = Path(tmp) / "prometheus"
        multiproc.mkdir()
        LoadStack.concurrency = args.concurrency
        stack = LoadStack(Path(tmp), broker_url=args.broker, web_workers=2,
                          extra_env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
                          extra_config={"intents": INTENTS, "queue": {
                              "concurrency": args.concurrency, "sweep_after_seconds": 300,
                              "sweep_interval_seconds": 60, "claim_timeout_seconds": 600}})

        def slow_draft(request: dict[str, Any]) -> dict[str, Any]:
            time.sleep(args.model_seconds)
            return good_draft(request)

        try:
            stack.start()
            stack.claude.default = slow_draft  # start() installs the instant good_draft; no model call came yet
            run(stack, args, seconds, str(multiproc))
        finally:
            stack.stop()
            if args.keep_logs:
                import shutil

                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in [*Path(tmp).glob("worker-*.log"), Path(tmp) / "web.log"]:
                    if log.exists():
                        shutil.copy(log, args.keep_logs / log.name)


def run(stack: Stack, args: argparse.Namespace, seconds: float, multiproc: str) -> None:
    stack.desk.add_people(CUSTOMER, AGENT)
    total = int(args.rate * seconds)
    for n in range(total):
        stack.desk.open_ticket(100_000 + n, CUSTOMER, "Question", QUESTIONS[n % len(QUESTIONS)])
    counters_before = worker_counters(multiproc)
    cpu_before = cpu_seconds(stack.worker.pid)
    zendesk_before, claude_before = len(stack.zendesk.requests), len(stack.claude.requests)
    engine = stack.state.engine
    backlog: list[tuple[float, int]] = []
    memory: list[tuple[float, float, int]] = []
    refused = 0
    started = time.monotonic()

    def send() -> None:  # from a pool of keep-alive connections: one slow answer must not slow the sending
        nonlocal refused
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(16) as pool:
            def one(n: int) -> None:
                nonlocal refused
                body, headers = stack.desk.delivery(100_000 + n, f"load-{n}")
                response = client.post(f"{stack.web_url}/webhooks/zendesk", content=body,
                                       headers={**headers, "Content-Type": "application/json"})
                refused += response.status_code != 202

            for n in range(total):
                time.sleep(max(0.0, started + n / args.rate - time.monotonic()))
                pool.submit(one, n)
        sending[0] = time.monotonic() - started

    sending = [0.0]
    senders = [threading.Thread(target=send)]
    senders[0].start()

    def pending() -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status == "pending")).scalar()

    next_sample = 0.0
    while senders[0].is_alive() or pending():
        elapsed = time.monotonic() - started
        if elapsed >= next_sample:
            backlog.append((elapsed, pending()))
            memory.append((elapsed, *proc_status(stack.worker.pid)))
            next_sample += 60 if args.soak_minutes else 10
        if elapsed > seconds + 900:
            print("backlog did not drain within 15 minutes of the last webhook")
            break
        time.sleep(1)
    drained = time.monotonic() - started
    memory.append((drained, *proc_status(stack.worker.pid)))

    with engine.connect() as conn:
        rows = conn.execute(select(inbox.c.received_at, inbox.c.finished_at, inbox.c.outcome)).all()
    finished = [r for r in rows if r.finished_at is not None]
    latencies = sorted((r.finished_at - r.received_at) * 1000 for r in finished)
    outcomes: dict[str, int] = {}
    for r in finished:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    first, last = min(r.finished_at for r in finished), max(r.finished_at for r in finished)
    counters = worker_counters(multiproc)
    per = max(1, len(finished))
    worker_cpu_ms = (cpu_seconds(stack.worker.pid) - cpu_before) / per * 1000

    def delta(name: str) -> float:
        return sum(v - counters_before.get(k, 0.0) for k, v in counters.items() if k.startswith(name)) / per

    print(f"load: {total} webhooks at {args.rate:g}/s, worker {args.concurrency} threads, "
          f"model {args.model_seconds:g} s, "
          f"broker {args.broker or 'embedded folders'}")
    print(f"  answered other than 202: {refused}; finished {len(finished)}/{len(rows)}: {outcomes}")
    # Steady state: finishes from 10 s after the first webhook to the last one sent (warm-up and drain left out).
    t0 = min(r.received_at for r in rows)
    steady = [r for r in finished if t0 + 10 <= r.finished_at <= t0 + sending[0]]
    print(f"  drafts/s while sending {len(steady) / max(1e-9, sending[0] - 10):.2f}; "
          f"{len(finished) / max(1e-9, last - first):.2f} first to last finish; drained {drained:.0f} s "
          f"after the first webhook (sending took {sending[0]:.0f} s)")
    print(f"  webhook-to-note p50 {statistics.median(latencies) / 1000:.2f} s, "
          f"p99 {latencies[int(0.99 * (len(latencies) - 1))] / 1000:.2f} s, max {latencies[-1] / 1000:.2f} s")
    print("  backlog (s: pending): " + ", ".join(f"{t:.0f}: {n}" for t, n in backlog))
    print(f"  per ticket: database statements {delta('deskdraft_db_statements_total'):.1f}, transactions "
          f"{delta('deskdraft_db_transactions_total'):.1f}, knowledge store calls "
          f"{delta('deskdraft_knowledge_calls_total'):.2f}, helpdesk calls "
          f"{(len(stack.zendesk.requests) - zendesk_before) / per:.2f}, model calls "
          f"{(len(stack.claude.requests) - claude_before) / per:.2f}; worker CPU {worker_cpu_ms:.1f} ms")
    database = Path(stack.config.database_url.removeprefix("sqlite:///"))
    if database.is_file():  # SQLite: what a ticket leaves in the state database (inbox, audit, claims, drafts)
        size = sum(f.stat().st_size for f in database.parent.glob(database.name + "*"))
        print(f"  state database {size / 1e6:.1f} MB, {size / max(1, len(rows)) / 1000:.1f} kB per ticket")
    names: dict[str, int] = {}
    for task in Path(f"/proc/{stack.worker.pid}/task").iterdir():
        name = (task / "comm").read_text().strip().rstrip("0123456789_-")
        names[name] = names.get(name, 0) + 1
    print(f"  worker threads by name: {dict(sorted(names.items(), key=lambda kv: -kv[1]))}")
    print("  worker RSS MB / threads (s: MB/threads): " + ", ".join(f"{t:.0f}: {m:.0f}/{n}" for t, m, n in memory))


if __name__ == "__main__":
    main()
