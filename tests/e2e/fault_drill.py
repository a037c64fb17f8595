"""The multi-worker fault drill (issue #17 item 2): the production topology on one machine (deskdraft/cluster.py:
a Chroma server, N worker processes, one beat, gunicorn, on Redis and PostgreSQL) drafting N tickets with a slow
model while random workers are SIGKILLed every few seconds and restarted. Afterwards every ticket must carry exactly
one post. tests/e2e/test_many_workers.py runs a small drill in CI, benchmarks/faults.py a big one."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskdraft.cluster import REPO, Cluster
from deskdraft.state import State
from tests.conftest import config_text
from tests.e2e.desks import SECRETS, ZendeskDesk
from tests.e2e.harness import ANTHROPIC_KEY, KB, good_draft
from tests.fakes.claude import FakeClaude
from tests.fakes.server import serve

CUSTOMER, AGENT = 5001, 5002


@dataclass
class DrillResult:
    tickets: int
    posts: dict[int, int]  # ticket -> posts by us
    kills: list[tuple[float, str]] = field(default_factory=list)  # (seconds after the first delivery, worker)
    drain_seconds: float = 0.0  # first delivery -> every inbox event finished
    model_calls: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)  # audit steps that show recovery at work
    standby_sent_before: bool | None = None  # did the standby scheduler send anything while the first one lived
    standby_took_over: bool = False

    @property
    def missing(self) -> list[int]:
        return [t for t, n in self.posts.items() if n == 0]

    @property
    def doubled(self) -> list[int]:
        return [t for t, n in self.posts.items() if n > 1]

    def summary(self) -> str:
        return (f"{self.tickets} tickets, {len(self.kills)} SIGKILLs, drained in {self.drain_seconds:.1f} s "
                f"({self.tickets / max(self.drain_seconds, 0.001):.2f} tickets/s); posts: "
                f"{sum(self.posts.values())} (missing {len(self.missing)}, doubled {len(self.doubled)}); "
                f"model calls {self.model_calls}; inbox outcomes {self.outcomes}; recovery steps {self.steps}; "
                f"standby scheduler took over: {self.standby_took_over}")


def run_drill(tmp: Path, *, tickets: int, broker_url: str, database_url: str, workers: int = 3,
              concurrency: int = 4, model_seconds: float = 2.0, kill_every: tuple[float, float] = (3.0, 6.0),
              lease_seconds: int = 6, sweep_after_seconds: int = 8, timeout: float = 600.0, seed: int = 17,
              say: Callable[[str], None] = print) -> DrillResult:
    rng = random.Random(seed)
    desk = ZendeskDesk()
    claude = FakeClaude(api_key=ANTHROPIC_KEY)

    def slow_model(request: dict[str, Any]) -> dict[str, Any]:
        time.sleep(model_seconds)  # the fake serves each request on its own thread: calls overlap as real ones do
        return good_draft(request)

    claude.default = slow_model
    servers = [serve(desk.fake.app), serve(claude.app)]
    queue_name = f"drill-{uuid.uuid4().hex[:8]}"
    cluster = Cluster({}, tmp / "logs", workers=workers, concurrency=concurrency)
    try:
        chroma_url = cluster.start_chroma(tmp / "chroma")
        config_path = tmp / "config.yaml"
        config_path.write_text(config_text(
            tmp / "var", claude_url=servers[1].url, only_helpdesks={"zendesk": desk.account(servers[0].url)},
            knowledge={"url": chroma_url, "embedding": "hash", "min_score": 0.05},
            state={"url": database_url},
            queue={"name": queue_name, "broker_url": broker_url, "concurrency": concurrency,
                   "sweep_after_seconds": sweep_after_seconds, "sweep_interval_seconds": 1,
                   "claim_timeout_seconds": lease_seconds, "task_max_retries": 5, "retry_backoff_seconds": 1}))
        prepare(cluster, config_path, tmp / "kb")
        state = State(database_url)
        names = cluster.worker_names()
        for name in names:
            cluster.start_worker(name, wait=False)
        cluster.start_beat("beat")
        web = cluster.start_web()
        for name in names:
            _wait_ready(cluster, name)
        _wait_log(cluster, "beat", "held: this beat sends")
        # A second scheduler (a failover copy on another host): it must wait, and take over when the first dies.
        cluster.start_beat("beat-standby")
        _wait_log(cluster, "beat-standby", "waiting as a standby")
        say(f"cluster up: {workers} workers x {concurrency} threads, beat, gunicorn, chroma {chroma_url}")

        desk.add_people(CUSTOMER, AGENT)
        ids = list(range(10_001, 10_001 + tickets))
        for ticket in ids:
            desk.open_ticket(ticket, CUSTOMER, "Refund", f"Where is my refund for order {ticket}?")
        import httpx

        started = time.monotonic()
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:
            def deliver(ticket: int) -> int:
                body, headers = desk.delivery(ticket, f"drill-{ticket}")
                return client.post(f"{web}/webhooks/zendesk", content=body,
                                   headers={**headers, "Content-Type": "application/json"}).status_code
            statuses = list(pool.map(deliver, ids))
        assert statuses == [202] * tickets, f"webhook answers: {sorted(set(statuses))}"
        say(f"{tickets} webhooks accepted in {time.monotonic() - started:.1f} s")

        result = DrillResult(tickets=tickets, posts={})
        next_kill = started + rng.uniform(*kill_every)
        while True:
            events = state.events()
            if events and all(e.status != "pending" for e in events) and len(events) >= tickets:
                break
            now = time.monotonic()
            if now - started > timeout:
                raise AssertionError(f"not drained after {timeout:.0f} s: "
                                     f"{sum(e.status == 'pending' for e in events)} pending")
            if now >= next_kill:
                victim = rng.choice(names)
                cluster.kill(victim)
                result.kills.append((now - started, victim))
                cluster.start_worker(victim, wait=False)  # as a supervisor restarts it
                next_kill = now + rng.uniform(*kill_every)
                if len(result.kills) == 2:  # the scheduler too, once: without the standby no sweep would come
                    result.standby_sent_before = "Sending due task" in cluster.log("beat-standby")
                    cluster.kill("beat")
                    result.kills.append((now - started, "beat"))
            time.sleep(0.2)
        result.drain_seconds = time.monotonic() - started
        result.standby_took_over = "held: this beat sends" in cluster.log("beat-standby")
        time.sleep(sweep_after_seconds + 2)  # room for a late sweep or redelivery to (wrongly) post again
        result.posts = {t: len(desk.posts(t)) for t in ids}
        result.model_calls = len(claude.requests)
        for event in state.events():
            finished = _outcome(state, event.id)
            result.outcomes[finished] = result.outcomes.get(finished, 0) + 1
        result.steps = _count_steps(state, ("requeued", "claim_taken_over", "draft_reused", "retry_scheduled"))
        state.dispose()
        say(result.summary())
        return result
    finally:
        cluster.stop()
        for server in servers:
            server.stop()
        _delete_queue(broker_url, queue_name)


def prepare(cluster: Cluster, config_path: Path, docs: Path) -> None:
    """The processes' environment (config, secrets), the tables, and the test knowledge ingested into the store."""
    cluster.env = {**os.environ, **SECRETS, "DESKDRAFT_CONFIG": str(config_path), "HF_HUB_OFFLINE": "1",
                   "TEST_ANTHROPIC_KEY": ANTHROPIC_KEY}
    docs.mkdir()
    for name, text in KB.items():
        (docs / name).write_text(text)
    for command in (["db", "upgrade"], ["knowledge", "ingest", str(docs), "--kind", "article"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "webhooks", *command], cwd=REPO,
                       env=cluster.env, check=True, capture_output=True, timeout=180)


