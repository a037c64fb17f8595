"""One Route per ticket thread: intent, risk, mood, language and whether the customer asked for a person.

Pure code over the customer's text; no model call. Nothing a ticket says can lower risk or pick an
intent: rules only ever add risk, and the router sees text, not instructions. A ticket goes to a human
(Route.needs_human) when the intent is unknown, when it is risky, or when the customer asks for one.

    intent     the router's top intent if its calibrated probability >= min_probability and the text is
               like something the router was taught (nearest training example >= router.min_similarity),
               else "unknown"
    risky      the intent is risky, or a risky intent is among the router's top RISKY_TOP_K at
               >= RISKY_FLOOR (the router is unsure between "lost card" and "card not working"),
               or the safety net matched in the latest or an earlier customer message
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from deskdraft.text.html_text import hidden_text, visible_text
from drafting import language as languages
from drafting.intents.classifier import embed_texts
from drafting.safety import RiskHit, SafetyNet, asks_for_human, flags_of
from drafting.sentiment import assess

if TYPE_CHECKING:
    from drafting.intents.classifier import IntentRouter

UNKNOWN = "unknown"
RISKY_TOP_K = 3
RISKY_FLOOR = 0.05  # on Banking77 this catches the risky messages the top intent misses for +1.7% escalations
SHORT_MESSAGE_WORDS = 4  # "any news?": classify it together with the customer's previous message
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class IntentSpec:
    name: str
    description: str
    examples: tuple[str, ...]
    risky: bool


@dataclass(frozen=True)
class Route:
    intent: str  # an IntentSpec name, or "unknown"
    probability: float  # calibrated probability of `intent` (of the top intent when unknown)
    risky: bool  # the intent is risky OR the safety net fired
    risk_flags: tuple[str, ...]  # what the safety net matched, e.g. ("chargeback", "fraud")
    sentiment: str  # "positive" | "neutral" | "negative"
    frustrated: bool
    frustration_reasons: tuple[str, ...]
    language: str  # ISO 639-1
    wants_human: bool  # the customer asked for a person
    reasons: tuple[str, ...]  # human-readable, for the note
    # The routed text's query embedding (router.embedding_name's model): retrieval reuses it instead of embedding
    # the ticket a second time. None without a router or text.
    query_vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def needs_human(self) -> bool:
        """Unknown intent, risky, or the customer asked for a person (frustration: the caller's config decides)."""
        return self.intent == UNKNOWN or self.risky or self.wants_human


@dataclass(frozen=True)
class IntentDecision:
    intent: str
    probability: float
    best: str  # the top class, even when it did not clear the threshold
    risky_candidates: tuple[tuple[str, float], ...]  # risky intents in the top-k at >= floor
    reasons: tuple[str, ...]


def decide_intent(classes: Sequence[str], probabilities: np.ndarray, risky_intents: Collection[str],
                  min_probability: float, allowed: Collection[str] | None = None,
                  risky_floor: float = RISKY_FLOOR, top_k: int = RISKY_TOP_K,
                  similarity: float | None = None, min_similarity: float = 0.0) -> IntentDecision:
    """The intent rule on one row of router probabilities (pure; the benchmark runs the same function)."""
    row = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(-row, kind="stable")
    best, p = classes[order[0]], float(row[order[0]])
    reasons: list[str] = []
    if allowed is not None and best not in allowed:
        intent = UNKNOWN
        reasons.append(f"router's top intent {best!r} is not in config")
    elif p < min_probability:
        intent = UNKNOWN
        reasons.append(f"intent unknown: best guess {best} at p={p:.2f} < {min_probability:.2f}")
    elif similarity is not None and similarity < min_similarity:
        intent = UNKNOWN
        reasons.append(f"intent unknown: unlike every training example (similarity {similarity:.2f} < "
                       f"{min_similarity:.2f}); best guess {best} at p={p:.2f}")
    else:
        intent = best
        reasons.append(f"intent {best} at p={p:.2f} (threshold {min_probability:.2f})")
    candidates = tuple((classes[i], float(row[i])) for i in order[:top_k]
                       if classes[i] in risky_intents and row[i] >= risky_floor)
    if intent in risky_intents:
        reasons.append(f"risky intent: {intent}")
    for name, q in candidates:
        if name != intent:
            reasons.append(f"risky intent {name} among the top {top_k} at p={q:.2f}")
    return IntentDecision(intent, p, best, candidates, tuple(reasons))


def _router_text(latest: str, earlier: Sequence[str]) -> tuple[str, bool]:
    if earlier and len(_WORD.findall(latest)) < SHORT_MESSAGE_WORDS:
        return f"{earlier[-1]}\n{latest}", True
    return latest, False


def _hit_reason(hit: RiskHit, where: str) -> str:
    return f"safety net{where}: {hit.flag} ({hit.text!r}, {hit.language})"


def route(latest: str, earlier_customer_turns: Sequence[str], router: IntentRouter | None, safety: SafetyNet,
          min_probability: float, *, intents: Sequence[IntentSpec] | None = None,
          risky_floor: float = RISKY_FLOOR, default_language: str = "en", after_public_reply: bool = False) -> Route:
    """Route a thread from the customer's latest message (possibly several joined) and their earlier ones.

    intents: the configured intents; their `risky` marks which router labels are risky, and a label the
    config no longer has is "unknown". Without them only the safety net can make a route risky.
    after_public_reply: the latest message answers one of our public replies, where "human" anywhere reaches one.
    """
    raw_latest = latest or ""
    raw_earlier = [turn for turn in earlier_customer_turns if turn and turn.strip()]
    # The router, mood and language read what a person sees; the safety net and the request for a person
    # read everything (they can only add caution), so hidden HTML can raise risk but never steer the intent.
    latest = visible_text(raw_latest)
    earlier = [visible_text(turn) for turn in raw_earlier]
    risky_intents = {spec.name for spec in intents or () if spec.risky}
    allowed = {spec.name for spec in intents} if intents is not None else None
    reasons: list[str] = []

    query_vector = None
    if router is None:
        decision = IntentDecision(UNKNOWN, 0.0, UNKNOWN, (), ("intent unknown: no router trained",))
    elif not latest.strip():
        decision = IntentDecision(UNKNOWN, 0.0, UNKNOWN, (), ("intent unknown: empty message",))
    else:
        text, with_context = _router_text(latest, earlier)
        query_vector = embed_texts(router.embed, [text])
        classes, probabilities, similarity = router.scores_of_vectors(query_vector)
        decision = decide_intent(classes, probabilities[0], risky_intents, min_probability, allowed, risky_floor,
                                 similarity=float(similarity[0]), min_similarity=router.min_similarity)
        if with_context:
            reasons.append("short message: classified with the customer's previous message")
    reasons.extend(decision.reasons)

    hits = safety.scan(raw_latest)
    earlier_hits = [hit for turn in raw_earlier for hit in safety.scan(turn)]
    seen: set[tuple[str, str]] = set()
    for hit, where in [(h, "") for h in hits] + [(h, " (earlier message)") for h in earlier_hits]:
        if (hit.flag, hit.text) not in seen:
            seen.add((hit.flag, hit.text))
            reasons.append(_hit_reason(hit, where))
    risk_flags = flags_of([*hits, *earlier_hits])
    hidden = hidden_text(raw_latest)
    if hidden:
        risk_flags = (*risk_flags, "hidden_text")
        reasons.append(f"hidden HTML text dropped before the model: {hidden[:80]!r}")

    human_phrase = asks_for_human(raw_latest, answering_public_reply=after_public_reply)
    if human_phrase:
        reasons.append(f"customer asked for a person ({human_phrase!r})")

    mood = assess(latest, earlier)
    reasons.extend(f"frustration: {reason}" for reason in mood.reasons)

    language = languages.detect(latest, default="")
    if not language and earlier:  # "Danke!" after two German messages is German
        language = languages.detect("\n".join([*earlier, latest]), default="")
    language = language or default_language

    risky = decision.intent in risky_intents or bool(decision.risky_candidates) or bool(risk_flags)
    return Route(
        intent=decision.intent,
        probability=decision.probability,
        risky=risky,
        risk_flags=risk_flags,
        sentiment=mood.sentiment,
        frustrated=mood.frustrated,
        frustration_reasons=mood.reasons,
        language=language,
        wants_human=human_phrase is not None,
        reasons=tuple(reasons),
        query_vector=None if query_vector is None else query_vector[0],
    )
