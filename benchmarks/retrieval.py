"""Retrieval quality on StackFAQ and query latency at 10k and 100k chunks, through knowledge.retrieve.

Quality: the 125 StackFAQ threads become documents (title = the question, body = its answers), chunked and
embedded with the real minilm-int8 model into a temp Chroma store; the 1,249 user-written paraphrases are the
queries. A query is answered by the documents of its top 20 chunks (first chunk per document). Reported:
recall@1, recall@5 and MRR for vector-only (what ships by default), the hybrid retrieve(hybrid=True) ships (cosine +
0.05 x normalised BM25), BM25 alone, and reciprocal rank fusion of the two (for reference: the usual recipe).

Latency: a store is filled with N chunks whose vectors are random unit vectors (embedding 100k texts with MiniLM
would take over an hour on 2 cores) and whose texts are random words; retrieve() is then timed with real MiniLM
query embeddings, the embedding timed apart. The BM25 index build (once per store change) is reported apart.

Runs in about 6 minutes on 2 cores: ~1.5 min for StackFAQ (embedding), ~4 min filling the 100k-chunk store.
Usage: .venv/bin/python benchmarks/retrieval.py [--datasets DIR] [--sizes 10000 100000] [--queries 200] [--threads T]
       .venv/bin/python benchmarks/retrieval.py --cross-lingual [--embedding NAME]  (R@1/R@5 per language, ~1 min)
(DIR holds stackfaq/; default $DESKDRAFT_DATASETS; see benchmarks/datasets.py)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import datasets
from knowledge.chunking import chunk_document, text_document
from knowledge.lexical import reciprocal_rank_fusion
from knowledge.retrieve import retrieve
from knowledge.store import open_store

DEPTH = 20  # chunks retrieved per query; documents are ranked by their best chunk


def load_stackfaq(stackfaq: Path):
    threads = json.loads(stackfaq.read_text(encoding="utf-8"))["root"]["qapair"]
    docs, queries = [], []
    for n, thread in enumerate(threads):
        answers = thread["answer"] if isinstance(thread["answer"], list) else [thread["answer"]]
        body = "\n\n".join(a.strip() for a in answers if a and a.strip())
        docs.append(text_document(source_id=f"faq{n}", title=thread["question"].strip(), url="", kind="article",
                                  locale="en", updated_at="", text=body))
        rephrasings = thread["rephr"] if isinstance(thread["rephr"], list) else [thread["rephr"]]
        queries += [(q.strip(), f"faq{n}") for q in rephrasings if q and q.strip() and q.strip() != "*"]
    return docs, queries


def documents_of(ids_or_sources):
    seen = []
    for source in ids_or_sources:
        if source not in seen:
            seen.append(source)
    return seen


def score(rankings, queries):
    r1 = r5 = rr = 0.0
    for ranking, (_, gold) in zip(rankings, queries, strict=True):
        r1 += gold in ranking[:1]
        r5 += gold in ranking[:5]
        rr += 1 / (ranking.index(gold) + 1) if gold in ranking else 0
    n = len(queries)
    return r1 / n, r5 / n, rr / n


def quality(stackfaq: Path, tmp: Path, threads: int) -> None:
    docs, queries = load_stackfaq(stackfaq)
    chunks = [c for d in docs for c in chunk_document(d)]
    with open_store(str(tmp / "faq"), None, "bench-faq", "minilm-int8", threads) as store:
        started = time.perf_counter()
        for start in range(0, len(chunks), 64):
            store.upsert(chunks[start:start + 64])
        embed_docs = time.perf_counter() - started
        started = time.perf_counter()
        vectors = store._embedding([q for q, _ in queries])  # one batched call; retrieve() then looks them up
        embed_queries = time.perf_counter() - started
        cache = {q: [float(x) for x in v] for (q, _), v in zip(queries, vectors, strict=True)}
        store.embed_query = cache.__getitem__  # type: ignore[method-assign]
        print(f"StackFAQ: {len(docs)} documents -> {len(chunks)} chunks (embedded in {embed_docs:.0f} s), "
              f"{len(queries)} paraphrase queries (embedded in {embed_queries:.0f} s); ranking by the best of "
              f"the top {DEPTH} chunks")

        source_of = {c.id: c.source_id for c in chunks}
        vector = [documents_of(p.source_id for p in retrieve(store, q, DEPTH, -1.0)) for q, _ in queries]
        hybrid = [documents_of(p.source_id for p in retrieve(store, q, DEPTH, -1.0, hybrid=True)) for q, _ in queries]
        index = store.lexical()
        bm25 = [documents_of(source_of[i] for i, _ in index.top(q, DEPTH, {})) for q, _ in queries]
        rrf = []
        for q, _ in queries:
            by_vector = [p.id for p in store.query(q, DEPTH, None, embedding=cache[q])]
            fused = reciprocal_rank_fusion([by_vector, [i for i, _ in index.top(q, DEPTH, {})]])
            rrf.append(documents_of(source_of[i] for i in fused))
        print(f"{'method':44} recall@1 recall@5    MRR")
        for name, rankings in (("vector only (default)", vector),
                               ("hybrid: cosine + 0.05 x BM25 (hybrid=True)", hybrid), ("BM25 alone (reference)", bm25),
                               ("reciprocal rank fusion, k=60 (reference)", rrf)):
            r1, r5, mrr = score(rankings, queries)
            print(f"{name:44} {r1:8.3f} {r5:8.3f} {mrr:6.3f}")


WORDS = [
    "order", "refund", "parcel", "delivery", "invoice", "account", "password", "card", "payment", "return",
    "label", "shipping", "address", "subscription", "cancel", "upgrade", "discount", "coupon", "warranty",
    "repair", "battery", "screen", "charger", "login", "email", "phone", "tracking", "courier", "delay",
    "damaged", "missing", "exchange", "size", "colour", "store", "pickup", "voucher", "gift", "balance", "fee",
]


def latency(tmp: Path, size: int, n_queries: int, threads: int) -> None:
    rng = np.random.default_rng(size)
    _, queries = load_stackfaq()
    sample = [q for q, _ in queries[:: max(1, len(queries) // n_queries)]][:n_queries]
    with open_store(str(tmp / f"lat{size}"), None, f"bench-lat-{size}", "minilm-int8", threads) as store:
        started = time.perf_counter()
        kinds, langs = np.array(["article", "policy", "past_ticket"]), np.array(["", "en", "de", "fr"])
        for start in range(0, size, 5000):
            n = min(5000, size - start)
            vectors = rng.standard_normal((n, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            texts = [" ".join(rng.choice(WORDS, 30)) for _ in range(n)]
            store._collection.add(
                ids=[f"c{start + i}" for i in range(n)], embeddings=vectors, documents=texts,
                metadatas=[{"kind": str(kinds[i % 3]), "lang": str(langs[i % 4]), "scope": "",
                            "source_id": f"s{(start + i) // 4}", "title": "t", "url": "", "locale": ""}
                           for i in range(n)])
        store._generation += 1
        fill = time.perf_counter() - started

        embed_ms, cache = [], {}
        for q in sample:
            t = time.perf_counter()
            cache[q] = store.embed_query(q)
            embed_ms.append((time.perf_counter() - t) * 1000)
        real_embed = store.embed_query
        store.embed_query = cache.__getitem__  # type: ignore[method-assign]
        t = time.perf_counter()
        store.lexical()
        bm25_build = time.perf_counter() - t

        def timed(**kwargs):
            out = []
            for q in sample:
                t = time.perf_counter()
                retrieve(store, q, 5, -1.0, **kwargs)
                out.append((time.perf_counter() - t) * 1000)
            return out

        runs = {"vector": timed(), "vector, filtered (kind, locale, scope)": timed(
            kinds=["article", "policy"], locale="en", scope=""), "hybrid": timed(hybrid=True)}
        store.embed_query = real_embed  # type: ignore[method-assign]
        print(f"{size:,} chunks (filled in {fill:.0f} s; BM25 index built in {bm25_build:.1f} s, once per change):")
        print(f"  query embedding (MiniLM int8, one query): p50 {pct(embed_ms, 50):.1f} ms, "
              f"p99 {pct(embed_ms, 99):.1f} ms")
        for name, ms in runs.items():
            print(f"  search, {name:38} p50 {pct(ms, 50):6.1f} ms, p99 {pct(ms, 99):6.1f} ms "
                  f"({len(ms)} queries, embedding excluded)")


def pct(values, p):
    return float(np.percentile(values, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = default)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--cross-lingual", action="store_true",
                        help="only the cross-lingual table (benchmarks/crosslingual.py; needs no dataset folder)")
    parser.add_argument("--embedding", default="multilingual-e5-small", help="for --cross-lingual")
    datasets.add_argument(parser)
    args = parser.parse_args()
    if args.cross_lingual:
        from benchmarks.crosslingual import report

        report(args.embedding, threads=args.threads)
        return
    if not args.skip_quality:  # the latency half needs no dataset
        stackfaq = datasets.require(args.datasets, datasets.STACKFAQ) / datasets.STACKFAQ.files[0]
    started = time.perf_counter()
    print(f"{os.cpu_count()} CPUs, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(prefix="deskdraft-bench-") as tmp:
        if not args.skip_quality:
            quality(stackfaq, Path(tmp), args.threads)
        for size in args.sizes:
            latency(Path(tmp), size, args.queries, args.threads)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
