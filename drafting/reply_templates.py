"""The words code adds to a public reply (the AI disclosure, how to reach a person), one YAML file per language.

drafting/templates/<language>.yaml, read and checked once when this module is imported (the worker's start): a
file with a missing or unexpected field, a placeholder other than {assistant} and {brand}, or a reach-a-person
line that does not quote its own human_word stops the start with the file's name, rather than a customer getting
a half-filled reply. These lines are never model-written; a language without a file has no public reply at all
(the output guard keeps the draft internal), and its notes fall back to English.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATES = Path(__file__).parent / "templates"
FALLBACK = "en"
FIELDS = frozenset({"language", "disclosure", "reach_a_person", "human_word"})
PLACEHOLDER = re.compile(r"\{(\w*)\}")
DISCLOSURE_PLACEHOLDERS = frozenset({"assistant", "brand"})


class TemplateError(ValueError):
    """A template file that would put wrong or half-filled words in front of a customer."""


@dataclass(frozen=True)
class ReplyTemplate:
    language: str
    disclosure: str  # "Hi, I'm {assistant}, {brand}'s AI assistant."
    reach_a_person: str  # quotes human_word
    human_word: str  # the one word that hands the ticket to a person (drafting/safety.py HUMAN_WORDS)

    def wrap(self, reply: str, assistant: str, brand: str) -> str:
        # Plain replacement, not str.format: a brace in a brand name is text, not a format field.
        disclosure = self.disclosure.replace("{assistant}", assistant).replace("{brand}", brand)
        return f"{disclosure}\n\n{reply}\n\n{self.reach_a_person}"


def _parse(path: Path) -> ReplyTemplate:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path.name}: unreadable: {exc}") from exc
    if not isinstance(data, dict) or set(data) != FIELDS:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise TemplateError(f"{path.name}: needs exactly the fields {sorted(FIELDS)}, found {found}")
    if not all(isinstance(value, str) and value.strip() for value in data.values()):
        raise TemplateError(f"{path.name}: every field must be non-empty text")
    template = ReplyTemplate(**{name: data[name].strip() for name in FIELDS})
    if template.language != path.stem:
        raise TemplateError(f"{path.name}: language {template.language!r} does not match the file name")
    if set(PLACEHOLDER.findall(template.disclosure)) != DISCLOSURE_PLACEHOLDERS:
        raise TemplateError(f"{path.name}: disclosure must contain {{assistant}} and {{brand}} and no other "
                            f"placeholder: {template.disclosure!r}")
    if PLACEHOLDER.search(template.reach_a_person):
        raise TemplateError(f"{path.name}: reach_a_person takes no placeholder: {template.reach_a_person!r}")
    if template.human_word.lower() not in template.reach_a_person.lower() or " " in template.human_word:
        raise TemplateError(f"{path.name}: reach_a_person must quote the one human_word {template.human_word!r}")
    return template


def load(folder: Path = TEMPLATES) -> dict[str, ReplyTemplate]:
    """Every template in folder by language; raises TemplateError naming the first bad file."""
    templates = {path.stem: _parse(path) for path in sorted(folder.glob("*.yaml"))}
    if FALLBACK not in templates:
        raise TemplateError(f"{folder}: {FALLBACK}.yaml is missing; it is the fallback for every other language")
    return templates


_TEMPLATES = load()


def languages() -> frozenset[str]:
    """Languages a public reply can be written in."""
    return frozenset(_TEMPLATES)


def for_language(language: str) -> ReplyTemplate:
    """The template for language, English when there is none (then the reply must not be public: see
    output_guard.review, which refuses a customer language outside languages())."""
    return _TEMPLATES.get(language, _TEMPLATES[FALLBACK])
