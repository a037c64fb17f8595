"""Zendesk Guide articles and solved tickets, read as vendor-neutral knowledge Documents.

Vendor quirks worth knowing:
- Help Center lists are OFFSET-paginated unless `page[size]` is sent; with it, `meta.has_more`/`meta.after_cursor`
  (and `links.next`) walk the list. One request per locale: /api/v2/help_center/{locale}/articles lists the
  articles that have a translation in that locale, each translation with its own `draft` flag, title and body.
  Agents see drafts in these lists, so `draft: true` is skipped here. The enabled locales come from
  /api/v2/help_center/locales when the source names none.
- Solved tickets come from the cursor-based incremental export (10 requests a minute): every ticket changed since
  `start_time`, possibly several times in one stream (the last copy counts), deleted ones with status "deleted",
  and nothing changed in the last minute. `end_of_stream: true` ends the walk.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.http import send
from knowledge.chunking import Document, Skipped, Unchanged, html_document, past_ticket_documents

PAGE_SIZE = 100  # Help Center cursor pagination allows 100
SOLVED = {"solved", "closed"}


def article_source_id(account: str, article_id: Any, locale: str) -> str:
    return f"{account}:article:{article_id}:{locale.lower()}"


def articles(connector: Any, locales: Sequence[str] = ()) -> Iterator[Document]:
    """Every published article translation in the given locales (all enabled ones when empty)."""
    http = connector.http
    if not locales:
        locales = send(http, "GET", "/api/v2/help_center/locales").json()["locales"]
    for locale in locales:
        params: dict[str, Any] = {"page[size]": PAGE_SIZE}
        while True:
            page = send(http, "GET", f"/api/v2/help_center/{locale}/articles", params=params).json()
            for raw in page["articles"]:
                if raw.get("draft"):
                    continue
                yield html_document(
                    source_id=article_source_id(connector.account, raw["id"], raw.get("locale") or locale),
                    title=raw.get("title") or "", url=raw.get("html_url") or "", kind="article",
                    locale=raw.get("locale") or locale, updated_at=raw.get("updated_at") or "",
                    html=raw.get("body") or "")
            meta = page.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                break
            params = {"page[size]": PAGE_SIZE, "page[after]": meta["after_cursor"]}


def past_tickets(connector: Any, *, since: datetime, max_items: int,
                 known: Mapping[str, str]) -> Iterator[Document | Unchanged | Skipped]:
    """The most recent solved/closed tickets changed since `since`; those whose updated_at is known are not fetched."""
    latest: dict[str, str] = {}  # ticket id -> updated_at of its last copy in the stream
    params: dict[str, Any] = {"start_time": int(since.timestamp())}
    while True:
        page = send(connector.http, "GET", "/api/v2/incremental/tickets/cursor.json", params=params).json()
        for raw in page["tickets"]:
            if raw.get("status") in SOLVED:
                latest[str(raw["id"])] = raw.get("updated_at") or ""
            else:  # reopened, or deleted, later in the stream
                latest.pop(str(raw["id"]), None)
        if page.get("end_of_stream") or not page.get("after_cursor"):
            break
        params = {"cursor": page["after_cursor"]}
    recent = sorted(latest.items(), key=lambda item: (item[1], item[0]), reverse=True)[:max_items]
    yield from past_ticket_documents(connector, recent, known, "ticket")
