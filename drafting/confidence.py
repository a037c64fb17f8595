"""One confidence number per draft, computed by code from signals we can observe.

    confidence = 0.40 * grounding + 0.30 * citations + 0.30 * self_report, then capped:
      grounding   = best passage score rescaled from [min_score, STRONG_MATCH] to [0, 1]
      citations   = share of cited ids that exist in what was retrieved (0 when nothing is cited)
      self_report = the model's own number, clamped to [0, 1]; alone it is not a probability
    caps: no valid citation → at most 0.4; any invented citation → at most 0.5; a failed check (drafting/checks.py,
    e.g. a refund rule without a policy citation) → at most 0.3; empty reply → 0.

The weights favour what we measured (retrieval, citation checks) over what the model says of itself.
"""
from __future__ import annotations

STRONG_MATCH = 0.75  # a cosine score at which a passage reliably answers the question (MiniLM)
WEIGHTS = {"grounding": 0.40, "citations": 0.30, "self_report": 0.30}


def grounding(best: float | None, min_score: float) -> float:
    if best is None or best <= min_score:
        return 0.0
    return min(1.0, (best - min_score) / max(1e-9, STRONG_MATCH - min_score))


def score(*, best_passage_score: float | None, min_score: float, cited: int, invented: int, self_report: float,
          reply_empty: bool = False, checks_failed: int = 0) -> float:
    """The draft's confidence in [0, 1]. best_passage_score is None when nothing was retrieved; cited counts the
    citations that exist among the retrieved passages, invented the ones the model made up. The result goes to
    the gate as gate.Signals.confidence: one number, so the gate never sees the parts."""
    if reply_empty:
        return 0.0
    total_cited = cited + invented
    citations = cited / total_cited if total_cited else 0.0
    value = (WEIGHTS["grounding"] * grounding(best_passage_score, min_score)
             + WEIGHTS["citations"] * citations
             + WEIGHTS["self_report"] * min(1.0, max(0.0, self_report)))
    if cited == 0:
        value = min(value, 0.4)
    if invented:
        value = min(value, 0.5)
    if checks_failed:
        value = min(value, 0.3)
    return round(value, 3)
