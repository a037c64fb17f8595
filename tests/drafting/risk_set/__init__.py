"""The multilingual risky/benign message set (README.md here): loading and the safety net's verdict on it."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from drafting.lexicon import LANGUAGES

FOLDER = Path(__file__).parent
PARTS = ("tune", "held_out")
CATEGORIES = ("dispute", "fraud", "stolen_card", "hardship", "bereavement", "illness", "legal", "account_closure",
              "vulnerable", "human")


@dataclass(frozen=True)
class Message:
    language: str
    part: str  # "tune" | "held_out"
    category: str  # one of CATEGORIES, or "benign"
    text: str

    @property
    def risky(self) -> bool:
        return self.category != "benign"


def messages(languages: tuple[str, ...] = LANGUAGES, parts: tuple[str, ...] = PARTS) -> Iterator[Message]:
    for language in languages:
        data = yaml.safe_load((FOLDER / f"{language}.yaml").read_text(encoding="utf-8"))
        assert data["language"] == language, language
        for part in parts:
            for category, text in data[part]["risky"]:
                assert category in CATEGORIES, (language, category)
                yield Message(language, part, category, text)
            for text in data[part]["benign"]:
                yield Message(language, part, "benign", text)
