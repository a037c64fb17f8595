"""Real parts wired together for end-to-end tests: the Flask app over HTTP, a Celery worker process,
a Chroma store on disk, and the fake Zendesk and Claude servers on loopback."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from deskdraft.settings import Config, parse_config
from deskdraft.state import State
from tests.conftest import config_text
from tests.e2e.desks import SECRETS, ZendeskDesk
from tests.fakes.claude import FakeClaude
from tests.fakes.server import serve

REPO = Path(__file__).resolve().parents[2]
ANTHROPIC_KEY = "sk-test-key"

KB = {
    "refunds.md": "---\ntitle: Refund policy\nurl: https://help.acme.test/refunds\n---\n# Refund policy\n\n"
                  "## How long refunds take\nRefunds are paid back to the original card within 5 business days "
                  "after we receive the returned item.\n",
    "shipping.md": "---\ntitle: Shipping times\nurl: https://help.acme.test/shipping\n---\n# Shipping\n\n"
                   "Orders ship within 2 days. Tracking links arrive by email once the parcel leaves.\n",
    "password.md": "---\ntitle: Reset your password\nurl: https://help.acme.test/password\n---\n# Password\n\n"
                   "Use the Forgot password link on the sign-in page to get a reset email.\n",
}


def good_draft(request: dict[str, Any]) -> dict[str, Any]:
    """What a sensible model answers: cites the first passage it was given."""
    return {"reply": "Your refund reaches your card within 5 business days of us receiving the item.",
            "cited_passage_ids": ["P1"], "missing_information": [], "needs_human": False,
            "needs_human_reason": "", "confidence": 0.9}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:  # 503: serving, but a component (the worker, started next) is not up yet
        return httpx.get(url, timeout=1).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Stack:
    tmp: Path
    broker_url: str | None = None
    with_model: bool = True
    desk: Any = field(default_factory=ZendeskDesk)
    extra_config: dict = field(default_factory=dict)  # top-level sections merged into the test config
    kb_kinds: dict = field(default_factory=dict)  # file name -> kind ("policy") for the ingested knowledge
    claude: FakeClaude = field(default_factory=lambda: FakeClaude(api_key=ANTHROPIC_KEY))
    extra_env: dict = field(default_factory=dict)  # e.g. PROMETHEUS_MULTIPROC_DIR for the metrics test
    web_workers: int = 1
    worker: subprocess.Popen | None = None
    web_workers: int = 1  # production runs 2 (gunicorn.conf.py); one keeps the tests light on 2 cores
    servers: list[Any] = field(default_factory=list)

    def start(self) -> Stack:
        self.claude.default = good_draft
        zd, cl = serve(self.desk.fake.app), serve(self.claude.app)
        self.servers += [zd, cl]
        self.queue_name = f"e2e-{os.getpid()}-{id(self)}"
        queue = {"name": self.queue_name, **self.extra_config.get("queue", {})}
        if self.broker_url:
            queue["broker_url"] = self.broker_url
        self.config_path = self.tmp / "config.yaml"
        sections = {**self.extra_config, "queue": {**queue, **self.extra_config.get("queue", {})}}
        self.config_path.write_text(config_text(self.tmp / "var", claude_url=cl.url,
                                                only_helpdesks={self.desk.name: self.desk.account(zd.url)},
                                                knowledge={"embedding": "minilm-int8", "min_score": 0.2},
                                                **sections))
        self.env = {**os.environ, **SECRETS, "DESKDRAFT_CONFIG": str(self.config_path), "HF_HUB_OFFLINE": "1",
                    **self.extra_env}
        if self.with_model:
            self.env["TEST_ANTHROPIC_KEY"] = ANTHROPIC_KEY
        else:
            self.env.pop("TEST_ANTHROPIC_KEY", None)
        self._ingest()
        self.config: Config = parse_config(self.config_path.read_text(), str(self.config_path))
        self.state = State(self.config.database_url)
        self.start_web()
        self.start_worker()
        return self

    def start_web(self) -> None:
        """The app as production serves it: gunicorn, its own process, the producer side of the queue."""
        port = free_port()
        self.web_url = f"http://127.0.0.1:{port}"
        # The child keeps its own copies of the log descriptors: ours are closed once it has started.
        with (self.tmp / "access.log").open("w") as access, (self.tmp / "web.log").open("w") as errors:
            self.web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(self.web_workers), "webhooks:create_app()"], cwd=REPO, env=self.env,
                stdout=access, stderr=errors, start_new_session=True)
        wait_for(lambda: _answers(f"{self.web_url}/healthz") or self.web.poll() is not None, 60, "gunicorn")
        assert self.web.poll() is None, (self.tmp / "web.log").read_text()[-3000:]

    def _ingest(self) -> None:
        for kind in sorted({self.kb_kinds.get(name, "article") for name in KB}):
            docs = self.tmp / f"kb-{kind}"
            docs.mkdir()
            for name, text in KB.items():
                if self.kb_kinds.get(name, "article") == kind:
                    (docs / name).write_text(text)
            subprocess.run([sys.executable, "-m", "flask", "--app", "webhooks", "knowledge", "ingest", str(docs),
                            "--kind", kind], cwd=REPO, env=self.env, check=True, capture_output=True, timeout=120)

    def start_worker(self) -> None:
        self.log_path = self.tmp / f"worker-{time.monotonic_ns()}.log"
        with self.log_path.open("w") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker", "worker", "-B", "--loglevel", "INFO",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "--concurrency", "4"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: "ready." in self.log_path.read_text() or self.worker.poll() is not None, 60,
                 "the Celery worker to start")
        assert self.worker.poll() is None, self.log_path.read_text()[-3000:]

    def kill_worker(self) -> None:
        """SIGKILL the whole worker session: no clean shutdown, no requeue by the worker itself."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(10)

    def stop(self) -> None:
        if self.worker and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(20)
            except subprocess.TimeoutExpired:
                self.kill_worker()
        if getattr(self, "web", None) and self.web.poll() is None:
            os.killpg(self.web.pid, signal.SIGTERM)
            self.web.wait(20)
        for server in self.servers:
            server.stop()
        if self.broker_url:  # leave no queue behind in the shared Redis/RabbitMQ
            from kombu import Connection
            with Connection(self.broker_url) as conn:
                conn.default_channel.queue_delete(self.queue_name)

    def worker_log(self) -> str:
        return self.log_path.read_text()

    # --- driving it like Zendesk does -----------------------------------------------------------
    @property
    def zendesk(self) -> Any:
        return self.desk.fake

    def deliver(self, ticket_id: int, delivery_id: str) -> httpx.Response:
        """The helpdesk's webhook for a customer message, signed or authenticated as that vendor does."""
        body, headers = self.desk.delivery(ticket_id, delivery_id)
        return httpx.post(f"{self.web_url}/webhooks/{self.desk.name}", content=body,
                          headers={**headers, "Content-Type": "application/json"}, timeout=10)

    def notes(self, ticket_id: int) -> list[Any]:
        """What our assistant posted on the ticket (body, public)."""
        return self.desk.posts(ticket_id)

    def inbox_settled(self) -> bool:
        return all(e.status != "pending" for e in self.state.events())
