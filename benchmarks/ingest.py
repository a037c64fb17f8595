"""Ingest throughput with the real embedding, and the cost of a 1% re-sync.

Builds help articles from the Bitext customer-support responses (one article per intent and
variant, one `##` section per customer question), ingests them with the given embedding (default the
production one, multilingual-e5-small) into a temp store, then changes 1% of the files and syncs again.
It ends with what a first ingest of 10,000 chunks would take at the measured rate.

Usage: .venv/bin/python benchmarks/ingest.py [--embedding NAME] [--datasets DIR] [--docs N] [--threads T]
(DIR holds bitext-customer-support/; default $DESKDRAFT_DATASETS; see benchmarks/datasets.py)
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tokenizers import Tokenizer

from benchmarks import datasets
from knowledge.chunking import chunk_document, read_document
from knowledge.embeddings import _tokenizer_file
from knowledge.ingest import ingest_folder
from knowledge.store import open_store

SECTIONS = 5  # questions per article


def build_corpus(bitext: Path, folder: Path, docs: int) -> list[Path]:
    """Write `docs` Markdown articles into folder, round-robin over the intents."""
    by_intent: dict[str, list[dict[str, str]]] = defaultdict(list)
    with bitext.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["intent"]].append(row)
    intents = sorted(by_intent)
    paths = []
    for n in range(docs):
        intent = intents[n % len(intents)]
        rows = by_intent[intent]
        start = (n // len(intents)) * SECTIONS
        title = intent.replace("_", " ").capitalize()
        parts = [f"# {title} (guide {n // len(intents) + 1})\n"]
        for i in range(SECTIONS):
            row = rows[(start + i) % len(rows)]
            parts.append(f"## {row['instruction'].strip().rstrip('?')}?\n\n{row['response'].strip()}\n")
        path = folder / rows[0]["category"].lower() / f"{intent}-{n:04d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(parts), encoding="utf-8")
        paths.append(path)
    return paths


def describe_chunks(folder: Path, paths: list[Path]) -> tuple[str, int]:
    """Chunk size in characters and tokens, how many hit the 256-token limit; and total tokens embedded."""
    tokenizer = Tokenizer.from_file(str(_tokenizer_file()))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    texts = [c.text for p in paths for c in chunk_document(read_document(p, source_id=str(p.relative_to(folder))))]
    tokens = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    over = sum(t > 256 for t in tokens)
    embedded = sum(min(t, 256) for t in tokens)
    return (f"chunk size: mean {statistics.mean(len(t) for t in texts):.0f} chars, "
            f"mean {statistics.mean(tokens):.0f} tokens (median {statistics.median(tokens):.0f}); "
            f"{over} of {len(texts)} ({over / len(texts):.1%}) over 256 tokens, truncated for embedding"), embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200, help="articles to generate (default 200)")
    parser.add_argument("--threads", type=int, default=0, help="embedding threads (0 = one per core)")
    parser.add_argument("--embedding", default="multilingual-e5-small", help="knowledge.embedding to measure")
    datasets.add_argument(parser)
    args = parser.parse_args()
    bitext = datasets.require(args.datasets, datasets.BITEXT) / datasets.BITEXT.files[0]

    with tempfile.TemporaryDirectory(prefix="deskdraft-bench-") as tmp:
        folder, store_path = Path(tmp) / "kb", Path(tmp) / "chroma"
        paths = build_corpus(bitext, folder, args.docs)
        print(f"corpus: {len(paths)} Markdown articles from Bitext, {SECTIONS} sections each; "
              f"{os.cpu_count()} CPUs, threads={args.threads}, embedding {args.embedding}, "
              f"load average {os.getloadavg()[0]:.1f}")
        sizes, tokens = describe_chunks(folder, paths)
        print(sizes)

        with open_store(str(store_path), None, "bench-kb", args.embedding, args.threads) as store:
            started = time.perf_counter()
            store.query("warm up", 1)  # loads the model: reported apart from throughput
            load = time.perf_counter() - started

            cpu = time.process_time()
            full = ingest_folder(store, folder)
            cpu = time.process_time() - cpu  # all threads: shows when other processes share the cores
            print(f"model load: {load:.2f} s")
            print(f"full ingest: {full.chunks} chunks in {full.seconds:.1f} s = "
                  f"{full.chunks / full.seconds:.1f} chunks/s, {tokens / full.seconds:.0f} tokens/s "
                  f"({full.files / full.seconds:.1f} files/s; this process kept "
                  f"{cpu / full.seconds:.1f} of {os.cpu_count()} CPUs busy)")
            print(f"a first ingest of 10,000 chunks at this rate: {10_000 / (full.chunks / full.seconds) / 60:.0f} min")

            noop = ingest_folder(store, folder)
            assert noop.added == noop.updated == noop.deleted == 0, noop
            print(f"re-ingest, nothing changed: {noop.seconds:.2f} s "
                  f"({noop.seconds / full.seconds:.1%} of the full ingest)")

            changed = paths[:: 100][: max(1, len(paths) // 100)]
            for path in changed:  # a typical article fix: one sentence added to its last section
                with path.open("a", encoding="utf-8") as f:
                    f.write("\nUpdated this week: returns by post are accepted too.\n")
            resync = ingest_folder(store, folder)
            print(f"re-sync, {len(changed)} of {len(paths)} files changed "
                  f"({resync.updated + resync.added} chunks re-embedded, {resync.deleted} deleted): "
                  f"{resync.seconds:.2f} s = {resync.seconds / full.seconds:.1%} of the full ingest time")


if __name__ == "__main__":
    main()
