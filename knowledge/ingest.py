"""Sync a folder of knowledge files into the store, re-embedding only what changed."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from knowledge.chunking import FORMATS, KINDS, Chunk, DocumentError, chunk_document, read_document
from knowledge.store import KnowledgeStore

BATCH = 64  # chunks per upsert: one embedding call, length-sorted inside


@dataclass
class IngestReport:
    files: int = 0  # documents indexed (skipped files not counted)
    chunks: int = 0  # chunks those documents make now
    added: int = 0
    updated: int = 0  # re-embedded because their text or metadata changed
    unchanged: int = 0
    deleted: int = 0  # chunks of shrunk, emptied or removed documents
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    seconds: float = 0.0


def ingest_folder(
    store: KnowledgeStore,
    folder: Path,
    kind: str = "article",
    progress: Callable[[int, int], None] | None = None,
    base_url: str | None = None,
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
    known: dict[str, dict[str, str]] = {}
    for chunk_id, meta in store.metadata(where={"folder": key}).items():
        known.setdefault(str(meta.get("source_id")), {})[chunk_id] = str(meta.get("content_hash"))

    report = IngestReport()
    pending: list[Chunk] = []
    stale: list[str] = []
    indexed: set[str] = set()
    paths = sorted(_walk(folder), key=lambda p: p.relative_to(folder).as_posix())  # deterministic
    for done, path in enumerate(paths, 1):
        source_id = path.relative_to(folder).as_posix()
        chunks = _read(path, source_id, kind, base_url, report)
        if chunks and source_id not in known:
            chunks = _unless_taken(store, source_id, key, chunks, report)
        if chunks:
            indexed.add(source_id)
            report.files += 1
            report.chunks += len(chunks)
            old = known.get(source_id, {})
            for chunk in chunks:
                if chunk.id not in old:
                    report.added += 1
                    pending.append(chunk)
                elif old[chunk.id] != chunk.content_hash:
                    report.updated += 1
                    pending.append(chunk)
                else:
                    report.unchanged += 1
            stale.extend(sorted(old.keys() - {c.id for c in chunks}))  # the document got shorter
        if len(pending) >= BATCH:
            store.upsert(pending, folder=key)
            pending = []
        if progress:
            progress(done, len(paths))
    store.upsert(pending, folder=key)
    # Sources gone from the folder, or no longer readable: the index mirrors what is there now.
    # Deleting after the upserts means a crash mid-run leaves old text, never a hole.
    for source_id in sorted(known.keys() - indexed):
        stale.extend(sorted(known[source_id]))
    store.delete(stale)
    report.deleted = len(stale)
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
        chunks = chunk_document(read_document(path, source_id=source_id, kind=kind, url=url))
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
            other = meta.get("folder") or "another ingest"
            report.skipped.append((source_id, f"same relative path already indexed from {other}"))
            return []
    return chunks
