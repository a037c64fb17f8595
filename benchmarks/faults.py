"""Exactly once under faults, at size: the multi-worker fault drill (tests/e2e/fault_drill.py) with 500 tickets.

    .venv/bin/python benchmarks/faults.py [--tickets 500] [--workers 3] [--concurrency 8] [--model-seconds 2]
                                          [--kill-every 3,6] [--broker redis://127.0.0.1:6379/15]
                                          [--database postgresql+psycopg://postgres@127.0.0.1:5432/NAME]

The production topology on this machine (deskdraft/cluster.py: `chroma run`, N worker processes, one beat,
gunicorn) on Redis and PostgreSQL (a throwaway database unless --database), the fake Zendesk and a fake Claude that
takes --model-seconds per draft. Every ticket gets one webhook; a random worker is SIGKILLed every few seconds and
restarted. Prints the time to drain, throughput, the kills, and per ticket whether it got exactly one post; exits 1
if any ticket got none or more than one. CI runs the same drill with 60 tickets (tests/e2e/test_many_workers.py).
"""
from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.fault_drill import run_drill  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--model-seconds", type=float, default=2.0)
    parser.add_argument("--kill-every", default="3,6", help="seconds between kills: low,high (uniform)")
    parser.add_argument("--lease-seconds", type=int, default=10)
    parser.add_argument("--sweep-after-seconds", type=int, default=15)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--database", default=None, help="PostgreSQL URL; default: a throwaway database")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    low, high = (float(x) for x in args.kill_every.split(","))

    from tests.test_state import drop_database, postgres_url

    # Stopped from outside (SIGTERM, or SIGINT where a background shell ignores it): still stop the cluster and
    # drop the throwaway database on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    database = args.database or postgres_url()
    try:
        with tempfile.TemporaryDirectory(prefix="deskdraft-faults-") as tmp:
            result = run_drill(Path(tmp), tickets=args.tickets, broker_url=args.broker, database_url=database,
                               workers=args.workers, concurrency=args.concurrency, model_seconds=args.model_seconds,
                               kill_every=(low, high), lease_seconds=args.lease_seconds,
                               sweep_after_seconds=args.sweep_after_seconds, timeout=1800, seed=args.seed,
                               say=lambda line: print(line, flush=True))
    finally:
        if args.database is None:
            drop_database(database)
    ideal = args.tickets * args.model_seconds / (args.workers * args.concurrency)
    print(f"\nworkers {args.workers} x {args.concurrency} threads, model {args.model_seconds:g} s, "
          f"kills every {low:g}-{high:g} s, lease {args.lease_seconds} s, sweep after {args.sweep_after_seconds} s")
    print(f"drain: {result.drain_seconds:.1f} s for {result.tickets} tickets "
          f"({result.tickets / result.drain_seconds:.2f}/s; without faults the model alone bounds it at "
          f"{ideal:.1f} s)")
    print(f"SIGKILLs: {len(result.kills)}; model calls: {result.model_calls} "
          f"({result.model_calls - result.tickets} redone after kills)")
    print(f"exactly one post: {sum(n == 1 for n in result.posts.values())}/{result.tickets}; "
          f"missing {result.missing[:10]}; doubled {result.doubled[:10]}")
    print(f"recovery steps: {result.steps}")
    return 0 if not result.missing and not result.doubled else 1


if __name__ == "__main__":
    sys.exit(main())
