"""Re-embedding a collection when knowledge.embedding changes: same ids, texts and metadata, new vectors.

Vectors of two models cannot be compared, so every chunk is embedded again. The new vectors go into a
side collection (<name>-reembedding) while the old one keeps serving; only when every chunk is in does the
old one go and the side one take its name. A run stopped half-way leaves the old collection whole and
starts over; one stopped between the delete and the rename is finished by the next open (finish_interrupted).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.errors import NotFoundError

log = logging.getLogger(__name__)
SUFFIX = "-reembedding"
READ_PAGE = 1000  # rows read from the old collection at a time
WRITE_BATCH = 64  # rows embedded and written at a time: the progress step

Progress = Callable[[int, int], None]  # (chunks done, chunks in all)


def log_progress(embedding_name: str) -> Progress:
    """A progress callback that logs about every 10 seconds, and at the end."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= 10:
            last[0] = now
            log.info("re-embedding the knowledge store with %s: %d/%d chunks", embedding_name, done, total)

    return report


def _exists(client: Any, name: str) -> bool:
    try:
        client.get_collection(name)
    except (NotFoundError, ValueError):
        return False
    return True


def finish_interrupted(client: Any, name: str) -> None:
    """A side collection without its main one: the last run deleted the old one and stopped; rename it now."""
    side = name + SUFFIX
    if not _exists(client, name) and _exists(client, side):
        client.get_collection(side).modify(name=name)
        log.warning("finished an interrupted re-embedding of %s", name)


def reembed(client: Any, name: str, embedding: EmbeddingFunction[Documents], progress: Progress | None = None) -> int:
    """Embed every chunk of collection `name` again with `embedding`; returns the number of chunks."""
    side = name + SUFFIX
    old = client.get_collection(name)
    if _exists(client, side):  # a stopped run's leftovers: its vectors may be partial
        client.delete_collection(side)
    new = client.create_collection(side, embedding_function=embedding,
                                   configuration={"hnsw": {"space": "cosine"}})
    total, done = old.count(), 0
    if progress:
        progress(0, total)
    offset = 0
    while True:
        page = old.get(limit=READ_PAGE, offset=offset, include=["documents", "metadatas"])
        ids = page["ids"]
        if not ids:
            break
        for start in range(0, len(ids), WRITE_BATCH):
            end = start + WRITE_BATCH
            new.upsert(ids=ids[start:end], documents=page["documents"][start:end],
                       metadatas=page["metadatas"][start:end])
            done += len(ids[start:end])
            if progress:
                progress(done, total)
        offset += len(ids)
    client.delete_collection(name)
    new.modify(name=name)
    return done
