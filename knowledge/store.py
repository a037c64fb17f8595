"""The knowledge store: the project's only Chroma client, one collection, one writer per directory."""
from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import chromadb
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.config import Settings
from filelock import FileLock, Timeout

from deskdraft import metrics
from knowledge.chunking import Chunk
from knowledge.embeddings import build_embedding  # also registers our embedding functions with Chroma
from knowledge.reembed import Progress, finish_interrupted, log_progress
from knowledge.reembed import reembed as reembed_collection
from knowledge.retrieve import Passage

LOCK_NAME = ".deskdraft.lock"
# A Chroma server can be written by another process (a sync run elsewhere): the keyword index is then rebuilt when
# the chunk count changes, and at least this often. In embedded mode every write goes through this object.
LEXICAL_MAX_AGE_SECONDS = 300.0
READ_PAGE = 5000  # rows per get() when reading a whole source or collection
_held: dict[str, int] = {}  # lock file -> pid, only to word StoreBusy right


class StoreBusy(RuntimeError):
    """Another process has the embedded Chroma directory open."""


class KnowledgeStore:
    """One Chroma collection of chunks, embedded (path) or on a Chroma server (url)."""

    def __init__(
        self, *, path: str | None, url: str | None, collection: str, embedding: EmbeddingFunction[Documents],
        reembed: Progress | None = None,
    ) -> None:
        """reembed: a collection built with another embedding is embedded again with this one, reporting progress
        here (knowledge/reembed.py); None refuses to open it."""
        if (path is None) == (url is None):
            raise ValueError("give the store exactly one of path (embedded Chroma) or url (Chroma server)")
        if len(collection) < 3:
            raise ValueError(f"collection name {collection!r} is too short; Chroma needs 3 characters or more")
        self.location = url or str(path)
        self.shared = url is not None  # other processes may write the collection
        self._embedding = embedding
        self._scale = getattr(embedding, "score_scale", (1.0, 0.0))  # see MultilingualE5.score_scale
        self._generation = 0  # bumped by every write through this object
        self._lexical: tuple[Any, ...] | None = None  # (generation, count, built_at, LexicalIndex)
        self._lexical_lock = threading.Lock()
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
            finish_interrupted(self._client, collection)
            for attempt in (1, 2):
                try:
                    # chromadb types the function over documents or images (an invariant generic); ours embeds text.
                    self._collection = self._client.get_or_create_collection(
                        collection, embedding_function=embedding)  # type: ignore[arg-type]
                    break
                except ValueError as exc:
                    if reembed is None or "conflict" not in str(exc) or attempt == 2:
                        raise
                    reembed_collection(self._client, collection, embedding, reembed)
            _check_space(self._collection.configuration, collection)
        except ValueError as exc:
            self.close()
            if "conflict" in str(exc):  # chromadb's wording when the persisted EF differs
                raise ValueError(
                    f"collection {collection!r} at {self.location} was built with another embedding than "
                    f"{embedding.name()!r}; use the embedding it was built with, or open it with open_store, which "
                    f"embeds it again ({exc})"
                ) from exc
            raise
        except BaseException:
            self.close()
            raise

    def upsert(self, chunks: Sequence[Chunk], *, folder: str | None = None,
               tags: Mapping[str, str] | None = None) -> None:
        """Embed and write chunks (same id replaces); folder/tags are extra metadata for the sync's bookkeeping."""
        if not chunks:
            return
        tags = {**({"folder": folder} if folder is not None else {}), **(tags or {})}
        self._collection.upsert(
            ids=[c.id for c in chunks],
            documents=[c.text for c in chunks],
            metadatas=[chunk_metadata(c, tags) for c in chunks],
        )
        self._generation += 1

    def _score(self, cosine: float) -> float:
        slope, offset = self._scale
        return max(-1.0, min(1.0, slope * cosine + offset))

    def update_metadata(self, metadatas: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the metadata of existing chunks by id, without embedding anything again."""
        if metadatas:
            self._collection.update(ids=list(metadatas), metadatas=[dict(m) for m in metadatas.values()])
            self._generation += 1

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id; unknown ids are ignored."""
        if ids:
            self._collection.delete(ids=list(ids))
            self._generation += 1

    def ids_for_source(self, source_id: str) -> list[str]:
        """Ids of every chunk of one source document, sorted."""
        return sorted(self._collection.get(where={"source_id": source_id}, include=[])["ids"])

    def metadata(
        self, *, ids: Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> dict[str, Mapping[str, Any]]:
        """Stored metadata by chunk id, for the given ids and/or where filter (no embedding)."""
        if ids is not None and not ids:
            return {}
        if ids is not None:
            got = self._collection.get(ids=list(ids), where=dict(where) if where else None, include=["metadatas"])
            return {i: m or {} for i, m in zip(got["ids"], got["metadatas"] or [], strict=False)}
        return {i: m or {} for i, _, m in self._all(where, ["metadatas"])}

    def _all(self, where: Mapping[str, Any] | None, include: list[str]) -> list[tuple[str, Any, Any]]:
        # Paged: one get() of 100k rows fails in Chroma's SQLite ("too many SQL variables").
        rows: list[tuple[str, Any, Any]] = []
        while True:
            got = self._collection.get(where=dict(where) if where else None, include=include,  # type: ignore[arg-type]
                                       limit=READ_PAGE, offset=len(rows))
            documents: Sequence[Any] = got.get("documents") or [None] * len(got["ids"])
            metadatas: Sequence[Any] = got.get("metadatas") or [None] * len(got["ids"])
            rows += list(zip(got["ids"], documents, metadatas, strict=True))
            if len(got["ids"]) < READ_PAGE:
                return rows

    def count(self) -> int:
        """Number of chunks in the collection."""
        return self._collection.count()

    def embed_query(self, text: str) -> list[float]:
        """The query's embedding, with the collection's own embedding function."""
        return [float(x) for x in self._embedding.embed_query([text])[0]]

    def query(self, text: str, k: int, where: dict | None = None, *,
              embedding: Sequence[float] | None = None) -> list[Passage]:
        """Nearest k chunks to text (or to a precomputed query embedding), best first, optionally filtered."""
        if k <= 0:
            return []
        vector: Sequence[float] = list(embedding) if embedding is not None else self.embed_query(text)
        metrics.KNOWLEDGE_CALLS.labels("query").inc()
        got = self._collection.query(
            query_embeddings=[vector], n_results=k, where=where, include=["documents", "metadatas", "distances"]
        )
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)  # type: ignore[index]
        return [_passage(id_, doc, meta, self._score(1.0 - float(distance))) for id_, doc, meta, distance in rows]

    def passages(self, ids: Sequence[str], embedding: Sequence[float]) -> list[Passage]:
        """The given chunks as passages scored by cosine similarity to a query embedding, in the order given."""
        if not ids:
            return []
        metrics.KNOWLEDGE_CALLS.labels("get").inc()
        got = self._collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        query = np.asarray(embedding, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        found = {}
        for id_, doc, meta, vector in zip(got["ids"], got["documents"] or [], got["metadatas"] or [],
                                          got["embeddings"] if got["embeddings"] is not None else [], strict=False):
            vector = np.asarray(vector, dtype=np.float32)
            score = float(vector @ query / max(float(np.linalg.norm(vector)), 1e-12))
            found[id_] = _passage(id_, doc, meta, self._score(score))
        return [found[i] for i in ids if i in found]

    def lexical(self) -> Any:
        """The keyword (BM25) index over every chunk, rebuilt after writes; shared by threads, built once."""
        from knowledge.lexical import LexicalIndex

        with self._lexical_lock:
            cached = self._lexical
            if cached is not None and cached[0] == self._generation:
                if not self.shared:
                    return cached[3]
                if time.monotonic() - cached[2] < LEXICAL_MAX_AGE_SECONDS and self.count() == cached[1]:
                    return cached[3]
            generation, count = self._generation, self.count()
            rows = self._all(None, ["documents", "metadatas"])
            index = LexicalIndex([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
            self._lexical = (generation, count, time.monotonic(), index)
            return index

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
    path: str | None, url: str | None, collection: str, embedding_name: str, threads: int = 0,
    progress: Progress | None = None,
) -> KnowledgeStore:
    """Open the store: a Chroma server when url is set, else the embedded directory at path.

    A store built with another embedding (knowledge.embedding was changed) is re-embedded first, reporting to
    progress (default: a log line every 10 seconds)."""
    return KnowledgeStore(
        path=None if url else path,
        url=url or None,
        collection=collection,
        embedding=build_embedding(embedding_name, threads),
        reembed=progress or log_progress(embedding_name),
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
    from deskdraft.settings import mask_url

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"knowledge.url {mask_url(url)!r} must look like http://host:8000 or https://host")
    ssl = parts.scheme == "https"
    address: dict[str, Any] = {"host": parts.hostname, "port": parts.port or (443 if ssl else 8000), "ssl": ssl}
    if parts.username or parts.password:  # user:password@ in the URL: Chroma's basic auth, sent as a header
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
        address["headers"] = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return address


def _check_space(configuration: Mapping[str, Any], collection: str) -> None:
    # Passage.score is 1 - cosine distance; an l2 or ip collection would give meaningless scores.
    index = configuration.get("hnsw") or configuration.get("spann") or {}
    space = index.get("space")
    if space not in (None, "cosine"):
        raise ValueError(f"collection {collection!r} uses distance {space!r}; deskdraft needs cosine")


def chunk_metadata(chunk: Chunk, tags: Mapping[str, str] | None = None) -> dict[str, str]:
    """What is stored beside a chunk; the sync compares it with what is there to decide what to write."""
    return {
        "title": chunk.title,
        "url": chunk.url,
        "kind": chunk.kind,
        "locale": chunk.locale,
        "lang": language_of(chunk.locale),
        "source_id": chunk.source_id,
        "updated_at": chunk.updated_at,
        "content_hash": chunk.content_hash,
        "text_hash": hashlib.sha256(chunk.text.encode()).hexdigest()[:32],  # same text: no need to embed again
        **(tags or {}),
    }


def language_of(locale: str) -> str:
    """The language subtag retrieval filters on: "en-GB" and "en_us" are "en"; "" stays "" (any language)."""
    return locale.replace("_", "-").split("-")[0].lower()


def _passage(id_: str, doc: str | None, meta: Mapping[str, Any] | None, score: float) -> Passage:
    meta = meta or {}
    return Passage(id=id_, title=str(meta.get("title", "")), url=str(meta.get("url", "")),
                   kind=str(meta.get("kind", "")), text=doc or "", score=score,
                   locale=str(meta.get("locale", "")), source_id=str(meta.get("source_id", "")),
                   scope=str(meta.get("scope", "")))
