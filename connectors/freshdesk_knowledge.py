"""Freshdesk Solutions (categories → folders → articles) and resolved tickets, read as knowledge Documents.

Vendor quirks worth knowing:
- Articles carry `status` 1 (draft) or 2 (published); only 2 is kept. A folder's articles are listed in the
  helpdesk's primary language; another language is the same path with `/{language_code}` appended. Lists page with
  `page`/`per_page` (at most 100) and a `Link: <...>; rel="next"` header while more pages exist.
- Resolved (4) and closed (5) tickets are read from GET /api/v2/tickets with `updated_since`, newest first, and
  filtered here: the filter search (`/search/tickets?query="status:4 OR status:5"`) stops at 10 pages of 30, too
  few for a knowledge base. Without `updated_since` the list only covers the last 30 days.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.freshdesk import pages
from connectors.http import send
from knowledge.chunking import Document, Skipped, Unchanged, html_document, past_ticket_documents

PUBLISHED = 2
RESOLVED = {4, 5}


def articles(connector: Any, locales: Sequence[str] = ()) -> Iterator[Document]:
    """Every published solution article, in the primary language or in each of `locales`."""
    http = connector.http
    portal = str(http.base_url).rstrip("/")
    for category in send(http, "GET", "/api/v2/solutions/categories").json():
        for folder in send(http, "GET", f"/api/v2/solutions/categories/{category['id']}/folders").json():
            for locale in locales or [""]:
                suffix = f"/{locale}" if locale else ""
                for raw in pages(http, f"/api/v2/solutions/folders/{folder['id']}/articles{suffix}"):
                    if raw.get("status") != PUBLISHED:
                        continue
                    source_id = f"{connector.account}:article:{raw['id']}" + (f":{locale.lower()}" if locale else "")
                    yield html_document(
                        source_id=source_id, title=raw.get("title") or "",
                        url=f"{portal}/support/solutions/articles/{raw['id']}", kind="article", locale=locale,
                        updated_at=raw.get("updated_at") or "", html=raw.get("description") or "")


def past_tickets(connector: Any, *, since: datetime, max_items: int,
                 known: Mapping[str, str]) -> Iterator[Document | Unchanged | Skipped]:
    """The most recent resolved/closed tickets updated since `since`; those whose updated_at is known are not
    fetched."""
    params = {"updated_since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "order_by": "updated_at", "order_type": "desc"}
    picked: list[tuple[str, str]] = []
    for raw in pages(connector.http, "/api/v2/tickets", params):
        if raw.get("status") in RESOLVED:
            picked.append((str(raw["id"]), raw.get("updated_at") or ""))
            if len(picked) >= max_items:
                break
    yield from past_ticket_documents(connector, picked, known, "ticket")
