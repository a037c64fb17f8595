"""Sync the configured knowledge sources (folders, help centers, past tickets) into the store.

`sync_source` runs one source, `sync_all` every configured one (the CLI's `knowledge sync` and the scheduled task).
Helpdesk sources go through the account's connector and a vendor reader in connectors/*_knowledge.py, which yields
vendor-neutral Documents (or Unchanged / Skipped); the incremental core is ingest.SourceUpsert:
- unchanged documents cost no embedding, and past tickets whose updated_at is stored are not even fetched;
- deletion (an article unpublished or deleted, a ticket out of the window) happens only after a complete listing;
  a failed listing keeps everything written so far and deletes nothing, so a rerun finishes the job;
- past tickets are redacted (knowledge.redact) before they are chunked, embedded or stored, and are always
  kind "past_ticket" so retrieval can tell them from articles and policies.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from connectors import freshdesk_knowledge, intercom_knowledge, zendesk_knowledge
from connectors.http import HelpdeskError
from deskdraft.settings import KnowledgeSource
from knowledge.chunking import Document, DocumentError, Skipped, Unchanged
from knowledge.ingest import IngestReport, SourceUpsert, document_chunks, ingest_folder
from knowledge.store import KnowledgeStore

log = logging.getLogger(__name__)

# connector type -> module with articles(connector, locales) and past_tickets(connector, since, max_items, known)
READERS: dict[str, ModuleType] = {
    "zendesk": zendesk_knowledge,
    "intercom": intercom_knowledge,
    "freshdesk": freshdesk_knowledge,
}
Progress = Callable[[int, "int | None"], None]  # (items done, total or None while the listing runs)

_running: dict[tuple[str, str], threading.Lock] = {}
_running_guard = threading.Lock()


def source_key(source: KnowledgeSource) -> dict[str, str]:
    """The metadata that marks a helpdesk source's chunks (folders use {"folder": resolved path})."""
    return {"source": source.name}


def sync_source(store: KnowledgeStore, source: KnowledgeSource, connectors: Mapping[str, Any],
                progress: Progress | None = None, *, full: bool = False,
                now: datetime | None = None) -> IngestReport:
    """Make the store mirror one source; `full` re-fetches past tickets even when their version is stored."""
    lock = _lock_for(store, source)
    if not lock.acquire(blocking=False):
        return IngestReport(source=source.name, error="a sync of this source is already running")
    try:
        if source.type == "folder":
            report = ingest_folder(store, Path(source.path or "."), kind=source.kind, progress=progress,
                                   base_url=source.base_url, scope=source.scope or "")
            report.source = source.name
            return report
        return _sync_helpdesk(store, source, connectors, progress, full, now or datetime.now(UTC))
    finally:
        lock.release()


def sync_all(store: KnowledgeStore, sources: Sequence[KnowledgeSource], connectors: Mapping[str, Any],
             progress: Callable[[KnowledgeSource], Progress | None] | None = None, *,
             full: bool = False) -> list[IngestReport]:
    """Sync every source in turn; one that fails is reported with its error and the others still run."""
    reports = []
    for source in sources:
        try:
            report = sync_source(store, source, connectors, progress(source) if progress else None, full=full)
        except (OSError, ValueError, KeyError) as exc:  # a missing folder, an unknown account or kind
            log.exception("knowledge sync of %s failed", source.name)
            report = IngestReport(source=source.name, error=f"{type(exc).__name__}: {exc}")
        if report.error:
            log.warning("knowledge sync of %s stopped early: %s", source.name, report.error)
        reports.append(report)
    return reports


def summary(report: IngestReport) -> str:
    """One line per source: what changed and how long it took."""
    line = (f"{report.source}: {report.files} documents, {report.chunks} chunks: {report.added} added, "
            f"{report.updated} updated, {report.deleted} deleted, {len(report.skipped)} skipped, "
            f"{report.unchanged} unchanged ({report.embedded} embedded) in {report.seconds:.1f}s")
    return line + (f"; STOPPED EARLY, nothing deleted: {report.error}" if report.error else "")


def _sync_helpdesk(store: KnowledgeStore, source: KnowledgeSource, connectors: Mapping[str, Any],
                   progress: Progress | None, full: bool, now: datetime) -> IngestReport:
    started = time.perf_counter()
    connector = connectors.get(source.account or "")
    if connector is None:
        raise KeyError(f"knowledge source {source.name}: no helpdesk account {source.account!r}")
    reader = READERS[connector.type]
    report = IngestReport(source=source.name)
    upsert = SourceUpsert(store, source_key(source), report, scope=source.scope or "")
    items: Iterable[Document | Unchanged | Skipped]
    if source.type == "helpcenter":
        items = reader.articles(connector, source.locales)
    elif source.type == "past_tickets":
        since = now - timedelta(days=source.since_days)
        items = reader.past_tickets(connector, since=since, max_items=source.max_items,
                                    known={} if full else upsert.versions())
    else:
        raise ValueError(f"knowledge source type {source.type!r} is not one we can sync")
    # Past tickets are kind past_ticket whatever the config says: retrieval and the drafting checks rely on it.
    kind = "past_ticket" if source.type == "past_tickets" else source.kind
    try:
        for done, item in enumerate(items, 1):
            if isinstance(item, Unchanged):
                if not upsert.keep(item.source_id):
                    report.skipped.append((item.source_id, "reported unchanged but not in the store"))
            elif isinstance(item, Skipped):
                report.skipped.append((item.source_id, item.reason))
            else:
                _add(upsert, item, kind, report)
            if progress:
                progress(done, None)
    except HelpdeskError as exc:
        report.error = str(exc)
    finally:
        upsert.flush()  # whatever was read is kept, even when the listing broke off
        report.seconds = time.perf_counter() - started
    if report.complete:
        upsert.finish()
        report.seconds = time.perf_counter() - started
    return report


def _add(upsert: SourceUpsert, doc: Document, kind: str, report: IngestReport) -> None:
    if doc.kind == "past_ticket" or kind == "past_ticket":
        kind = "past_ticket"  # redacted by document_chunks
    try:
        chunks = document_chunks(dataclasses.replace(doc, kind=kind))
    except DocumentError as exc:
        report.skipped.append((doc.source_id, str(exc)))
        return
    if not chunks:
        report.skipped.append((doc.source_id, "no text to index"))
        return
    upsert.add(chunks)


def _lock_for(store: KnowledgeStore, source: KnowledgeSource) -> threading.Lock:
    # Two syncs of one source at once (the beat schedule firing while an admin runs the CLI in the same process)
    # would race on the same ids; the second one is refused, not queued.
    with _running_guard:
        return _running.setdefault((store.location, source.name), threading.Lock())
