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
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

FOLDER = Path(__file__).with_name("lexicons")
# Supported languages, in rule order. A file for each must exist; a file for a language not listed is refused
# (it would otherwise be loaded by nobody's decision and tested by no one).
LANGUAGES = ("en", "de", "fr", "es", "nl", "sv", "it", "pt")
# Risk flags, in the order a note lists them. Every language must cover every flag.
RISK_FLAGS = ("chargeback", "fraud", "lost_or_stolen", "hardship", "legal", "account_closure", "bereavement",
              "vulnerable", "injection")
MOOD_LISTS = ("anger", "repeat", "positive", "negative")

NEAR = r"(?:\W+\w+){0,4}?\W+"  # up to four words in between: "card was just stolen"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")  # {things}; regex repeats such as {0,4} are digits, never names


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message names the file and the entry."""


def near(a: str, b: str) -> str:
    """a within a few words of b, in either order ("lost my card", "card ... lost")."""
    return rf"(?:(?:{a}){NEAR}(?:{b})|(?:{b}){NEAR}(?:{a}))"


class _Pattern(fields.Field):
    """A regular expression as a string, or {near: [a, b]}: a and b within four words of each other."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, Mapping) and set(value) == {"near"}:
            pair = value["near"]
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p.strip() for p in pair):
                return near(pair[0], pair[1])
        raise ValidationError("a pattern is a non-empty string or {near: [a, b]}")


def _patterns(required: bool = True) -> fields.List:
    return fields.List(_Pattern(), required=required, validate=validate.Length(min=1))


# marshmallow refuses unknown keys by default (RAISE): a misspelt flag is an error, not a list nobody reads.
_RiskSchema = Schema.from_dict({flag: _patterns() for flag in RISK_FLAGS}, name="Risk")
_MoodSchema = Schema.from_dict({key: _patterns() for key in MOOD_LISTS}, name="Mood")


_WORD = fields.String(validate=validate.Regexp(r"^[^\W\d_][\w:]*$", error="one folded word (no spaces, accents)"))


class _LexiconSchema(Schema):
    class Meta:
        unknown = RAISE

    language = fields.String(required=True)
    terms = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[a-z_]+$")), values=fields.String(),
                        load_default=dict)
    risk = fields.Nested(_RiskSchema, required=True)
    human_request = _patterns()
    human_words = fields.List(_WORD, required=True, validate=validate.Length(min=1))
    filler = fields.List(_WORD, load_default=list)
    mood = fields.Nested(_MoodSchema, required=True)

    @validates_schema
    def _words_are_folded(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Text is matched after folding (no accents, lower case): a word with either would never match.
        for key in ("human_words", "filler"):
            bad = [w for w in data.get(key, []) if w != w.casefold() or not w.isascii()]
            if bad:
                raise ValidationError(f"words must be folded (lower case, no accents): {bad}", key)


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
        data = _LexiconSchema().load(raw)
    except ValidationError as exc:
        raise LexiconError(f"lexicons/{name}.yaml: {exc.messages}") from None
    if data["language"] != name:
        raise LexiconError(f"lexicons/{name}.yaml says language: {data['language']!r}")
    terms = data["terms"]

    def filled(patterns: list[str], where: str) -> tuple[str, ...]:
        return tuple(_fill(p, terms, f"lexicons/{name}.yaml {where}") for p in patterns)

    return Lexicon(
        language=name,
        risk={flag: filled(data["risk"][flag], f"risk.{flag}") for flag in RISK_FLAGS},
        human_request=filled(data["human_request"], "human_request"),
        human_words=tuple(data["human_words"]),
        filler=tuple(data["filler"]),
        mood={key: filled(data["mood"][key], f"mood.{key}") for key in MOOD_LISTS},
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
