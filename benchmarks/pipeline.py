"""Webhook ack latency and pipeline time per ticket, on the real parts with an instant fake model.

    .venv/bin/python benchmarks/pipeline.py [--webhooks 500] [--tickets 100] [--broker redis://127.0.0.1:6379/14]

1. Ack latency: gunicorn serving `webhooks:create_app()` (as scripts/run does), signed Zendesk deliveries posted
   one after another over loopback; each is verified, parsed, written to the SQLite inbox and enqueued on the
   broker (embedded filesystem transport unless --broker) before the 202. Prints p50/p90/p99/max.
2. Pipeline per ticket: pipeline.handle() in-process for fresh tickets on the fake Zendesk (real HTTP), the
   real Chroma store with the MiniLM int8 embedding, the real router, and a fake Claude that answers at once.
   Prints p50/p99 and the mean.
Takes about a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import AGENT_EMAIL, ZENDESK_SECRET, ZENDESK_TOKEN, config_text  # noqa: E402
from tests.e2e.harness import KB, free_port, good_draft, wait_for  # noqa: E402
from tests.fakes.claude import FakeClaude  # noqa: E402
from tests.fakes.server import serve  # noqa: E402
from tests.fakes.zendesk import FakeZendesk, sign_zendesk  # noqa: E402

INTENTS = {"refund_status": {"examples": ["When will I get my refund?", "Where is my money back?"]},
           "order_status": {"examples": ["Where is my order?", "My parcel has not arrived"]},
           "password_reset": {"examples": ["I forgot my password", "I can't log in"]}}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ack_latency(tmp: Path, n: int, broker: str | None) -> None:
    queue = {"name": f"bench-{os.getpid()}", **({"broker_url": broker} if broker else {})}
    config = tmp / "ack.yaml"
    config.write_text(config_text(tmp / "ack-var", queue=queue))
    env = {**os.environ, "DESKDRAFT_CONFIG": str(config), "TEST_ZENDESK_TOKEN": ZENDESK_TOKEN,
           "TEST_ZENDESK_SECRET": ZENDESK_SECRET}
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
                            "--bind", f"127.0.0.1:{port}", "webhooks:create_app()"], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(url), 60, "gunicorn")
        latencies = []
        with httpx.Client(timeout=10) as client:
            for i in range(n + 20):
                body = json.dumps({"ticket_id": str(1000 + i), "title": "bench"}).encode()
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                headers = {**sign_zendesk(ZENDESK_SECRET, body, stamp, invocation_id=f"bench-{i}"),
                           "Content-Type": "application/json"}
                started = time.perf_counter()
                response = client.post(f"{url}/webhooks/zendesk", content=body, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 202, response.text
                if i >= 20:  # warm-up: first connections, first imports in each gunicorn worker
                    latencies.append(elapsed)
        print(f"webhook ack ({broker or 'embedded filesystem broker'}, SQLite inbox), {n} deliveries: "
              f"p50 {percentile(latencies, 50):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
              f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms")
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(20)
        if broker and broker.startswith("redis"):  # nothing consumes the benchmark's queue: leave no trace
            import redis
            redis.Redis.from_url(broker).delete(queue["name"])


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 503)  # 503: no worker in this run
    except httpx.HTTPError:
        return False


def pipeline_time(tmp: Path, n: int) -> None:
    os.environ.update({"TEST_ZENDESK_TOKEN": ZENDESK_TOKEN, "TEST_ZENDESK_SECRET": ZENDESK_SECRET,
                       "TEST_ANTHROPIC_KEY": "sk-bench"})
    import worker
    from deskdraft.settings import parse_config
    from pipeline import handle

    zendesk, claude = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN), FakeClaude(api_key="sk-bench")
    claude.default = good_draft
    zd, cl = serve(zendesk.app), serve(claude.app)
    config = parse_config(config_text(tmp / "pipe-var", zendesk_url=zd.url, claude_url=cl.url, intents=INTENTS,
                                      knowledge={"embedding": "minilm-int8", "min_score": 0.2}), "bench")
    docs = tmp / "kb"
    docs.mkdir()
    for name, text in KB.items():
        (docs / name).write_text(text)
    from knowledge.ingest import ingest_folder
    from knowledge.store import open_store
    with open_store(config.chroma_path, None, config.knowledge.collection, "minilm-int8") as store:
        ingest_folder(store, docs)
    deps = worker.build_deps(config)
    zendesk.add_user(5001, "Casey", "end-user")
    questions = ["When will my refund arrive?", "Where is my parcel?", "I forgot my password",
                 "How long does shipping take?"]
    timings = []
    for i in range(n + 5):
        ticket = 10_000 + i
        zendesk.add_ticket(ticket, "Question", 5001, description=questions[i % len(questions)])
        event_id = deps.state.record_event("zendesk", f"p-{i}", str(ticket), "ticket.updated")
        started = time.perf_counter()
        outcome = handle(deps.state.get_event(event_id), deps)
        if i >= 5:
            timings.append((time.perf_counter() - started) * 1000)
        assert outcome.kind in ("posted_note", "escalated"), outcome
    print(f"pipeline per ticket (fetch ticket+comments+users, route, retrieve, instant model, checks, gate, post), "
          f"{n} tickets: p50 {percentile(timings, 50):.1f} ms, p99 {percentile(timings, 99):.1f} ms, "
          f"mean {statistics.mean(timings):.1f} ms")
    zd.stop()
    cl.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webhooks", type=int, default=500)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--broker", default=None, help="e.g. redis://127.0.0.1:6379/14 (default: embedded)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        ack_latency(Path(tmp), args.webhooks, args.broker)
        pipeline_time(Path(tmp), args.tickets)


if __name__ == "__main__":
    main()
