"""Transient outages are retried, not turned into "no draft" notes (issue #17 item 5): on the production topology
(deskdraft/cluster.py) the test stops and restarts the Chroma server, then the broker (a redis-server of its own)
with jobs in flight, then locks the SQLite database past the worker's busy timeout. The worker process rides out
each one and every ticket ends with exactly one post and no failure note."""
from __future__ import annotations

import sqlite3
import subprocess
import threading
import time

import httpx

from deskdraft.cluster import Cluster
from deskdraft.state import State
from tests.conftest import config_text
from tests.e2e.desks import ZendeskDesk
from tests.e2e.fault_drill import prepare
from tests.e2e.harness import ANTHROPIC_KEY, good_draft, wait_for
from tests.e2e.test_outages import OwnRedis
from tests.fakes.claude import FakeClaude
from tests.fakes.server import serve

CUSTOMER, AGENT, OUTAGE_SECONDS = 5001, 5002, 10


def test_the_worker_rides_out_chroma_broker_and_database_outages(tmp_path):
    redis = RestartableRedis(tmp_path)
    desk, claude = ZendeskDesk(), FakeClaude(api_key=ANTHROPIC_KEY)
    claude.default = lambda request: (time.sleep(1.0), good_draft(request))[1]  # jobs are in flight during outages
    servers = [serve(desk.fake.app), serve(claude.app)]
    cluster = Cluster({}, tmp_path / "logs", workers=1, concurrency=4)
    client = httpx.Client(timeout=30)
    try:
        chroma = cluster.start_chroma(tmp_path / "chroma")
        chroma_port = int(chroma.rsplit(":", 1)[1])
        config = tmp_path / "config.yaml"
        config.write_text(config_text(
            tmp_path / "var", claude_url=servers[1].url, only_helpdesks={"zendesk": desk.account(servers[0].url)},
            knowledge={"url": chroma, "embedding": "hash", "min_score": 0.05},
            queue={"broker_url": redis.url, "name": "restarts", "task_max_retries": 8, "retry_backoff_seconds": 1,
                   "sweep_after_seconds": 10}))
        prepare(cluster, config, tmp_path / "kb")
        worker = cluster.start_worker("worker1")
        cluster.start_beat()
        web = cluster.start_web()
        state = State(f"sqlite:///{tmp_path / 'var' / 'deskdraft.db'}")
        desk.add_people(CUSTOMER, AGENT)

        def deliver(ticket: int) -> None:
            desk.open_ticket(ticket, CUSTOMER, "Refund", f"Where is my refund for order {ticket}?")
            body, headers = desk.delivery(ticket, f"d-{ticket}")
            answer = client.post(f"{web}/webhooks/zendesk", content=body,
                                 headers={**headers, "Content-Type": "application/json"})
            assert answer.status_code == 202, answer.text

        def posted_once(tickets: list[int]) -> bool:
            return all(len(desk.posts(t)) == 1 for t in tickets)

        # 1. The Chroma server stops: retrievals fail, the job retries; it comes back and the draft is made.
        cluster.kill("chroma")
        deliver(701)
        wait_for(lambda: any(s["step"] == "retry_scheduled" and "Chroma server" in s.get("error", "")
                             for s in state.audit_trail("zendesk", "701")), 60, "a retry while Chroma is down")
        cluster.start_chroma(tmp_path / "chroma", chroma_port)
        wait_for(lambda: posted_once([701]), 90, "the post after Chroma came back")

        # 2. The broker stops for OUTAGE_SECONDS with jobs in flight; the same worker process carries on after it.
        in_flight = [711, 712, 713, 714]
        for ticket in in_flight:
            deliver(ticket)
        assert claude.wait_for_requests(2, timeout=30)
        redis.proc.terminate()
        redis.proc.wait(10)
        deliver(715)  # accepted meanwhile: the inbox holds it, the sweep enqueues it once the broker is back
        time.sleep(OUTAGE_SECONDS)
        redis.restart()
        deliver(716)
        wait_for(lambda: posted_once([*in_flight, 715, 716]), 150, "every post after the broker restart")
        assert worker.poll() is None, cluster.log("worker1")[-3000:]  # the same process: it did not die

        # 3. The database is locked longer than the worker's busy timeout (10 s): its writes fail, the job retries.
        locked = threading.Event()

        def hold_lock() -> None:
            db = sqlite3.connect(tmp_path / "var" / "deskdraft.db", timeout=30, isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            locked.set()
            time.sleep(12)
            db.execute("COMMIT")
            db.close()

        seen = len(cluster.log("worker1"))
        deliver(721)  # acked first: the webhook's own write is not what this part is about
        holder = threading.Thread(target=hold_lock)
        holder.start()
        assert locked.wait(30)
        holder.join()
        wait_for(lambda: posted_once([721]), 90, "the post after the lock was released")
        assert "database is locked" in cluster.log("worker1")[seen:]  # it did meet the lock, and retried

        time.sleep(3)  # room for a late retry or sweep to (wrongly) post again
        tickets = [701, *in_flight, 715, 716, 721]
        assert [len(desk.posts(t)) for t in tickets] == [1] * len(tickets)
        trails = [s for t in tickets for s in state.audit_trail("zendesk", str(t))]
        assert not [s for s in trails if s["step"] == "gave_up"], "an outage ended in a failure note"
        assert worker.poll() is None
    finally:
        client.close()
        cluster.stop()
        for server in servers:
            server.stop()
        redis.stop()


class RestartableRedis(OwnRedis):
    def restart(self) -> None:
        """The same server again on the same port (empty: nothing was saved), as after a crash or an upgrade."""
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_for(self._answers, 20, "redis-server to come back")
