"""Per-example metrics for experiments: each one a small function of a run result, None when it does not apply.

Add your own by writing a function and listing it in METRICS; `experiment compare` picks it up. Higher is better
unless the name is in LOWER_IS_BETTER.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from drafting import checks, overrides

Result = dict[str, Any]
SENTENCE = re.compile(r"(?<=[.!?])\s+")
SUPPORTED = 0.5  # share of a sentence's words found in the cited passages for it to count as supported


def agreement(r: Result) -> float | None:
    """The live gate's review measure: similarity of the draft to what the agent actually sent."""
    return r["similarity"]


def accepted(r: Result) -> float | None:
    """1 when the agent would not have overridden the draft (the gate's override rule)."""
    return None if r["overridden"] is None else float(not r["overridden"])


def citation_validity(r: Result) -> float | None:
    """1 when every passage label the model cited was one it was given."""
    return None if r["draft"] is None else float(not r["invented"])


def policy_claim_cited(r: Result) -> float | None:
    """1 unless the draft states a refund/fee/eligibility/deadline rule without citing a policy passage."""
    if not r["draft"]:
        return None
    cited = set(r["cited"])
    return float(not checks.states_a_rule(r["draft"])
                 or any(p["kind"] == "policy" for p in r["passages"] if p["id"] in cited))


def groundedness(r: Result) -> float | None:
    """Share of the draft's sentences whose words mostly appear in the passages it cites (lexical support)."""
    if not r["draft"]:
        return None
    cited = set(r["cited"])
    vocabulary = set(overrides.words(" ".join(p["text"] for p in r["passages"] if p["id"] in cited)))
    sentences = [s for s in SENTENCE.split(r["draft"]) if overrides.words(s)]
    if not sentences:
        return None
    supported = sum(1 for s in sentences
                    if sum(w in vocabulary for w in overrides.words(s)) / len(overrides.words(s)) >= SUPPORTED)
    return supported / len(sentences)


def handoff(r: Result) -> float | None:
    return float(r["handoff"])


def needs_human(r: Result) -> float | None:
    return None if r["needs_human"] is None else float(r["needs_human"])


def calibration_error(r: Result) -> float | None:
    """Squared gap between the draft's confidence and its agreement (a Brier-style score: lower is better)."""
    if r["confidence"] is None or r["similarity"] is None:
        return None
    return (r["confidence"] - r["similarity"]) ** 2


def latency_seconds(r: Result) -> float | None:
    return r["seconds"]


def tokens(r: Result) -> float | None:
    return float(r["input_tokens"] + r["output_tokens"])


METRICS: dict[str, Callable[[Result], float | None]] = {
    "agreement": agreement, "accepted": accepted, "citation_validity": citation_validity,
    "policy_claim_cited": policy_claim_cited, "groundedness": groundedness, "handoff": handoff,
    "needs_human": needs_human, "calibration_error": calibration_error, "latency_seconds": latency_seconds,
    "tokens": tokens,
}
LOWER_IS_BETTER = {"handoff", "needs_human", "calibration_error", "latency_seconds", "tokens"}
