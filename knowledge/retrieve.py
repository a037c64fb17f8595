"""Search the knowledge store for passages to ground a draft on: filtered by kind and scope, best first.

Across languages: every locale is searched (a German question finds the English article), then the customer's
language is preferred (prefer_language): where one help-center article is among the candidates in several
languages, its version in the customer's language takes the place of the best-scoring version and the others
go, so the German translation comes first when the help center has one.

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
TRANSLATION_POOL = 3  # with a locale, k x this many are read: translations of one article compete for places


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


def filters(kinds: Sequence[str] | None = None, scope: str | None = None) -> dict[str, list[str]]:
    """Allowed metadata values per field: scope "" is visible to every account. No field filters on language:
    the customer's language is a preference (prefer_language), not a filter.

    scope=None means no scope filter (an admin's view); scope="" means an account without a knowledge_scope.
    """
    allowed: dict[str, list[str]] = {}
    if kinds is not None:
        allowed["kind"] = list(dict.fromkeys(kinds))
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
    """Return up to k passages for query, best first, none scoring below min_score; locale (the customer's
    language) puts an article's version in that language in the place of its other versions.

    embedding: the query's vector when the caller has it already (routing embedded the ticket with the store's
    model): the ticket is embedded once, not once for routing and again here."""
    if not query.strip() or k <= 0 or (kinds is not None and not kinds):
        return []
    from knowledge.store import language_of

    allowed = filters(kinds, scope)
    language = language_of(locale or "")
    depth = k * TRANSLATION_POOL if language else k
    embedding = store.embed_query(query) if embedding is None else [float(x) for x in embedding]
    if not hybrid:
        ranked = sorted(_nearest(store, query, depth, allowed, embedding), key=lambda p: p.score, reverse=True)
    else:
        pool = max(CANDIDATES * depth, MIN_CANDIDATES)
        by_vector = {p.id: p for p in _nearest(store, query, pool, allowed, embedding)}
        keyword = dict(store.lexical().top(query, pool, allowed))
        extra = store.passages([i for i in keyword if i not in by_vector], embedding)
        candidates = {**by_vector, **{p.id: p for p in extra}}
        best = max(keyword.values(), default=0.0) or 1.0
        ranked = sorted(candidates.values(),
                        key=lambda p: p.score + HYBRID_WEIGHT * keyword.get(p.id, 0.0) / best, reverse=True)
    # The floor applies first: a translation under it must not push out a version above it.
    ranked = [p for p in ranked if p.score >= min_score]
    return prefer_language(ranked, language)[:k]


def article_key(passage: Passage) -> str:
    """One key for every language version of a help-center article: the connectors name a translation
    "<account>:article:<id>:<locale>" and the default language "<account>:article:<id>" (Intercom, Freshdesk) or
    with its locale too (Zendesk). Other sources (files, past tickets) are each their own article."""
    suffix = ":" + passage.locale.lower()
    if passage.locale and passage.source_id.lower().endswith(suffix):
        return passage.source_id[:-len(suffix)]
    return passage.source_id or passage.id


def prefer_language(ranked: Sequence[Passage], language: str) -> list[Passage]:
    """ranked (best first) with one language version per article: the one in `language` when the article has it,
    moved up to where the article's best version stood (its chunks keep their order); otherwise the best-ranked
    version. A passage without a locale suits every language. Scores are untouched: they stay cosine similarities.
    """
    from knowledge.store import language_of

    if not language:
        return list(ranked)
    first: dict[str, int] = {}  # article -> position of its best version
    chosen: dict[str, tuple[str, int]] = {}  # article -> (the language version kept, its best position)
    for position, passage in enumerate(ranked):
        key, lang = article_key(passage), language_of(passage.locale)
        first.setdefault(key, position)
        if lang in ("", language) and (key not in chosen or chosen[key][0] not in ("", language)):
            chosen[key] = (lang, position)
        chosen.setdefault(key, (lang, position))
    kept = [(position - chosen[key][1] + first[key], position, passage)
            for position, passage in enumerate(ranked)
            if chosen[(key := article_key(passage))][0] == language_of(passage.locale)]
    return [passage for *_, passage in sorted(kept, key=lambda item: item[:2])]


def _passes(passage: Passage, allowed: dict[str, list[str]]) -> bool:
    values = {"kind": passage.kind, "scope": passage.scope}
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
