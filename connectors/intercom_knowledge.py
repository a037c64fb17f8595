"""Intercom Help Center articles and closed conversations, read as vendor-neutral knowledge Documents.

Vendor quirks worth knowing:
- GET /articles is PAGE-numbered (`page`, `per_page`; `pages.total_pages` says when to stop), newest first. An
  article's top-level title/body/state are its default locale's; a multilingual help center also sends
  `translated_content`, one `article_content` (or null) per locale, each with its own `state`. Drafts are skipped
  per locale. A published article with `has_unpublished_changes` still serves its live body, which is what we want.
- Closed conversations come from POST /conversations/search (at most 150 a page, `pages.next.starting_after`
  for the next one). Timestamps are epoch seconds.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.http import send
from knowledge.chunking import Document, Skipped, Unchanged, html_document, past_ticket_documents

ARTICLES_PER_PAGE = 50
SEARCH_PER_PAGE = 150  # the maximum


def _iso(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def articles(connector: Any, locales: Sequence[str] = ()) -> Iterator[Document]:
    """Every published article (and published translation), limited to `locales` when given."""
    wanted = {locale.lower() for locale in locales}
    page = 1
    while True:
        listing = send(connector.http, "GET", "/articles",
                       params={"page": page, "per_page": ARTICLES_PER_PAGE}).json()
        for raw in listing.get("data") or []:
            yield from _article_documents(connector.account, raw, wanted)
        pages = listing.get("pages") or {}
        if page >= int(pages.get("total_pages") or 1):
            return
        page += 1


def _article_documents(account: str, raw: Mapping[str, Any], wanted: set[str]) -> Iterator[Document]:
    translations = {locale: content for locale, content in (raw.get("translated_content") or {}).items()
                    if locale != "type" and isinstance(content, Mapping)}
    if not translations:  # a single-language help center: the article itself is the only content
        if raw.get("state") == "published" and (not wanted or (raw.get("default_locale") or "").lower() in wanted):
            yield _document(f"{account}:article:{raw['id']}", raw, raw.get("default_locale") or "")
        return
    for locale, content in sorted(translations.items()):
        if content.get("state") == "published" and (not wanted or locale.lower() in wanted):
            yield _document(f"{account}:article:{raw['id']}:{locale.lower()}", content, locale)


def _document(source_id: str, content: Mapping[str, Any], locale: str) -> Document:
    return html_document(source_id=source_id, title=content.get("title") or "", url=content.get("url") or "",
                         kind="article", locale=locale, updated_at=_iso(content.get("updated_at")),
                         html=content.get("body") or "")


def past_tickets(connector: Any, *, since: datetime, max_items: int,
                 known: Mapping[str, str]) -> Iterator[Document | Unchanged | Skipped]:
    """The most recent closed conversations updated since `since`; those whose updated_at is known are not fetched."""
    latest: dict[str, str] = {}
    query = {"operator": "AND", "value": [
        {"field": "state", "operator": "=", "value": "closed"},
        {"field": "updated_at", "operator": ">", "value": int(since.timestamp())}]}
    pagination: dict[str, Any] = {"per_page": SEARCH_PER_PAGE}
    while True:
        page = send(connector.http, "POST", "/conversations/search",
                    json={"query": query, "pagination": pagination}).json()
        for raw in page.get("conversations") or []:
            latest[str(raw["id"])] = _iso(raw.get("updated_at"))
        cursor = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
        if not cursor:
            break
        pagination = {"per_page": SEARCH_PER_PAGE, "starting_after": cursor}
    recent = sorted(latest.items(), key=lambda item: (item[1], item[0]), reverse=True)[:max_items]
    yield from past_ticket_documents(connector, recent, known, "conversation")
