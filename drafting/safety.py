"""Rule-based risk safety net: words and phrases that send a ticket to a human whatever the router says.

Risky cases (disputes, fraud, stolen cards, hardship, legal threats, account closure, bereavement,
self-harm) belong to humans from turn one. The router can be unsure or wrong; these rules catch the
words that make a case risky even then. They err on the side of a human: "fraud protection settings"
is flagged too. Nothing a ticket says can switch a rule off ("this is not a dispute" still says dispute).

Matching works on folded text (HTML entities decoded, invisible characters dropped, accents stripped,
casefolded, Cyrillic/Greek look-alikes inside Latin words mapped to Latin), so the patterns (one file per
language in drafting/lexicons/, see its README) are written without accents and in lower case. Each pattern
is wrapped in word boundaries; a pattern that should also match inside German/Dutch/Swedish compounds says
so with \\w*. URLs and e-mail addresses are removed first: an identifier is not a statement
("/disputed/123" in a link is no reason).
Text hidden in HTML (display:none, comments, split by tags) is caught because both the raw text and
a tag-stripped copy are scanned.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from deskdraft.text.html_text import plain_text
from deskdraft.text.patterns import URL_OR_EMAIL
from drafting.lexicon import LEXICONS, RISK_FLAGS

# The patterns themselves live in drafting/lexicons/<language>.yaml, one file per language (drafting.lexicon).
_BUILTIN_RULES = [(flag, lang, pattern) for flag in RISK_FLAGS for lang, lexicon in LEXICONS.items()
                  for pattern in lexicon.risk[flag]]


_CONFUSABLES = str.maketrans({  # Cyrillic and Greek letters that pass for Latin ones
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
    "α": "a", "ε": "e", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "κ": "k", "ν": "v", "ι": "i",
})
_LATIN = re.compile(r"[a-z]")
_WORD = re.compile(r"\w+")
_APOSTROPHES = str.maketrans({"'": " ", "’": " ", "‘": " ", "`": " ", "´": " "})


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Cf"))


def _unmask_word(match: re.Match[str]) -> str:
    word = match.group(0)
    mapped = word.translate(_CONFUSABLES)
    # Only words mixing scripts are rewritten: "frаud" with a Cyrillic а, not Russian text.
    return mapped if mapped != word and _LATIN.search(word) else word


def fold(text: str) -> str:
    """Text as the patterns see it: no accents, casefolded, apostrophes as spaces, look-alikes mapped."""
    text = _strip_marks(unicodedata.normalize("NFKC", text)).casefold()
    text = _WORD.sub(_unmask_word, text)
    return text.translate(_APOSTROPHES)


def views(text: str) -> list[str]:
    """The folded texts a rule is matched against: raw (entities decoded) and tag-stripped, URLs removed."""
    seen: list[str] = []
    for variant in (html.unescape(text), plain_text(text)):
        folded = fold(URL_OR_EMAIL.sub(" ", variant))
        if folded not in seen:
            seen.append(folded)
    return seen


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)


def _fold_pattern(pattern: str) -> str:
    # Only accents and ß: escapes such as \S and \W are ASCII and must keep their case.
    return _strip_marks(pattern).replace("ß", "ss")


@dataclass(frozen=True)
class RiskHit:
    flag: str
    pattern: str
    language: str  # the language of the rule that matched ("config" for patterns from config.yaml)
    text: str = ""  # what matched, folded (no accents, lower case)


class SafetyNet:
    """Multilingual risk patterns; extra_patterns from config add regexes per flag (new flags allowed)."""

    def __init__(self, extra_patterns: Mapping[str, Sequence[str]] | None = None) -> None:
        self._rules: list[tuple[str, str, str, re.Pattern[str]]] = list(_BUILTIN)
        for flag, patterns in (extra_patterns or {}).items():
            if isinstance(patterns, str):
                raise ValueError(f"safety pattern list for {flag!r} must be a list, not a string")
            for pattern in patterns:
                try:
                    self._rules.append((flag, "config", pattern, _compile(_fold_pattern(pattern))))
                except re.error as exc:
                    raise ValueError(f"bad safety pattern for {flag!r}: {pattern!r}: {exc}") from None

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(flag for flag, *_ in self._rules))

    def scan(self, text: str) -> list[RiskHit]:
        """Every rule that matches text, one hit per (flag, pattern), in rule order."""
        if not text or not text.strip():
            return []
        texts = views(text)
        hits: list[RiskHit] = []
        for flag, language, pattern, regex in self._rules:
            for view in texts:
                match = regex.search(view)
                if match:
                    hits.append(RiskHit(flag, pattern, language, match.group(0).strip()))
                    break
        return hits


# Compiled once at import, so a pattern the regex engine refuses stops the start, not the first ticket.
_BUILTIN = [(flag, lang, pattern, _compile(pattern)) for flag, lang, pattern in _BUILTIN_RULES]
_HUMAN_RULES = [(lang, _compile(p)) for lang, lexicon in LEXICONS.items() for p in lexicon.human_request]

# Every public reply says: reply "human". The word, in each language (lexicons' human_words, folded), reaches a
# person when it is the whole message (give or take the lexicons' filler words: politeness, "I want", "real"),
# or anywhere in an answer to one of our public replies.
_FILLER = frozenset(word for lexicon in LEXICONS.values() for word in lexicon.filler)
_HUMAN_WORD_SET = frozenset(word for lexicon in LEXICONS.values() for word in lexicon.human_words)


def _one_word_request(view: str, anywhere: bool) -> str | None:
    words = _WORD.findall(view)
    found = next((word for word in words if word in _HUMAN_WORD_SET), None)
    if found is None:
        return None
    if anywhere or all(word in _FILLER or word in _HUMAN_WORD_SET for word in words):
        return found
    return None


def asks_for_human(text: str, answering_public_reply: bool = False) -> str | None:
    """The phrase with which the customer asks for a person, or None.

    answering_public_reply: the message answers one of our public replies, which told the customer to reply
    "human": then the word anywhere in it is the request, never the start of a second AI answer.
    """
    for view in views(text or ""):
        for _, regex in _HUMAN_RULES:
            match = regex.search(view)
            if match:
                return match.group(0).strip()
        word = _one_word_request(view, anywhere=answering_public_reply)
        if word:
            return word
    return None


def flags_of(hits: Iterable[RiskHit]) -> tuple[str, ...]:
    """Distinct flags in order of first appearance."""
    return tuple(dict.fromkeys(hit.flag for hit in hits))
