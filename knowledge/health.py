"""Is the knowledge store there and filled? For /healthz, the worker's start-up log and the drafts themselves.

A restart with the Chroma folder gone used to go unnoticed: the worker created an empty store, /healthz said ok and
every draft retrieved nothing. Here "missing" and "empty" are failures when config.yaml lists knowledge sources
(with none listed, an empty store may simply not be ingested yet, which is only reported).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from deskdraft.settings import Config, mask_url

CHROMA_FILE = "chroma.sqlite3"


def knowledge_store_health(config: Config, store: Any = None) -> tuple[bool, str]:
    """(ok, reason). `store`: an open KnowledgeStore to count with; without one (the web process, which must not
    open the embedded store the worker holds) the embedded store's own SQLite file is read, read-only."""
    expected = bool(config.knowledge.sources)
    try:
        count = store.count() if store is not None else _count(config)
    except Exception as exc:  # a Chroma server that does not answer is as bad as a missing folder
        return False, f"the knowledge store at {_where(config)} cannot be read: {type(exc).__name__}: {exc}"
    if count is None:
        return (not expected), (f"the knowledge store is missing: no {CHROMA_FILE} at {config.chroma_path}"
                                + ("; run `knowledge sync` (or restore the folder)" if expected else ""))
    if count == 0:
        return (not expected), (f"the knowledge store at {_where(config)} is empty"
                                + ("; knowledge.sources are configured: run `knowledge sync`" if expected else ""))
    return True, f"{count} chunks in the knowledge store at {_where(config)}"


def _where(config: Config) -> str:
    return mask_url(config.knowledge.url) or config.chroma_path  # never a password, even in a log line


def _count(config: Config) -> int | None:
    """Chunks in the collection; None when the embedded store does not exist."""
    k = config.knowledge
    if k.url:
        from knowledge.store import open_store

        store = open_store(None, k.url, k.collection, k.embedding, k.threads)
        try:
            return store.count()
        finally:
            store.close()
    path = Path(config.chroma_path) / CHROMA_FILE
    if not path.is_file():
        return None
    # Chroma's own schema (chromadb 1.5): the rows of the collection's metadata segment.
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM embeddings e JOIN segments s ON e.segment_id = s.id "
                           "JOIN collections c ON s.collection = c.id WHERE c.name = ?", (k.collection,)).fetchone()
    return int(row[0] or 0)
