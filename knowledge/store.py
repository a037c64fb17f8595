"""The knowledge store: the project's only Chroma client, one collection, one writer per directory."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.config import Settings
from filelock import FileLock, Timeout

from knowledge.chunking import Chunk
from knowledge.embeddings import build_embedding  # also registers our embedding functions with Chroma
from knowledge.retrieve import Passage

LOCK_NAME = ".deskdraft.lock"
_held: dict[str, int] = {}  # lock file -> pid, only to word StoreBusy right


class StoreBusy(RuntimeError):
    """Another process has the embedded Chroma directory open."""


class KnowledgeStore:
    """One Chroma collection of chunks, embedded (path) or on a Chroma server (url)."""

    def __init__(
        self, *, path: str | None, url: str | None, collection: str, embedding: EmbeddingFunction[Documents]
    ) -> None:
        if (path is None) == (url is None):
            raise ValueError("give the store exactly one of path (embedded Chroma) or url (Chroma server)")
        if len(collection) < 3:
            raise ValueError(f"collection name {collection!r} is too short; Chroma needs 3 characters or more")
        self.location = url or str(path)
        self._lock: FileLock | None = None
        self._closed = False
        settings = Settings(anonymized_telemetry=False)
        if url is not None:
            self._client = chromadb.HttpClient(**_server_address(url), settings=settings)
        else:
            self._lock = _lock_directory(Path(path))  # type: ignore[arg-type]
            try:
                self._client = chromadb.PersistentClient(path=str(path), settings=settings)
            except BaseException:
                _unlock(self._lock)
                raise
        try:
            self._collection = self._client.get_or_create_collection(collection, embedding_function=embedding)
            _check_space(self._collection.configuration, collection)
        except ValueError as exc:
            self.close()
            if "conflict" in str(exc):  # chromadb's wording when the persisted EF differs
                raise ValueError(
                    f"collection {collection!r} at {self.location} was built with another embedding than "
                    f"{embedding.name()!r}; use the embedding it was built with, or a new collection name "
                    f"and ingest again ({exc})"
                ) from exc
            raise
        except BaseException:
            self.close()
            raise

    def upsert(self, chunks: Sequence[Chunk], *, folder: str | None = None) -> None:
        """Embed and write chunks (same id replaces); folder tags them for ingest's bookkeeping."""
        if not chunks:
            return
        self._collection.upsert(
            ids=[c.id for c in chunks],
            documents=[c.text for c in chunks],
            metadatas=[_metadata(c, folder) for c in chunks],
        )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id; unknown ids are ignored."""
        if ids:
            self._collection.delete(ids=list(ids))

    def ids_for_source(self, source_id: str) -> list[str]:
        """Ids of every chunk of one source document, sorted."""
        return sorted(self._collection.get(where={"source_id": source_id}, include=[])["ids"])

    def metadata(
        self, *, ids: Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> dict[str, Mapping[str, Any]]:
        """Stored metadata by chunk id, for the given ids and/or where filter (no embedding)."""
        if ids is not None and not ids:
            return {}
        got = self._collection.get(
            ids=list(ids) if ids is not None else None, where=dict(where) if where else None, include=["metadatas"]
        )
        return {i: m or {} for i, m in zip(got["ids"], got["metadatas"] or [])}

    def count(self) -> int:
        """Number of chunks in the collection."""
        return self._collection.count()

    def query(self, text: str, k: int, where: dict | None = None) -> list[Passage]:
        """Nearest k chunks to text, best first, optionally filtered by metadata."""
        if k <= 0:
            return []
        got = self._collection.query(
            query_texts=[text], n_results=k, where=where, include=["documents", "metadatas", "distances"]
        )
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])  # type: ignore[index]
        return [
            Passage(
                id=id_,
                title=str(meta.get("title", "")),
                url=str(meta.get("url", "")),
                kind=str(meta.get("kind", "")),
                text=doc or "",
                score=1.0 - float(distance),
            )
            for id_, doc, meta, distance in rows
        ]

    def close(self) -> None:
        """Close the Chroma client and release the directory lock; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self, "_client"):
                self._client.close()  # type: ignore[attr-defined]
        finally:
            if self._lock is not None:
                _unlock(self._lock)

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_store(
    path: str | None, url: str | None, collection: str, embedding_name: str, threads: int = 0
) -> KnowledgeStore:
    """Open the store: a Chroma server when url is set, else the embedded directory at path."""
    return KnowledgeStore(
        path=None if url else path,
        url=url or None,
        collection=collection,
        embedding=build_embedding(embedding_name, threads),
    )


def _lock_directory(path: Path) -> FileLock:
    # Embedded Chroma is not process-safe: two processes writing one directory can corrupt the
    # HNSW index (chroma-core/chroma#961). So one process at a time, and fail fast, not wait.
    path.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path / LOCK_NAME), thread_local=False)  # worker threads share one store
    try:
        lock.acquire(blocking=False)
    except Timeout:
        if _held.get(lock.lock_file) == os.getpid():
            raise StoreBusy(
                f"the Chroma store at {path} is already open in this process; share that KnowledgeStore "
                "(it is thread-safe) or close it first"
            ) from None
        raise StoreBusy(
            f"the Chroma store at {path} is open in another process (the worker?). Stop it, or run this "
            "through the worker, or use a Chroma server (knowledge.url)"
        ) from None
    _held[lock.lock_file] = os.getpid()  # a pid, so a forked child is not mistaken for us
    return lock


def _unlock(lock: FileLock) -> None:
    _held.pop(lock.lock_file, None)
    lock.release()


def _server_address(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"knowledge.url {url!r} must look like http://host:8000 or https://host")
    ssl = parts.scheme == "https"
    return {"host": parts.hostname, "port": parts.port or (443 if ssl else 8000), "ssl": ssl}


def _check_space(configuration: Mapping[str, Any], collection: str) -> None:
    # Passage.score is 1 - cosine distance; an l2 or ip collection would give meaningless scores.
    index = configuration.get("hnsw") or configuration.get("spann") or {}
    space = index.get("space")
    if space not in (None, "cosine"):
        raise ValueError(f"collection {collection!r} uses distance {space!r}; deskdraft needs cosine")


def _metadata(chunk: Chunk, folder: str | None) -> dict[str, str]:
    meta = {
        "title": chunk.title,
        "url": chunk.url,
        "kind": chunk.kind,
        "locale": chunk.locale,
        "source_id": chunk.source_id,
        "updated_at": chunk.updated_at,
        "content_hash": chunk.content_hash,
    }
    if folder is not None:
        meta["folder"] = folder
    return meta
