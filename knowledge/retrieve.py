"""Search the knowledge store for passages to ground a draft on."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # store.py imports Passage from here
    from knowledge.store import KnowledgeStore


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    url: str
    kind: str
    text: str
    score: float  # 1 - cosine distance, in [-1, 1]; higher is better


def retrieve(
    store: KnowledgeStore,
    query: str,
    k: int = 5,
    min_score: float = 0.0,
    kinds: Sequence[str] | None = None,
) -> list[Passage]:
    """Return up to k passages for query, best first, none scoring below min_score."""
    if not query.strip() or k <= 0 or (kinds is not None and not kinds):
        return []
    where = None if kinds is None else {"kind": {"$in": list(kinds)}}
    passages = [p for p in store.query(query, k, where) if p.score >= min_score]
    return sorted(passages, key=lambda p: p.score, reverse=True)
