"""What synchronous=FULL (as shipped for the inbox insert) costs the webhook's write against NORMAL (SQLite, WAL):
the time of State.record_event (the insert and its audit step in one transaction), which a 202 waits for.

    .venv/bin/python benchmarks/inbox_durability.py [--events 300]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deskdraft import state  # noqa: E402


def measure(durable: bool, events: int) -> list[float]:
    shipped = state._durable
    if not durable:
        state._durable = lambda conn: contextlib.nullcontext()  # the connection's own NORMAL
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inbox = state.State(f"sqlite:///{tmp}/deskdraft.db")
            times = []
            for n in range(events):
                started = time.perf_counter()
                inbox.record_event("zendesk", f"bench-{n}", str(n), "customer.replied")
                times.append((time.perf_counter() - started) * 1000)
            inbox.dispose()
            return times
    finally:
        state._durable = shipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    for durable in (False, True, False, True):  # interleaved: a busy machine hurts both alike
        times = sorted(measure(durable, args.events))
        print(f"synchronous={'FULL' if durable else 'NORMAL':6} inbox write p50 {statistics.median(times):.2f} ms, "
              f"p99 {times[int(len(times) * 0.99) - 1]:.2f} ms")


if __name__ == "__main__":
    main()
