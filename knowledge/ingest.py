"""Make the store mirror a source's documents now, re-embedding only what changed: folders here, APIs via sync.py.

The core is `SourceUpsert`: one source's chunks (found by a metadata key such as {"folder": path}) are compared
with the documents a listing yields. New chunks and chunks whose text changed are embedded; chunks whose text is
the same but whose metadata changed (url, scope, locale) are relabelled without embedding; the rest cost nothing.
Upserts go out in batches as the listing runs, so an interrupted run keeps its work and a rerun finds it unchanged.
A document's old sections go with the batch that writes its new ones (no two versions side by side); documents
gone from the listing are deleted only in `finish()`, which the caller invokes after a COMPLETE listing: a run cut
short leaves old text, never a hole.
"""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from knowledge.chunking import FORMATS, KINDS, Chunk, Document, DocumentError, chunk_document, read_document
from knowledge.redact import redact
from knowledge.store import KnowledgeStore, chunk_metadata

BATCH = 64  # chunks per upsert: one embedding call, length-sorted inside


@dataclass
class IngestReport:
    files: int = 0  # documents indexed (skipped ones not counted)
    chunks: int = 0  # chunks those documents make now
    added: int = 0
    updated: int = 0  # text or metadata changed (only text changes are embedded again)
    unchanged: int = 0
    deleted: int = 0  # chunks of shrunk, emptied or removed documents
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source id or relative path, reason)
    seconds: float = 0.0
    embedded: int = 0  # chunks sent to the embedding model (added + text changed)
    source: str = ""  # the configured source's name, for summaries
    error: str | None = None  # why the run stopped early; nothing was deleted then

    @property
    def complete(self) -> bool:
        return self.error is None


def document_chunks(doc: Document) -> list[Chunk]:
    """Chunks of a document as stored: past tickets are redacted first, so no personal data is embedded or kept."""
    if doc.kind == "past_ticket":
        doc = redact_document(doc)
    return chunk_document(doc)


def redact_document(doc: Document) -> Document:
    """The document with personal data in its title and text replaced by placeholders; its hash follows."""
    import hashlib

    title, text = redact(doc.title).text, redact(doc.text).text
    digest = hashlib.sha256("\x1f".join((title, doc.url, doc.kind, doc.locale, text)).encode()).hexdigest()
    return dataclasses.replace(doc, title=title, text=text, content_hash=digest)