def _wait_ready(cluster: Cluster, name: str) -> None:
    _wait_log(cluster, name, "ready.")


def _wait_log(cluster: Cluster, name: str, text: str) -> None:
    deadline = time.monotonic() + 120
    while text not in cluster.log(name):
        if time.monotonic() > deadline or not cluster.alive(name):
            raise AssertionError(f"{name} never logged {text!r}: {cluster.log(name)[-3000:]}")
        time.sleep(0.2)


def _outcome(state: State, inbox_id: int) -> str:
    from sqlalchemy import select

    from deskdraft.state import inbox

    with state.engine.connect() as conn:
        return str(conn.execute(select(inbox.c.outcome).where(inbox.c.id == inbox_id)).scalar())


def _count_steps(state: State, steps: tuple[str, ...]) -> dict[str, int]:
    from sqlalchemy import func, select

    from deskdraft.state import audit

    with state.engine.connect() as conn:
        rows = conn.execute(select(audit.c.step, func.count()).where(audit.c.step.in_(steps))
                            .group_by(audit.c.step)).all()
    return dict(rows)


def _delete_queue(broker_url: str, queue_name: str) -> None:
    from kombu import Connection

    try:
        with Connection(broker_url) as conn:
            conn.default_channel.queue_delete(queue_name)
    except Exception:  # tidying the shared broker; the queue name is unique anyway
        pass
