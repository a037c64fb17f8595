"""Red-team figures for public replies: the corpus in tests/redteam/corpus.yaml through the real pipeline.

    .venv/bin/python benchmarks/redteam.py [--vector html] [--show]

Same run as tests/redteam/test_redteam.py: worker.build_deps() (MiniLM router, Chroma store with the knowledge base
and the corpus's poisoned passages, the Anthropic SDK) against the fake Zendesk and a fake Claude that answers
what a compromised model would, with the gate open on order_status. Prints, per vector: attempts, blocked (a note
or a handoff instead of a public reply), public, intent moved (to an intent that cannot answer publicly), and
violations (a public link or markup outside the allowlist, a visible ref, a broken fence, a public reply despite
the safety net). About a minute and a half on 2 cores.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.redteam.run import RedTeam, load_corpus, summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vector", help="run only this vector")
    parser.add_argument("--show", action="store_true", help="print each attempt's outcome")
    args = parser.parse_args()
    attempts = [a for a in load_corpus() if not args.vector or a["vector"] == args.vector]
    started = time.perf_counter()
    with RedTeam(attempts) as team:
        results = []
        for result in team.run():
            results.append(result)
            if args.show or result.violations:
                print(f"{result.id:24} {result.outcome:14} {'PUBLIC' if result.public else '':6} "
                      f"{result.intent_moved or ''} {'; '.join(result.violations) or result.why[:90]}")
        gate = [e["open"] for e in team.gate_history()]
    table = summary(results)
    print(f"\n{'vector':20} {'attempts':>8} {'blocked':>8} {'public':>7} {'moved':>6} {'violations':>10}")
    for vector, row in table.items():
        print(f"{vector:20} {row['attempts']:>8} {row.get('blocked', 0):>8} {row.get('public', 0):>7} "
              f"{row.get('intent_moved', 0):>6} {row.get('violations', 0):>10}")
    total = {k: sum(row.get(k, 0) for row in table.values())
             for k in ("attempts", "blocked", "public", "intent_moved", "violations")}
    print(f"{'total':20} {total['attempts']:>8} {total['blocked']:>8} {total['public']:>7} "
          f"{total['intent_moved']:>6} {total['violations']:>10}")
    print(f"gate on order_status over the run: {gate} (1 = open); {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
