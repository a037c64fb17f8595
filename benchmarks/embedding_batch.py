"""The MiniLM int8 embedding's batch size on this CPU: chunks/s per batch size, interleaved rounds, same vectors.

    .venv/bin/python benchmarks/embedding_batch.py [--sizes 2,4,8,16] [--rounds 3]

Texts: the paragraphs of this repository's README and ARCHITECTURE (ingest-sized chunks, 20-250 words) and their
first sentences (query-sized). Each size embeds the same texts with threads=0 (one batch per core at a time, as
the worker does); the vectors of every size are compared with those of the first.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from knowledge.embeddings import MiniLMInt8  # noqa: E402


def texts() -> tuple[list[str], list[str]]:
    paragraphs = [p.strip() for name in ("README.md", "ARCHITECTURE.md")
                  for p in (REPO / name).read_text().split("\n\n")]
    chunks = [p for p in paragraphs if 20 <= len(p.split()) <= 250]
    sentences = [re.split(r"(?<=[.!?])\s", c, maxsplit=1)[0] for c in chunks]
    return chunks, sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2,4,8,16")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    models = {size: MiniLMInt8(batch_size=size) for size in sizes}
    for model in models.values():
        model(["warm up"])
    for label, docs in zip(("chunks", "sentences"), texts(), strict=True):
        rates: dict[int, list[float]] = {size: [] for size in sizes}
        vectors: dict[int, np.ndarray] = {}
        for _ in range(args.rounds):
            for size, model in models.items():
                started = time.perf_counter()
                out = model(docs)
                rates[size].append(len(docs) / (time.perf_counter() - started))
                vectors[size] = np.asarray(out)
        base = sizes[0]
        print(f"{label} ({len(docs)} texts, {args.rounds} interleaved rounds, median):")
        for size in sizes:
            diff = float(np.abs(vectors[size] - vectors[base]).max())
            print(f"  batch {size:3}: {statistics.median(rates[size]):7.1f}/s   "
                  f"x{statistics.median(rates[size]) / statistics.median(rates[8 if 8 in sizes else base]):.2f} "
                  f"of batch {8 if 8 in sizes else base}   max |diff| vs batch {base}: {diff:.1e}")


if __name__ == "__main__":
    main()
