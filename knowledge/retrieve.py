"""Search the knowledge store for passages to ground a draft on: filtered by kind, locale and scope, best first.

The score a caller sees is always the cosine similarity of the query and the chunk (1 - cosine distance, in
[-1, 1]), so `min_score` keeps one meaning whether or not keyword search took part in the ranking. For a model
whose cosines sit elsewhere (multilingual-e5-small) the store maps them linearly onto MiniLM's scale
(MultilingualE5.score_scale), so `min_score` also keeps its meaning across embedding models.

Hybrid (hybrid=True) ranks the union of the vector and BM25 candidates by cosine + HYBRID_WEIGHT x (BM25 / best BM25):
a nudge toward passages that share the query's exact words (product names, error codes). On StackFAQ it neither
helps nor hurts (benchmarks/retrieval.py); reciprocal rank fusion, the usual recipe, lowered recall@1 there from
0.94 to 0.87, because those queries are paraphrases and their words are mostly not the answer's.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # store.py imports Passage from here
    from knowledge.store import KnowledgeStore

HYBRID_WEIGHT = 0.05
# A metadata filter makes Chroma's search ~20x slower (45 ms vs 2 ms at 10k chunks, benchmarks/retrieval.py), and
# most chunks pass our filters: so the unfiltered top OVERFETCH x k is read and filtered here, and only when fewer
# than k pass does Chroma run the filtered search. Same answer: the filtered top k is inside the unfiltered top n.
OVERFETCH = 8
CANDIDATES = 4  # each half proposes this many times k candidates (at least MIN_CANDIDATES)
MIN_CANDIDATES = 20


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    url: str
    kind: str
    text: str
    score: float  # 1 - cosine distance, in [-1, 1]; higher is better
    locale: str = ""  # "" when the source did not say: such a passage suits every language
    source_id: str = ""
    scope: str = ""  # "" visible to every helpdesk account


def filters(kinds: Sequence[str] | None = None, locale: str | None = None,
            scope: str | None = None) -> dict[str, list[str]]:
    """Allowed metadata values per field: a passage without a locale suits every language, and scope "" every account.

    scope=None means no scope filter (an admin's view); scope="" means an account without a knowledge_scope.
    """
    from knowledge.store import language_of

    allowed: dict[str, list[str]] = {}
    if kinds is not None:
        allowed["kind"] = list(dict.fromkeys(kinds))
    if locale:
        allowed["lang"] = ["", language_of(locale)]
    if scope is not None:
        allowed["scope"] = list(dict.fromkeys(["", scope]))
    return allowed


def chroma_where(allowed: dict[str, list[str]]) -> dict[str, Any] | None:
    clauses = [{name: {"$in": values}} for name, values in allowed.items()]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def retrieve(
    store: KnowledgeStore,
    query: str,
    k: int = 5,
    min_score: float = 0.0,
    kinds: Sequence[str] | None = None,
    *,
    locale: str | None = None,
    scope: str | None = None,
    hybrid: bool = False,
    embedding: Sequence[float] | None = None,
) -> list[Passage]:
    """Return up to k passages for query, best first, none scoring below min_score.

    embedding: the query's vector when the caller has it already (routing embedded the ticket with the store's
    model): the ticket is embedded once, not once for routing and again here."""
    if not query.strip() or k <= 0 or (kinds is not None and not kinds):
        return []
    allowed = filters(kinds, locale, scope)
    embedding = store.embed_query(query) if embedding is None else [float(x) for x in embedding]
    if not hybrid:
        passages = [p for p in _nearest(store, query, k, allowed, embedding) if p.score >= min_score]
        return sorted(passages, key=lambda p: p.score, reverse=True)

    pool = max(CANDIDATES * k, MIN_CANDIDATES)
    by_vector = {p.id: p for p in _nearest(store, query, pool, allowed, embedding)}
    keyword = dict(store.lexical().top(query, pool, allowed))
    extra = store.passages([i for i in keyword if i not in by_vector], embedding)
    candidates = {**by_vector, **{p.id: p for p in extra}}
    best = max(keyword.values(), default=0.0) or 1.0
    ranked = sorted(candidates.values(),
                    key=lambda p: p.score + HYBRID_WEIGHT * keyword.get(p.id, 0.0) / best, reverse=True)
    return [p for p in ranked if p.score >= min_score][:k]


def _passes(passage: Passage, allowed: dict[str, list[str]]) -> bool:
    from knowledge.store import language_of

    values = {"kind": passage.kind, "lang": language_of(passage.locale), "scope": passage.scope}
    return all(values[name] in options for name, options in allowed.items())


def _nearest(store: KnowledgeStore, query: str, k: int, allowed: dict[str, list[str]],
             embedding: Sequence[float]) -> list[Passage]:
    if not allowed:
        return store.query(query, k, None, embedding=embedding)
    wide = store.query(query, k * OVERFETCH, None, embedding=embedding)
    kept = [p for p in wide if _passes(p, allowed)]
    if len(kept) >= k or len(wide) < k * OVERFETCH:  # enough, or the whole collection was read
        return kept[:k]
    return store.query(query, k, chroma_where(allowed), embedding=embedding)