class SourceUpsert:
    """Brings one source's chunks in the store in line with the documents given to add()/keep(), then finish()."""

    def __init__(self, store: KnowledgeStore, key: Mapping[str, str], report: IngestReport, *,
                 scope: str = "", track_updated_at: bool = True) -> None:
        self.store = store
        self.report = report
        self.tags = {**key, "scope": scope}
        # A file's updated_at is its mtime: touching it is no change. An API's updated_at is its version (sync.py
        # skips fetching a past ticket whose updated_at is stored), so it must be kept current.
        self._ignored = set() if track_updated_at else {"updated_at"}
        self.known: dict[str, dict[str, Mapping[str, Any]]] = {}
        for chunk_id, meta in store.metadata(where=dict(key)).items():
            self.known.setdefault(str(meta.get("source_id")), {})[chunk_id] = meta
        self.seen: set[str] = set()
        self._embed: list[Chunk] = []
        self._relabel: dict[str, dict[str, str]] = {}
        self._stale: list[str] = []

    def versions(self) -> dict[str, str]:
        """source id -> the updated_at stored for it: what a reader may skip as Unchanged."""
        return {source: str(next(iter(chunks.values())).get("updated_at", "")) for source, chunks in self.known.items()}

    def add(self, chunks: list[Chunk]) -> None:
        """One document's chunks (all of them, non-empty); a document listed twice in one run counts once."""
        source_id = chunks[0].source_id
        if source_id in self.seen:  # e.g. a cursor page shifted by a concurrent edit: same ids in one batch would fail
            return
        self.seen.add(source_id)
        self.report.files += 1
        self.report.chunks += len(chunks)
        old = self.known.get(source_id, {})
        for chunk in chunks:
            stored = old.get(chunk.id)
            wanted = chunk_metadata(chunk, self.tags)
            if stored is None:
                self.report.added += 1
                self._embed.append(chunk)
            elif stored.get("text_hash") != wanted["text_hash"]:
                self.report.updated += 1
                self._embed.append(chunk)
            elif self._differs(stored, wanted):
                self.report.updated += 1
                self._relabel[chunk.id] = wanted
            else:
                self.report.unchanged += 1
        self._stale.extend(sorted(old.keys() - {c.id for c in chunks}))  # the document got shorter
        if len(self._embed) >= BATCH or len(self._relabel) >= BATCH * 4:
            self.flush()

    def keep(self, source_id: str) -> bool:
        """A document the reader did not fetch because its stored version is current; False if none is stored."""
        chunks = self.known.get(source_id)
        if not chunks:
            return False
        if source_id in self.seen:
            return True
        self.seen.add(source_id)
        self.report.files += 1
        self.report.chunks += len(chunks)
        for chunk_id, stored in chunks.items():
            wanted = {**stored, **self.tags}  # e.g. the source's scope changed in config
            if self._differs(stored, wanted):
                self.report.updated += 1
                self._relabel[chunk_id] = wanted
            else:
                self.report.unchanged += 1
        return True

    def _differs(self, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
        return any(stored.get(k) != v for k, v in wanted.items() if k not in self._ignored)

    def flush(self) -> None:
        """Write what is pending: embeddings for new and changed text, metadata for the rest, then drop the
        sections those documents no longer have (their new text is in by now)."""
        if self._embed:
            self.store.upsert(self._embed, tags=self.tags)
            self.report.embedded += len(self._embed)
            self._embed = []
        if self._relabel:
            self.store.update_metadata(self._relabel)
            self._relabel = {}
        if self._stale:
            self.store.delete(self._stale)
            self.report.deleted += len(self._stale)
            self._stale = []

    def finish(self) -> None:
        """After a complete listing: flush, then delete the documents the listing no longer has."""
        self.flush()
        gone = [chunk_id for source_id in sorted(self.known.keys() - self.seen)
                for chunk_id in sorted(self.known[source_id])]
        self.store.delete(gone)
        self.report.deleted += len(gone)


def ingest_folder(
    store: KnowledgeStore,
    folder: Path,
    kind: str = "article",
    progress: Callable[[int, int], None] | None = None,
    base_url: str | None = None,
    scope: str = "",
) -> IngestReport:
    """Make the store's chunks from folder match the folder's files now; return what changed."""
    started = time.perf_counter()
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    # Chunks carry the folder they came from, so a file deleted here can be found and removed
    # without touching what other folders (policies/, past tickets/) put in the collection.
    key = str(folder)
    report = IngestReport(source=f"folder:{key}")
    upsert = SourceUpsert(store, {"folder": key}, report, scope=scope, track_updated_at=False)
    paths = sorted(_walk(folder), key=lambda p: p.relative_to(folder).as_posix())  # deterministic
    try:
        for done, path in enumerate(paths, 1):
            source_id = path.relative_to(folder).as_posix()
            chunks = _read(path, source_id, kind, base_url, report)
            if chunks and source_id not in upsert.known:
                chunks = _unless_taken(store, source_id, key, chunks, report)
            if chunks:
                upsert.add(chunks)
            if progress:
                progress(done, len(paths))
    finally:
        upsert.flush()
    # Sources gone from the folder, or no longer readable: the index mirrors what is there now.
    upsert.finish()
    report.seconds = time.perf_counter() - started
    return report


def _walk(folder: Path) -> Iterator[Path]:
    # Hidden files and folders (.git, .DS_Store) are not content.
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (Path(root) / name for name in files if not name.startswith("."))


def _read(path: Path, source_id: str, kind: str, base_url: str | None, report: IngestReport) -> list[Chunk]:
    if path.suffix.lower() not in FORMATS:
        report.skipped.append((source_id, f"unsupported file type {path.suffix or '(no extension)'}"))
        return []
    url = f"{base_url.rstrip('/')}/{quote(source_id)}" if base_url else None
    try:
        chunks = document_chunks(read_document(path, source_id=source_id, kind=kind, url=url))
    except DocumentError as exc:
        report.skipped.append((source_id, str(exc)))
        return []
    except OSError as exc:
        report.skipped.append((source_id, f"cannot read: {exc.strerror or exc}"))
        return []
    if not chunks:
        report.skipped.append((source_id, "no text to index"))
    return chunks


def _unless_taken(
    store: KnowledgeStore, source_id: str, folder: str, chunks: list[Chunk], report: IngestReport
) -> list[Chunk]:
    # Source ids are paths relative to their folder, so policies/faq.md and articles/faq.md would
    # share ids; refuse to overwrite another folder's chunks instead of silently replacing them.
    for meta in store.metadata(where={"source_id": source_id}).values():
        if meta.get("folder") != folder:
            other = meta.get("folder") or meta.get("source") or "another ingest"
            report.skipped.append((source_id, f"same relative path already indexed from {other}"))
            return []
    return chunks
