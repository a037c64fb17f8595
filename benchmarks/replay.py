"""Replay throughput on the generated history: collect, then a shadow run with an instant and with a slow model.

    .venv/bin/python benchmarks/replay.py [--tickets 520] [--concurrency 4] [--slow-seconds 2] [--slow-examples 40]
                                          [--embedding hash|minilm-int8]

The fake Zendesk (real HTTP) holds the tests' generated history (tests/replay/history.py); the knowledge store is
the real embedded Chroma; the router is the real one; the fake Claude answers at once, then after --slow-seconds.
Prints tickets/s for collect and examples/s for each run (wall clock, at --concurrency examples in flight).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors import build_connectors  # noqa: E402
from deskdraft.replay import collect, dataset  # noqa: E402
from deskdraft.replay.cli import build_runner  # noqa: E402
from deskdraft.replay.run import Prices, run, run_record  # noqa: E402
from deskdraft.settings import load_config  # noqa: E402
from tests.conftest import AGENT_EMAIL, ZENDESK_TOKEN, config_text  # noqa: E402
from tests.fakes.claude import FakeClaude  # noqa: E402
from tests.fakes.server import serve  # noqa: E402
from tests.fakes.zendesk import FakeZendesk  # noqa: E402
from tests.knowledge.helpdesks import Clock  # noqa: E402
from tests.replay import history  # noqa: E402
from tests.replay.conftest import _ingest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=520)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--slow-examples", type=int, default=40)
    parser.add_argument("--embedding", default="hash", choices=["hash", "minilm-int8"])
    args = parser.parse_args()

    os.environ.update(TEST_ZENDESK_TOKEN=ZENDESK_TOKEN, TEST_ZENDESK_SECRET="s", TEST_ANTHROPIC_KEY="k")
    clock = Clock()
    clock.now -= timedelta(days=5)
    zd = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN, clock=clock, rate_limit=100_000)
    history.seed(zd, args.tickets)
    clock.advance(days=5)
    slow = {"on": False}

    def model(body):
        if slow["on"]:
            time.sleep(args.slow_seconds)
        return history.fake_model(body)

    claude = FakeClaude(api_key="k", default=model)
    with tempfile.TemporaryDirectory() as tmp, serve(zd.app) as zs, serve(claude.app) as cs:
        root = Path(tmp)
        raw = yaml.safe_load(config_text(root / "var", zendesk_url=zs.url, claude_url=cs.url,
                                         knowledge={"embedding": args.embedding}))
        raw["anthropic"].update(model=history.GOOD_MODEL, max_retries=2, api_key_env="TEST_ANTHROPIC_KEY")
        raw["intents"] = history.INTENTS
        path = root / "config.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        _ingest(path, root)
        config = load_config(path)

        connector = build_connectors(config)["zendesk"]
        out = root / "d.jsonl"
        started = time.perf_counter()
        report = collect.collect(connector, out, since=datetime.now(UTC) - timedelta(days=30),
                                 limit=100_000, intents=set(config.intents))
        seconds = time.perf_counter() - started
        print(f"collect: {report.tickets} tickets -> {report.examples} examples in {seconds:.1f}s "
              f"({report.tickets / seconds:.1f} tickets/s)")
        data = dataset.load(out)

        runner = build_runner(config)
        record = run_record(data, config, runner.deps.drafter.model)
        for label, examples in (("instant model", data.examples),
                                (f"{args.slow_seconds:g} s model", data.examples[:args.slow_examples])):
            slow["on"] = label != "instant model"
            subset = dataset.Dataset(data.header, list(examples))
            result = run(runner, subset, root / label.replace(" ", "-"), record, concurrency=args.concurrency,
                         prices=Prices(3, 15), budget_usd=None)
            print(f"run, {label}, concurrency {args.concurrency}, {args.embedding} embedding: {result.done} examples "
                  f"in {result.seconds:.1f}s ({result.done / result.seconds:.2f} examples/s)")
        runner.deps.retrieve.close()
        connector.close()


if __name__ == "__main__":
    main()
