"""`experiment compare`: two configurations on the same examples, each metric for A and B, paired significance.

Pairs are the examples both runs finished; the test is Wilcoxon's signed-rank on the per-example differences
(scipy), which needs no normality and handles the 0/1 metrics as well as the continuous ones.
"""
from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from scipy.stats import wilcoxon

from deskdraft.replay.metrics import LOWER_IS_BETTER, METRICS

ALPHA = 0.05


def paired(values_a: Sequence[float], values_b: Sequence[float]) -> float:
    """Two-sided p-value that B differs from A on the same examples; 1.0 when nothing differs."""
    diffs = [b - a for a, b in zip(values_a, values_b, strict=False)]
    if len(diffs) < 2 or not any(diffs):
        return 1.0
    return float(wilcoxon(values_a, values_b, zero_method="zsplit").pvalue)


def compare_metric(name: str, pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    metric = METRICS[name]
    values = [(metric(a), metric(b)) for a, b in pairs]
    both = [(x, y) for x, y in values if x is not None and y is not None]
    if not both:
        return {"metric": name, "n": 0, "a": None, "b": None, "diff": None, "p_value": None,
                "verdict": "not measured"}
    xs, ys = [x for x, _ in both], [y for _, y in both]
    a, b = fmean(xs), fmean(ys)
    p = paired(xs, ys)
    if p >= ALPHA:
        verdict = "no significant difference"
    else:
        better = (b < a) if name in LOWER_IS_BETTER else (b > a)
        verdict = "B better" if better else "B worse"
    return {"metric": name, "n": len(both), "a": a, "b": b, "diff": b - a, "p_value": p, "verdict": verdict}


def compare(results_a: Sequence[dict[str, Any]], results_b: Sequence[dict[str, Any]],
            metrics: Sequence[str] = tuple(METRICS)) -> dict[str, Any]:
    """Overall and per intent (the example's labelled intent, else A's routing) for every metric."""
    by_id = {r["example_id"]: r for r in results_b}
    pairs = [(a, by_id[a["example_id"]]) for a in sorted(results_a, key=lambda r: r["example_id"])
             if a["example_id"] in by_id]
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for a, b in pairs:
        groups.setdefault(a["labelled_intent"] or a["intent"], []).append((a, b))
    return {"paired_examples": len(pairs), "overall": [compare_metric(m, pairs) for m in metrics],
            "intents": {name: [compare_metric(m, group) for m in metrics] for name, group in sorted(groups.items())}}


def table(comparison: dict[str, Any], per_intent: bool = True) -> str:
    def block(title: str, rows: Sequence[dict[str, Any]]) -> list[str]:
        out = [title, f"  {'metric':20} {'n':>5} {'A':>9} {'B':>9} {'B-A':>9} {'p':>9}  verdict"]
        for m in rows:
            cells = ["-" if m[k] is None else f"{m[k]:.4g}" for k in ("a", "b", "diff", "p_value")]
            out.append(f"  {m['metric']:20} {m['n']:>5} {cells[0]:>9} {cells[1]:>9} {cells[2]:>9} {cells[3]:>9}  "
                       f"{m['verdict']}")
        return out

    lines = block(f"Overall ({comparison['paired_examples']} paired examples)", comparison["overall"])
    if per_intent:
        for name, rows in comparison["intents"].items():
            lines += block(f"Intent {name}", rows)
    return "\n".join(lines)
