"""The word lists of the safety net and the mood rules, read from drafting/lexicons/<language>.yaml.

One file per language, so a native speaker reviews one file (checklist: drafting/lexicons/README.md) and a
new language is a new file, not a code change in five places. Files are validated when this module is first
imported, that is when the worker or web process starts: a missing file, an unknown key, a placeholder that
is not defined or a regular expression that does not compile stops the start with the file and the entry
named, instead of leaving a language silently unprotected.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

FOLDER = Path(__file__).with_name("lexicons")
# Supported languages, in rule order. A file for each must exist; a file for a language not listed is refused
# (it would otherwise be loaded by nobody's decision and tested by no one).
LANGUAGES = ("en", "de", "fr", "es", "nl", "sv", "it", "pt")

NEAR = r"(?:\W+\w+){0,4}?\W+"  # up to four words in between: "card was just stolen"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")  # {things}; regex repeats such as {0,4} are digits, never names


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message names the file and the entry."""


def near(a: str, b: str) -> str:
    """a within a few words of b, in either order ("lost my card", "card ... lost")."""
    return rf"(?:(?:{a}){NEAR}(?:{b})|(?:{b}){NEAR}(?:{a}))"


def _pattern(value: Any) -> str:
    """A regular expression as a string, or {near: [a, b]}: a and b within four words of each other."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping) and set(value) == {"near"}:
        pair = value["near"]
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p.strip() for p in pair):
            return near(pair[0], pair[1])
    raise ValueError("a pattern is a non-empty string or {near: [a, b]}")


def _word(value: str) -> str:
    if not re.fullmatch(r"[^\W\d_][\w:]*", value):
        raise ValueError("one folded word (no spaces, accents)")
    return value


Pattern = Annotated[str, BeforeValidator(_pattern)]
Patterns = Annotated[list[Pattern], Field(min_length=1)]
Word = Annotated[str, AfterValidator(_word)]
# Unknown keys are refused (the same strictness as config.yaml): a misspelt flag is an error, not a list nobody reads.
_STRICT = ConfigDict(extra="forbid")


class _Risk(BaseModel):
    """One list per risk flag, in the order a note lists them; every language must cover every flag."""

    model_config = _STRICT
    chargeback: Patterns
    fraud: Patterns
    lost_or_stolen: Patterns
    hardship: Patterns
    legal: Patterns
    account_closure: Patterns
    bereavement: Patterns
    vulnerable: Patterns
    injection: Patterns


class _Mood(BaseModel):
    model_config = _STRICT
    anger: Patterns
    repeat: Patterns
    positive: Patterns
    negative: Patterns


RISK_FLAGS = tuple(_Risk.model_fields)
MOOD_LISTS = tuple(_Mood.model_fields)


class _LexiconFile(BaseModel):
    model_config = _STRICT

    language: str
    terms: dict[Annotated[str, Field(pattern=r"^[a-z_]+$")], str] = {}
    risk: _Risk
    human_request: Patterns
    human_words: Annotated[list[Word], Field(min_length=1)]
    filler: list[Word] = []
    mood: _Mood

    @field_validator("human_words", "filler")
    @classmethod
    def _words_are_folded(cls, words: list[str]) -> list[str]:
        # Text is matched after folding (no accents, lower case): a word with either would never match.
        bad = [w for w in words if w != w.casefold() or not w.isascii()]
        if bad:
            raise ValueError(f"words must be folded (lower case, no accents): {bad}")
        return words


def _messages(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors())


@dataclass(frozen=True)
class Lexicon:
    """One language's lists, placeholders filled in; patterns are regex sources, compiled by their users."""

    language: str
    risk: Mapping[str, tuple[str, ...]]
    human_request: tuple[str, ...]
    human_words: tuple[str, ...]
    filler: tuple[str, ...]
    mood: Mapping[str, tuple[str, ...]]


def _fill(pattern: str, terms: Mapping[str, str], where: str) -> str:
    def term(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in terms:
            raise LexiconError(f"{where}: {{{name}}} is not defined under terms: {pattern!r}")
        return terms[name]

    filled = _PLACEHOLDER.sub(term, pattern)
    try:
        re.compile(filled)
    except re.error as exc:
        raise LexiconError(f"{where}: bad regular expression {pattern!r}: {exc}") from None
    return filled


def parse(text: str, name: str) -> Lexicon:
    """One file's text as a Lexicon; name is the language the file name promises."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LexiconError(f"lexicons/{name}.yaml is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise LexiconError(f"lexicons/{name}.yaml must be a mapping of the keys in lexicons/README.md")
    try:
        data = _LexiconFile.model_validate(raw)
    except ValidationError as exc:
        raise LexiconError(f"lexicons/{name}.yaml: {_messages(exc)}") from None
    if data.language != name:
        raise LexiconError(f"lexicons/{name}.yaml says language: {data.language!r}")
    terms = data.terms

    def filled(patterns: list[str], where: str) -> tuple[str, ...]:
        return tuple(_fill(p, terms, f"lexicons/{name}.yaml {where}") for p in patterns)

    return Lexicon(
        language=name,
        risk={flag: filled(getattr(data.risk, flag), f"risk.{flag}") for flag in RISK_FLAGS},
        human_request=filled(data.human_request, "human_request"),
        human_words=tuple(data.human_words),
        filler=tuple(data.filler),
        mood={key: filled(getattr(data.mood, key), f"mood.{key}") for key in MOOD_LISTS},
    )


def load(folder: Path = FOLDER, languages: tuple[str, ...] = LANGUAGES) -> dict[str, Lexicon]:
    """Every supported language's lexicon, in rule order; LexiconError names the first problem."""
    present = {path.stem for path in folder.glob("*.yaml")}
    missing = [lang for lang in languages if lang not in present]
    if missing:
        raise LexiconError(f"no lexicon for {missing} in {folder}: each supported language needs <language>.yaml")
    unlisted = sorted(present - set(languages))
    if unlisted:
        raise LexiconError(f"lexicons {unlisted} in {folder} are not supported languages: add them to "
                           "drafting.lexicon.LANGUAGES (and the risk test set) or remove them")
    return {lang: parse((folder / f"{lang}.yaml").read_text(encoding="utf-8"), lang) for lang in languages}


LEXICONS = load()
