"""Fixtures for the knowledge tests: real embedded Chroma in tmp_path, deterministic embeddings."""
from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knowledge.embeddings import HashEmbedding
from knowledge.store import KnowledgeStore

_names = itertools.count()


class RecordingHash(HashEmbedding):
    """HashEmbedding that keeps every text it was asked to embed (the fake-model-with-history pattern)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __call__(self, input):
        self.seen.extend(input)
        return super().__call__(input)


@pytest.fixture
def embedding() -> RecordingHash:
    return RecordingHash()


@pytest.fixture
def store(tmp_path: Path, embedding: RecordingHash) -> Iterator[KnowledgeStore]:
    # A unique collection per test: Chroma shares state between clients of one process.
    kb = KnowledgeStore(path=str(tmp_path / "chroma"), url=None, collection=f"kb-test-{next(_names)}",
                        embedding=embedding)
    yield kb
    kb.close()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write("docs/a.md", text) -> the file, dedented, under tmp_path."""

    def _write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write
