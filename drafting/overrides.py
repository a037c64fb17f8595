"""How much did the agent change our draft? The measure behind every autonomy gate.

Similarity is difflib's ratio over lower-cased word sequences (order matters, punctuation does not):
    >= 0.90 accepted (sent as is, give or take a word)    >= 0.70 lightly edited
    >= 0.40 substantially rewritten                        <  0.40 discarded
An override is a substantial rewrite or a discard. The thresholds are constants so a change to them is a
reviewed code change, not a config tweak that silently reopens gates.

`measured` is the override measurement itself: the reviews of an intent's drafts within autonomy.window_days,
made under today's prompt, configured model and knowledge snapshot (autonomy.restart_on). The gate (pipeline)
calls it, and `gate_facts` on it is what the report (admin_cli) and the console print, so what they show is
what the gate decides on.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from deskdraft.text.patterns import urls
from drafting import gate, prompts
from knowledge.epoch import knowledge_epoch

if TYPE_CHECKING:
    from deskdraft.state import State

ACCEPTED, LIGHT_EDIT, REWRITTEN, DISCARDED = "accepted", "light_edit", "rewritten", "discarded"
BANDS = ((0.90, ACCEPTED), (0.70, LIGHT_EDIT), (0.40, REWRITTEN), (0.0, DISCARDED))
OVERRIDES = {REWRITTEN, DISCARDED}

WORD = re.compile(r"\w+", re.UNICODE)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
TONE_WORDS = {"sorry", "apologise", "apologize", "apologies", "understand", "frustrating", "thank", "thanks",
              "unfortunately", "appreciate"}


@dataclass(frozen=True)
class Review:
    outcome: str
    similarity: float
    changes: tuple[str, ...]  # what changed, where cheap to tell: facts, missing_info, tone, length, language

    @property
    def overridden(self) -> bool:
        return self.outcome in OVERRIDES


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def similarity(draft: str, sent: str) -> float:
    a, b = words(draft), words(sent)
    if not a and not b:
        return 1.0
    return round(SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)


def classify(draft: str, sent: str, draft_language: str | None = None, sent_language: str | None = None) -> Review:
    """Compare our draft with what the agent actually sent."""
    score = similarity(draft, sent)
    outcome = next(label for floor, label in BANDS if score >= floor)
    return Review(outcome, score, tuple(_changes(draft, sent, draft_language, sent_language)) if outcome != ACCEPTED
                  else ())


def _changes(draft: str, sent: str, draft_language: str | None, sent_language: str | None) -> list[str]:
    changes = []
    if set(NUMBER.findall(draft)) != set(NUMBER.findall(sent)) or set(urls(draft)) != set(urls(sent)):
        changes.append("facts")  # amounts, dates, deadlines or links differ
    draft_words, sent_words = set(words(draft)), words(sent)
    added = [w for w in sent_words if w not in draft_words]
    if sent_words and len(added) / len(sent_words) > 0.3 and len(sent_words) > len(draft_words):
        changes.append("missing_info")
    if (TONE_WORDS & set(sent_words)) != (TONE_WORDS & draft_words):
        changes.append("tone")
    ratio = (len(sent_words) + 1) / (len(draft_words) + 1)
    if ratio > 1.5 or ratio < 0.67:
        changes.append("length")
    if draft_language and sent_language and draft_language != sent_language:
        changes.append("language")
    return changes


def measurement_epoch(config: Any) -> dict[str, str]:
    """The draft columns a review must match to count: today's prompt version, the configured model (not the
    drafter's: without an API key there is none, yet the intent's record under that model still stands) and
    the knowledge snapshot, as far as autonomy.restart_on names them."""
    values = {"prompt": ("prompt_version", prompts.version()), "model": ("model", config.anthropic.model),
              "knowledge": ("knowledge_snapshot", knowledge_epoch(config))}
    return dict(values[name] for name in config.autonomy.restart_on)


def measured(state: State, config: Any, now: float, intent: str | None = None) -> dict[str, gate.Stats]:
    """intent -> reviewed and overridden drafts the gate counts (one intent's, or every intent's)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    since = now - config.autonomy.window_days * 86400
    for name, outcome in state.review_outcomes(since, measurement_epoch(config), intent):
        counts[name][0] += 1
        counts[name][1] += outcome in OVERRIDES
    return {name: gate.Stats(reviewed, overridden) for name, (reviewed, overridden) in counts.items()}


def gate_facts(config: Any, state: State, now: float, also: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Per intent (configured, measured, and `also`): the gate as the worker decides it now. The report and the
    console both print these; each row: stats (gate.Stats), reviewed, overridden, gate_open, why."""
    stats = measured(state, config, now)
    facts = {}
    for name in sorted(set(config.intents) | set(stats) | set(also)):
        counted = stats.get(name, gate.Stats(0, 0))
        is_open, why = gate.gate_open(gate.Policy.of(config.intent(name)), counted)
        facts[name] = {"stats": counted, "reviewed": counted.reviewed, "overridden": counted.overridden,
                       "gate_open": is_open, "why": why}
    return facts
