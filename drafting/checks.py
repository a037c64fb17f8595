"""Checks on a drafted reply, run by code before anything decides where it goes.

A reply that states a money or time rule (refund, fee, eligibility, deadline) must cite a passage of kind
"policy": the 5% of confident-but-wrong answers about fees and terms is the failure this product exists to avoid.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

RULE_WORDS = re.compile(
    r"\b(refund\w*|reimburs\w*|fee|fees|charge[sd]?|surcharge|penalt\w+|interest rate|eligib\w+|qualif\w+|"
    r"deadline|within \d+|\d+\s*(?:business |working |calendar )?days?|no later than|expires?|"
    r"erstatt\w*|rückerstatt\w*|gebühr\w*|frist\w*|innerhalb von|"
    r"rembours\w*|frais|délai|éligib\w+|dans les \d+|"
    r"reembols\w*|comisi[oó]n\w*|plazo|elegib\w+|"
    r"terugbetal\w*|kosten|termijn|återbetal\w*|avgift\w*)\b|[$€£]\s?\d|\d\s?(?:%|[$€£]|usd|eur|gbp|sek)\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    problems: tuple[str, ...]


def states_a_rule(reply: str) -> bool:
    return bool(RULE_WORDS.search(reply))


def check_reply(reply: str, cited: Sequence[Any], invented: Sequence[str]) -> CheckResult:
    """Every cited id retrieved; a money/time rule backed by a cited policy passage."""
    problems = []
    if not reply.strip():
        problems.append("the model returned no reply")
    if invented:
        problems.append(f"cites passages that were not retrieved: {', '.join(invented)}")
    if states_a_rule(reply) and not any(getattr(p, "kind", "") == "policy" for p in cited):
        problems.append("states a refund, fee, eligibility or deadline rule without citing a policy passage")
    return CheckResult(not problems, tuple(problems))
