"""Okapi BM25 over the store's chunks, in memory, numpy only: the keyword half of hybrid retrieval.

Why not a package: bm25s needs scipy (not in requirements.lock, ~40 MB) for what is, at our sizes, a bincount over
posting lists; rank-bm25 scores every document in Python. Here an index of 100k chunks builds in seconds and a query
costs a few milliseconds (benchmarks/retrieval.py).

Tokens: lower-cased Unicode words, a few stopwords of the languages we meet dropped, and a light suffix strip
(plural/verb endings in English and the common Germanic/Romance ones), so "refunds" finds "refund" and "deleting"
finds "delete". BM25 parameters are the usual k1=1.2, b=0.75 with Lucene's non-negative idf.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

K1, B = 1.2, 0.75
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset("""
a an and are as at be but by can could did do does for from had has have how i if in into is it its me my no not of
on or our so that the their them then there these they this to was we were what when where which who why will with
would you your yourself am been being any all also just than too very should about after before more most other some
such only own same again further once here both each few over under up down out off
der die das und ist nicht ein eine zu den von mit sich des auf für im dem ich wie es wir ihr sie kann
le la les et est un une des du de pour dans que qui pas en au aux je il nous vous ce ne sur
el los las y es un una del que en por para con no se lo como al
de het een en is van op te dat die niet ik je met voor zijn er
och att det som en är på av för med till den har inte jag om ett
""".split())
_SUFFIXES = ("ations", "ation", "ingly", "ings", "ing", "edly", "ies", "ied", "ers", "er", "ed", "es", "s", "ly",
             "ungen", "ung", "en", "e")


def stem(word: str) -> str:
    """Strip one common ending when a stem of at least 4 letters remains (deleting→delet, deletes→delet)."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                word += "y"
            break
    return word


def tokens(text: str) -> list[str]:
    """Search terms of text: lower-cased words, stopwords dropped, lightly stemmed."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) < 40]


class BM25:
    """An immutable BM25 index over documents; `scores(query)` gives one score per document, in input order."""

    def __init__(self, texts: Iterable[str]) -> None:
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        lengths: list[int] = []
        for n, text in enumerate(texts):
            words = tokens(text)
            lengths.append(len(words))
            for word in words:
                row = postings[word]
                row[n] = row.get(n, 0) + 1
        self.size = len(lengths)
        length = np.asarray(lengths, dtype=np.float32)
        average = float(length.mean()) if self.size else 0.0
        norm = K1 * (1 - B + B * length / average) if average else np.ones_like(length)
        self._terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for word, row in postings.items():
            docs = np.fromiter(row.keys(), dtype=np.int32, count=len(row))
            tf = np.fromiter(row.values(), dtype=np.float32, count=len(row))
            idf = math.log(1 + (self.size - len(row) + 0.5) / (len(row) + 0.5))
            # Per-posting BM25 weight, precomputed: a query is then a sum of a few arrays.
            self._terms[word] = (docs, (idf * tf * (K1 + 1) / (tf + norm[docs])).astype(np.float32))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for query (0 where no term matches)."""
        terms = [self._terms[t] for t in dict.fromkeys(tokens(query)) if t in self._terms]
        if not terms or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        docs = np.concatenate([d for d, _ in terms])
        weights = np.concatenate([w for _, w in terms])
        return np.bincount(docs, weights=weights, minlength=self.size).astype(np.float32)

    def top(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The n best (document index, score) with a positive score, best first; allowed is a boolean mask."""
        scores = self.scores(query)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(n, int(np.count_nonzero(scores)))
        if n <= 0:
            return []
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in best]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[str]:
    """Ids ordered by sum of weight / (k + rank) over the rankings (Cormack et al., 2009); ties keep first-seen
    order."""
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused, key=lambda item: -fused[item])


class LexicalIndex:
    """BM25 over a collection snapshot, with the metadata retrieval filters on (kind, lang, scope) as arrays."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str | None], metadatas: Sequence[dict | None]) -> None:
        self.ids = list(ids)
        self.bm25 = BM25(text or "" for text in texts)
        self._fields = {name: np.array([str((m or {}).get(name, "")) for m in metadatas], dtype=object)
                        for name in ("kind", "lang", "scope")}

    def mask(self, filters: dict[str, Sequence[str]]) -> np.ndarray | None:
        """Documents whose field values are among the allowed ones, for every filtered field; None: no filter."""
        if not filters:
            return None
        allowed = np.ones(len(self.ids), dtype=bool)
        for name, values in filters.items():
            allowed &= np.isin(self._fields[name], list(values))
        return allowed

    def top(self, query: str, n: int, filters: dict[str, Sequence[str]]) -> list[tuple[str, float]]:
        """The n best chunk ids with their BM25 scores, among chunks passing filters."""
        return [(self.ids[i], score) for i, score in self.bm25.top(query, n, self.mask(filters))]
