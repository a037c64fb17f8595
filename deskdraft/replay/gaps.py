"""`report gaps`: the questions our knowledge could not answer, grouped into topics, biggest first.

A question is a gap when retrieval found nothing above `knowledge.min_score`, or its draft was overridden with
missing information, or the model said information was missing. Questions are embedded with the knowledge
store's own embedding and clustered (scikit-learn's agglomerative clustering on cosine distance), so the team sees
"write an article about X" rather than a list of tickets.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from drafting import overrides

STOPWORDS = frozenset("""
a an and are at be but by can could did do does for from had has have hello hi how i if in is it
its me my no not of on or our please so that the their there this to was we were what when where which who why will
with would you your yes thanks thank hey still just get got any""".split())



PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*\]")


def why_gap(result: dict[str, Any]) -> str | None:
    if not result["grounded"]:
        return "nothing found above the score floor"
    if result["overridden"] and "missing_info" in result["changes"]:
        return "overridden: the agent added missing information"
    if result["missing"]:
        return "the model said information was missing"
    return None


def _label(questions: Sequence[str]) -> str:
    # Redaction placeholders ([ADDRESS], [CUSTOMER_NAME]) say nothing about the topic; ties go to the longer,
    # usually more specific word, then alphabetically, so the label does not depend on set order.
    counts = Counter(w for q in questions for w in set(overrides.words(PLACEHOLDER.sub(" ", q)))
                     if w not in STOPWORDS and not w.isdigit() and len(w) > 2 and "_" not in w)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], -len(item[0]), item[0]))
    return " / ".join(w for w, _ in ranked[:3]) or "(no common words)"


def topics(results: Sequence[dict[str, Any]], embed: Callable[[Sequence[str]], np.ndarray], *,
           distance: float = 0.6, examples: int = 3) -> list[dict[str, Any]]:
    """Gap questions clustered into topics: label, count, reasons, example questions (already redacted)."""
    gaps = [(r, why) for r in results if (why := why_gap(r)) and r.get("question")]
    if not gaps:
        return []
    questions = [r["question"] for r, _ in gaps]
    if len(questions) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        vectors = np.asarray(embed(questions), dtype=np.float32)
        labels = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine",
                                         linkage="average").fit_predict(vectors)
    clusters: dict[int, list[int]] = {}
    for n, label in enumerate(labels):
        clusters.setdefault(int(label), []).append(n)
    found = []
    for members in clusters.values():
        texts = [questions[n] for n in members]
        found.append({"topic": _label(texts), "count": len(members),
                      "reasons": dict(Counter(gaps[n][1] for n in members).most_common()),
                      "intents": dict(Counter(gaps[n][0]["intent"] for n in members).most_common()),
                      "examples": sorted(set(texts), key=len)[:examples]})
    return sorted(found, key=lambda t: (-t["count"], t["topic"]))


def table(found: Sequence[dict[str, Any]]) -> str:
    if not found:
        return "no content gaps: every replayed question found a passage above the floor"
    lines = []
    for n, t in enumerate(found, 1):
        reasons = ", ".join(f"{k}: {v}" for k, v in t["reasons"].items())
        lines.append(f"{n}. {t['topic']}  ({t['count']} questions; {reasons})")
        lines += [f"     - {q[:160]!s}" for q in t["examples"]]
    return "\n".join(lines)
