"""Cross-lingual retrieval on benchmarks/data/crosslingual_faq.json, through knowledge.retrieve with a locale.

The 125 StackFAQ threads are English help-center articles (source ids as the Zendesk reader names them,
"faq:article:<n>:en-us"); 40 user questions are asked in English and in our translations into de, es, fr, sv, nl,
it and pt, each with its language as the locale, as the pipeline asks. A question is answered when its thread is
among the articles of the top passages (R@1, R@5). "before" is the same search with the locale as a filter, as
retrieval did before it searched across languages: with an English-only help center a German question found
nothing at all.

Then the German versions of ten articles are added ("faq:article:<n>:de"): for the German questions about those ten,
"German first" is the share whose first passage is the German version, and R@1/R@5 are counted on the article.

Usage: .venv/bin/python benchmarks/crosslingual.py [--embedding NAME] [--languages de sv ...]
(a few minutes with multilingual-e5-small on 2 cores, most of it embedding the articles twice; also run by
benchmarks/retrieval.py --cross-lingual)
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.chunking import chunk_document, text_document
from knowledge.retrieve import Passage, article_key, retrieve
from knowledge.store import KnowledgeStore, language_of, open_store

DATA = Path(__file__).with_name("data") / "crosslingual_faq.json"
DEPTH = 20  # passages read per question; articles are ranked by their best passage
PREFIX = "faq:article:"


def load(path: Path = DATA) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def documents(data: dict[str, Any], german: bool = False) -> list[Any]:
    """The help center: every English article, plus the German versions when german=True."""
    docs = [text_document(source_id=f"{PREFIX}{a['id']}:en-us", title=a["title"], url=f"https://faq.test/{a['id']}",
                          kind="article", locale="en-us", updated_at="", text=a["body"]) for a in data["articles"]]
    if german:
        docs += [text_document(source_id=f"{PREFIX}{a['id']}:de", title=a["title"], url=f"https://faq.test/de/{a['id']}",
                               kind="article", locale="de", updated_at="", text=a["body"])
                 for a in data["german_articles"]]
    return docs


def fill(store: KnowledgeStore, docs: Sequence[Any]) -> float:
    """Chunk, embed and write docs; returns the seconds it took."""
    chunks = [c for d in docs for c in chunk_document(d)]
    started = time.perf_counter()
    for start in range(0, len(chunks), 64):
        store.upsert(chunks[start:start + 64])
    return time.perf_counter() - started


def articles(passages: Sequence[Passage]) -> list[str]:
    """Article numbers in rank order, one per article whatever its language version."""
    return list(dict.fromkeys(article_key(p).removeprefix(PREFIX) for p in passages))


def recall(store: KnowledgeStore, data: dict[str, Any], language: str) -> tuple[float, float, float, float]:
    """(R@1, R@5) of the questions in `language`, asked with that locale, then (R@1, R@5) as retrieval did before
    it searched across languages: only passages in the customer's language or in none."""
    hits = [0, 0, 0, 0]
    for query in data["queries"]:
        passages = retrieve(store, query[language], k=DEPTH, min_score=-1.0, locale=language)
        before = [p for p in passages if language_of(p.locale) in ("", language)]
        gold = str(query["article"])
        for n, ranked in enumerate((articles(passages), articles(before))):
            hits[2 * n] += gold in ranked[:1]
            hits[2 * n + 1] += gold in ranked[:5]
    r1, r5, b1, b5 = (h / len(data["queries"]) for h in hits)
    return r1, r5, b1, b5


def german_first(store: KnowledgeStore, data: dict[str, Any]) -> tuple[int, int, float, float]:
    """(questions whose article has a German version, how many got that version first, R@1, R@5)."""
    translated = {a["id"] for a in data["german_articles"]}
    asked = [q for q in data["queries"] if q["article"] in translated]
    first = r1 = r5 = 0
    for query in asked:
        passages = retrieve(store, query["de"], k=DEPTH, min_score=-1.0, locale="de")
        first += bool(passages) and passages[0].source_id == f"{PREFIX}{query['article']}:de"
        ranked = articles(passages)
        r1 += str(query["article"]) in ranked[:1]
        r5 += str(query["article"]) in ranked[:5]
    return len(asked), first, r1 / len(asked), r5 / len(asked)


def report(embedding: str, languages: Sequence[str] | None = None, threads: int = 0) -> None:
    """Print the per-language table and the German-first figure."""
    data = load()
    languages = languages or data["languages"]
    with tempfile.TemporaryDirectory(prefix="deskdraft-xlingual-") as tmp:
        with open_store(str(Path(tmp) / "en"), None, "xlingual-en", embedding, threads) as store:
            seconds = fill(store, documents(data))
            print(f"Cross-lingual retrieval, {embedding}: {len(data['articles'])} English articles "
                  f"({store.count()} chunks embedded in {seconds:.0f} s), {len(data['queries'])} questions per "
                  f"language, top {DEPTH} passages")
            print(f"{'language':9} {'R@1':>6} {'R@5':>6}   before (locale as a filter): R@1   R@5", flush=True)
            for language in languages:
                started = time.perf_counter()
                r1, r5, b1, b5 = recall(store, data, language)
                ms = (time.perf_counter() - started) * 1000 / len(data["queries"])
                print(f"{language:9} {r1:6.3f} {r5:6.3f}   {'':28}{b1:5.3f} {b5:5.3f}   ({ms:.0f} ms/question)",
                      flush=True)
        with open_store(str(Path(tmp) / "de"), None, "xlingual-de", embedding, threads) as store:
            fill(store, documents(data, german=True))
            asked, first, r1, r5 = german_first(store, data)
            print(f"With German versions of {len(data['german_articles'])} articles: {first}/{asked} German "
                  f"questions about them get the German version first; article R@1 {r1:.3f}, R@5 {r5:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedding", default="multilingual-e5-small")
    parser.add_argument("--languages", nargs="*", default=None)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    report(args.embedding, args.languages, args.threads)


if __name__ == "__main__":
    main()
