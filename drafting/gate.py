"""The autonomy gate: may this draft go to the customer, or does it stay a note, or go to a human?

Pure code on measured numbers. Nothing the model says and nothing written in a ticket can open it:
its inputs are the admin's policy, the review statistics, a confidence computed by code, and routing flags.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

REPLY, NOTE, ESCALATE = "reply", "note", "escalate"


@dataclass(frozen=True)
class Policy:
    autonomy: str  # manual (humans own it: escalate) | draft (notes) | auto_send (public when earned)
    override_threshold: float  # the override rate's upper bound must be under this
    min_reviewed: int  # reviewed drafts needed before the bound means anything
    min_confidence: float  # this draft's confidence floor for going public
    risky: bool

    @classmethod
    def of(cls, intent: Any) -> Policy:
        """The policy an intent's settings (deskdraft.settings, `config.intent(name)`) set: the one place the gate,
        the report, the console and replay take it from."""
        return cls(intent.autonomy, intent.override_threshold, intent.min_reviewed, intent.min_confidence,
                   intent.risky)


@dataclass(frozen=True)
class Stats:
    reviewed: int
    overridden: int

    @property
    def rate(self) -> float:
        return self.overridden / self.reviewed if self.reviewed else 0.0

    @property
    def upper_bound(self) -> float:
        return wilson_upper(self.overridden, self.reviewed)


@dataclass(frozen=True)
class Signals:
    """Everything about one draft the gate weighs besides the policy and the review statistics: measured by code
    (confidence.score, routing, the checks), never said by the model or written in the ticket."""

    confidence: float
    needs_human: tuple[str, ...] = ()  # risk flags, unknown intent, wants a human: escalate
    holds: tuple[str, ...] = ()  # signals that keep a draft private without escalating (frustration, softened)
    model_available: bool = True
    paused: bool = False


@dataclass(frozen=True)
class Decision:
    action: str
    reasons: tuple[str, ...]
    gate_open: bool  # the intent has earned autonomy (independent of this draft)


def wilson_upper(failures: int, n: int, z: float = 1.96) -> float:
    """Upper end of the 95% Wilson score interval of a proportion; 1.0 with no data."""
    if n <= 0:
        return 1.0
    p = failures / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + margin) / (1 + z * z / n))


def gate_open(policy: Policy, stats: Stats) -> tuple[bool, str]:
    """Has this intent earned public replies? With the evidence, for the note, the report and the audit."""
    if policy.autonomy != "auto_send":
        return False, f"autonomy is {policy.autonomy}"
    if policy.risky:
        return False, "risky intent: humans own it"
    if stats.reviewed < policy.min_reviewed:
        return False, f"{stats.reviewed} of {policy.min_reviewed} reviewed drafts needed"
    bound = stats.upper_bound
    if bound >= policy.override_threshold:
        return False, (f"override rate {stats.rate:.1%} (upper bound {bound:.1%}) is not under "
                       f"{policy.override_threshold:.1%}")
    return True, f"override rate {stats.rate:.1%} (upper bound {bound:.1%}) over {stats.reviewed} reviews"


def decide(policy: Policy, stats: Stats, signals: Signals) -> Decision:
    """reply only when every condition holds; escalate when humans own the ticket; otherwise a note."""
    is_open, evidence = gate_open(policy, stats)
    if policy.autonomy == "manual" or policy.risky:
        return Decision(ESCALATE, (evidence, *signals.needs_human), is_open)
    if signals.needs_human:
        return Decision(ESCALATE, signals.needs_human, is_open)
    reasons = [evidence, *signals.holds]
    if signals.paused:
        reasons.append("autonomy is paused for every intent")
    if not signals.model_available:
        reasons.append("no model: retrieval only")
    if signals.confidence < policy.min_confidence:
        reasons.append(f"confidence {signals.confidence:.2f} is under the floor {policy.min_confidence:.2f}")
    if is_open and len(reasons) == 1:
        return Decision(REPLY, tuple(reasons), is_open)
    return Decision(NOTE, tuple(reasons), is_open)
