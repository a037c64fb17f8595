"""Console page times over a seeded year: 100k tickets, 1M audit rows (plus 100k drafts, posts and inbox rows).

    .venv/bin/python benchmarks/console.py [--tickets 100000] [--runs 5]
                                           [--db postgresql+psycopg://127.0.0.1/bench]

Seeds with bulk inserts (tests/console/seed.py), then requests each page through the Flask app signed in, as a
browser would (rendering included, network excluded; one warm-up request each), and prints the median and worst
time per page. With --db, the database is emptied first: point it at a scratch database.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from werkzeug.security import generate_password_hash  # noqa: E402

PAGES = ["/console/intents?days=30", "/console/intents?days=365", "/console/api/intents?days=90",
         "/console/tickets", "/console/tickets?intent=refund_status", "{deep}", "/console/tickets/zendesk/{ticket}",
         "/console/savings", "/metrics", "/healthz"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default=None)
    parser.add_argument("--reuse", default=None, help="a folder seeded by an earlier run (its var/ is kept)")
    args = parser.parse_args()
    tmp = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="deskdraft-console-bench-"))
    os.environ.update({"BENCH_ZENDESK_TOKEN": "t", "BENCH_ZENDESK_SECRET": "s",
                       "DESKDRAFT_CONSOLE_PASSWORD_HASH": generate_password_hash("bench"),
                       "DESKDRAFT_CONSOLE_SECRET": "bench-secret-key-0123456789", "DESKDRAFT_METRICS_TOKEN": "m"})
    from deskdraft.settings import parse_config
    from deskdraft.state import State, metadata
    from tests.conftest import config_text
    from tests.console.conftest import INTENTS, csrf_token, epoch_of
    from tests.console.seed import seed
    from webhooks import create_app

    text = config_text(tmp / "var", only_helpdesks={"zendesk": {
        "type": "zendesk", "base_url": "http://127.0.0.1:9", "email": "a@acme.test",
        "api_token_env": "BENCH_ZENDESK_TOKEN", "webhook_secret_env": "BENCH_ZENDESK_SECRET"},
        "intercom": {"type": "intercom", "admin_id": "1", "email": "a@acme.test",
                     "api_token_env": "BENCH_ZENDESK_TOKEN", "webhook_secret_env": "BENCH_ZENDESK_SECRET"}},
        intents=INTENTS, autonomy={"window_days": 30}, **({"state": {"url": args.db}} if args.db else {}))
    config = parse_config(text, "bench.yaml")
    state = State(config.database_url)
    if args.db and not args.reuse:
        metadata.drop_all(state.engine)
        metadata.create_all(state.engine)
    started = time.perf_counter()
    if args.reuse:
        print(f"reusing {tmp}")
        written = None
    else:
        written = seed(state, ["zendesk", "intercom"], tickets=args.tickets, days=365, now=time.time(),
                       epoch=epoch_of(config))
    seeded_in = time.perf_counter() - started
    if written:
        print(f"seeded {written['tickets']} tickets, {written['audit']} audit rows in {seeded_in:.1f}s "
              f"({config.database_url.split(':')[0]})")

    app = create_app(config, enqueue=lambda _: None, state=state)
    client = app.test_client()
    page = client.get("/console/login")
    client.post("/console/login", data={"password": "bench", "csrf_token": csrf_token(page.text)})
    deep_before = time.time() - 200 * 86400
    ticket = str(100000 + args.tickets // 2)
    print(f"kept in {tmp} (delete it when done)")
    print(f"{'page':45} {'p50 ms':>8} {'max ms':>8}  status")
    for path in PAGES:
        url = path.replace("{deep}", f"/console/tickets?before={deep_before}").replace("{ticket}", ticket)
        headers = {"Authorization": "Bearer m"} if url == "/metrics" else {}
        times, status = [], None
        client.get(url, headers=headers)  # warm: templates compiled, statements cached, as in a running server
        for _ in range(args.runs):
            t = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - t) * 1000)
            status = response.status_code
        print(f"{url[:45]:45} {statistics.median(times):8.1f} {max(times):8.1f}  {status}")


if __name__ == "__main__":
    main()
