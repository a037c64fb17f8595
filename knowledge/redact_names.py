"""Known people's names out of text: the requester's, the agents' and others the helpdesk's own data names.

A ticket carries its people (connectors.base.Person: name, email, role). Each person gets one placeholder for the
whole ticket ([CUSTOMER_NAME], [AGENT_NAME_1], [PERSON_NAME_1]...), so the model can follow who said what, and the
same placeholder can be turned back into the name in a reply we post on that ticket (restore()).

What is matched, for each person: the full name and each part of it (particles such as "de", "van" alone are not),
spelled with or without accents and with German transliteration (Müller, Muller, Mueller), in any case; the local
part of their email when it spells the name (maria.gonzalez, pnatarajan). A part that is also a common word (Grace,
Will, Mark, May) is matched only when capitalised, so "grace period" and "will you" stay.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

Span = tuple[int, int]

PARTICLES = {"de", "da", "das", "do", "dos", "del", "della", "der", "den", "di", "du", "la", "le", "les", "van",
             "von", "vom", "zu", "ten", "ter", "y", "e", "al", "el", "bin", "ibn", "mc", "st", "jr", "sr", "dr", "mr",
             "mrs", "ms"}
# Given names and surnames that are everyday words: only a capitalised spelling is taken for the name.
COMMON_WORDS = {"will", "may", "mark", "grace", "rose", "bill", "frank", "june", "april", "august", "hope", "joy",
                "faith", "art", "sunny", "summer", "dawn", "ray", "pat", "sue", "rich", "chance", "max", "jan", "mar",
                "lane", "king", "young", "page", "ward", "hunter", "price", "baker", "cook", "smith", "white",
                "black", "brown", "green", "long", "short", "best", "love", "gay", "an", "ana", "eve", "iris", "ivy",
                "lily", "holly", "jack", "sky", "storm", "wolf", "fox", "bird", "stone", "hill", "wood", "field",
                "mayer", "major", "sang", "son", "ben", "jo", "lo", "liv", "ole", "bo", "per", "kim", "sol",
                "sommer", "winter", "klein", "groß", "gross", "lang", "kurz", "neu", "alt", "weiss", "weiß", "roth",
                "blanc", "petit", "grand", "blanco", "rubio", "bueno"}
# Helpdesk display names that are roles, not people ("Customer", "Support Agent", "Acme Support"): never taken.
GENERIC = {"customer", "customers", "agent", "agents", "support", "team", "admin", "administrator", "user", "client",
           "kunde", "service", "services", "help", "helpdesk", "desk", "bot", "system", "info", "sales", "billing",
           "operator", "assistant", "care", "contact", "unknown", "guest", "visitor", "lead", "member", "staff"}
ROLE_LABELS = {"customer": "CUSTOMER_NAME", "agent": "AGENT_NAME"}


class PersonLike(Protocol):
    # Read-only, so frozen records (connectors.base.Person) fit.
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def role(self) -> str: ...  # "customer" (the requester) | "agent" | anything else (cc, other end users)


@dataclass(frozen=True)
class KnownName:
    placeholder: str
    display: str  # what restore() writes back
    pattern: re.Pattern[str]


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _spellings(text: str) -> set[str]:
    german = (text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("Ä", "Ae").replace("Ö", "Oe")
              .replace("Ü", "Ue").replace("ß", "ss"))
    return {text, _fold(text), german}


def _parts(name: str) -> list[str]:
    words = [w.strip(".,'’") for w in name.split()]
    parts = [w for w in words if len(w) >= 2 and w.lower() not in PARTICLES | GENERIC]
    for word in list(parts):  # Al-Rashid: also "Rashid"
        parts += [p for p in word.split("-") if len(p) >= 3 and p.lower() not in PARTICLES and p != word]
    return parts


def _email_local(email: str | None, parts: Iterable[str]) -> str | None:
    if not email or "@" not in email:
        return None
    local = email.split("@", 1)[0]
    letters = _fold(re.sub(r"[^\w]", "", local)).lower()
    spelled = any(len(p) >= 3 and any(_fold(s) in letters for s in _spellings(p.lower())) for p in parts)
    return local if spelled and len(local) >= 4 else None


def _alternatives(person: PersonLike) -> tuple[list[str], list[str]]:
    """(spellings matched in any case, spellings matched only capitalised), longest first."""
    name = " ".join(person.name.split())
    parts = _parts(name)
    any_case: set[str] = set()
    capital_only: set[str] = set()
    whole = [name] if parts and any(w.lower() not in GENERIC for w in name.split()) else []
    for text in [*whole, *parts]:
        is_word = text in parts and text.lower() in COMMON_WORDS
        for spelling in _spellings(text):
            (capital_only if is_word else any_case).add(spelling)
    local = _email_local(person.email, parts)
    if local:
        (capital_only if local.lower() in COMMON_WORDS else any_case).add(local)
    order = lambda items: sorted(items, key=lambda s: (-len(s), s))  # noqa: E731
    return order(any_case), order(capital_only)


def _pattern(any_case: list[str], capital_only: list[str]) -> re.Pattern[str]:
    pieces = []
    if any_case:
        pieces.append("(?i:" + "|".join(re.escape(s) for s in any_case) + ")")
    for word in capital_only:  # Grace or GRACE, not grace
        pieces.append(re.escape(word[0].upper() + word[1:].lower()))
        pieces.append(re.escape(word.upper()))
    return re.compile(r"(?<![\w@.+-])(?:" + "|".join(pieces) + r")(?![\w@]|\.\w)")


def known_names(people: Iterable[PersonLike]) -> list[KnownName]:
    """One entry per named person, in the order given (callers pass the requester first)."""
    counters: dict[str, int] = {}
    result: list[KnownName] = []
    seen: set[str] = set()
    for person in people:
        name = " ".join((person.name or "").split())
        if not name or "@" in name or name.lower() in seen:
            continue
        seen.add(name.lower())
        label = ROLE_LABELS.get(person.role, "PERSON_NAME")
        counters[label] = counters.get(label, 0) + 1
        placeholder = f"[{label}]" if label == "CUSTOMER_NAME" and counters[label] == 1 else \
            f"[{label}_{counters[label]}]"
        any_case, capital_only = _alternatives(person)
        if any_case or capital_only:
            result.append(KnownName(placeholder, name, _pattern(any_case, capital_only)))
    return result


def name_spans(text: str, names: Iterable[KnownName]) -> Iterator[tuple[Span, str]]:
    """Where each known name is; parts of one name next to each other ("JÜRGEN MULLER") make one span."""
    for known in names:
        spans = [m.span() for m in known.pattern.finditer(text)]
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and not text[merged[-1][1]:start].strip():
                merged[-1][1] = end
            else:
                merged.append([start, end])
        for start, end in merged:
            yield (start, end), known.placeholder
