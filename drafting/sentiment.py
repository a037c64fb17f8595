"""Sentiment and frustration from rules a support lead can read: no model call, every verdict has reasons.

Frustration is any of: anger words or insults, repeated-issue phrases ("third time", "still not",
"again", "nobody answers"), three or more exclamation marks, shouting in capitals, or repeated
contact (two or more earlier customer messages in an open thread: the issue is not resolved yet).
Sentiment is negative when frustrated or when negative words outweigh positive ones, positive when
positive words win, neutral otherwise. Whether frustration escalates or only softens the tone is the
caller's decision, from config.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from deskdraft.text.html_text import plain_text
from drafting.lexicon import LEXICONS
from drafting.safety import fold

# Anger, repeated-issue, positive and negative words: the `mood` lists of drafting/lexicons/<language>.yaml,
# matched on folded text (no accents, lower case, apostrophes as spaces), like drafting.safety.

EXCLAMATIONS = 3  # "!!!" or three sentences ending in "!"
CAPS_MIN_LETTERS = 12  # shorter shouting ("HELP", "URGENT") is too little to judge
CAPS_SHARE = 0.7
REPEATED_CONTACT = 2  # earlier customer turns in this thread before the latest one


def _compile(mood_list: str) -> list[re.Pattern[str]]:
    return [re.compile(rf"(?<!\w)(?:{p})(?!\w)") for lexicon in LEXICONS.values() for p in lexicon.mood[mood_list]]


_ANGER, _REPEAT, _POSITIVE, _NEGATIVE = map(_compile, ("anger", "repeat", "positive", "negative"))
_CAPS_WORD = re.compile(r"\b[^\W\d_]{2,}\b")
_NUMBERED = {1: "st", 2: "nd", 3: "rd"}


@dataclass(frozen=True)
class Mood:
    sentiment: str  # "positive" | "neutral" | "negative"
    frustrated: bool
    reasons: tuple[str, ...]


def _matches(patterns: list[re.Pattern[str]], text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0) for p in patterns for m in [p.search(text)] if m))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else _NUMBERED.get(n % 10, "th")
    return f"{n}{suffix}"


def _shouting(text: str) -> bool:
    words = _CAPS_WORD.findall(text)
    letters = sum(len(w) for w in words)
    if letters < CAPS_MIN_LETTERS:
        return False
    upper = sum(len(w) for w in words if w.isupper())
    return upper / letters >= CAPS_SHARE


def assess(latest: str, earlier_customer_turns: Sequence[str]) -> Mood:
    """The mood of the latest customer message, given the customer's earlier messages in the thread."""
    raw = plain_text(latest or "")
    text = fold(raw)
    reasons: list[str] = []
    anger = _matches(_ANGER, text)
    if anger:
        reasons.append("angry words: " + ", ".join(anger[:3]))
    repeat = _matches(_REPEAT, text)
    if repeat:
        reasons.append("repeated issue: " + ", ".join(repeat[:3]))
    if raw.count("!") >= EXCLAMATIONS:
        reasons.append(f"{raw.count('!')} exclamation marks")
    if _shouting(raw):
        reasons.append("all caps")
    earlier = [turn for turn in earlier_customer_turns if turn and turn.strip()]
    if len(earlier) >= REPEATED_CONTACT:
        reasons.append(f"repeated contact: {_ordinal(len(earlier) + 1)} message")
    frustrated = bool(reasons)

    positive, negative = _matches(_POSITIVE, text), _matches(_NEGATIVE, text)
    if frustrated or len(negative) > len(positive):
        sentiment = "negative"
    elif len(positive) > len(negative):
        sentiment = "positive"
    else:
        sentiment = "neutral"
    return Mood(sentiment, frustrated, tuple(reasons))
