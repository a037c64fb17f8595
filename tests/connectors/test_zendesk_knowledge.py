"""connectors.zendesk_knowledge against FakeZendesk: Guide articles per locale and solved tickets."""
from __future__ import annotations

from datetime import timedelta

import pytest

from connectors import zendesk_knowledge as zk
from connectors.http import PermanentHelpdeskError
from knowledge.chunking import Document, Skipped, Unchanged
from knowledge.redact import redact
from tests.knowledge.helpdesks import ANSWER, QUESTION, running_helpdesks


@pytest.fixture
def hd(monkeypatch):
    with running_helpdesks(monkeypatch) as helpdesks:
        yield helpdesks


def test_articles_walk_every_enabled_locale_by_cursor_and_skip_drafts(hd, monkeypatch):
    monkeypatch.setattr(zk, "PAGE_SIZE", 2)
    docs = list(zk.articles(hd.connectors["zd"]))
    assert [d.source_id for d in docs] == [f"zd:article:{n}:en-us" for n in (101, 102, 104, 105, 106, 107, 108)] \
        + ["zd:article:101:de"]
    returns = docs[0]
    assert (returns.title, returns.kind, returns.locale) == ("Returns", "article", "en-us")
    assert returns.url.endswith("/hc/en-us/articles/101-returns")
    assert "## How long" in returns.text and "## Labels" in returns.text  # <h2> became sections
    assert returns.updated_at.endswith("Z")
    pages = [p for _, p in hd.zendesk.requests if "/en-us/articles" in p]
    assert len(pages) == 4 and all("page[size]=2" in p for p in pages)


def test_configured_locales_limit_the_read(hd):
    docs = list(zk.articles(hd.connectors["zd"], ["de"]))
    assert [(d.source_id, d.title) for d in docs] == [("zd:article:101:de", "Rücksendungen")]
    assert not [p for _, p in hd.zendesk.requests if p.startswith("/api/v2/help_center/locales")]


def test_past_tickets_are_solved_ones_with_question_and_final_public_answer(hd):
    items = list(zk.past_tickets(hd.connectors["zd"], since=hd.clock() - timedelta(days=30), max_items=10,
                                 known={}))
    docs = [i for i in items if isinstance(i, Document)]
    assert [d.source_id for d in docs] == ["zd:ticket:7"]
    assert items[-1] == Skipped("zd:ticket:9", "no public answer by an agent") or \
        Skipped("zd:ticket:9", "no public answer by an agent") in items
    [doc] = docs
    assert doc.kind == "past_ticket" and doc.title == "Parcel missing"
    assert doc.text == redact(f"Customer: {QUESTION}\n\nAgent: {ANSWER}").text  # the internal note is not the answer
    assert "Internal" not in doc.text


def test_known_versions_are_not_fetched_and_max_items_keeps_the_most_recent(hd):
    connector = hd.connectors["zd"]
    since = hd.clock() - timedelta(days=30)
    [doc] = [i for i in zk.past_tickets(connector, since=since, max_items=10, known={}) if isinstance(i, Document)]
    before = len(hd.zendesk.requests)
    items = list(zk.past_tickets(connector, since=since, max_items=10, known={doc.source_id: doc.updated_at}))
    assert Unchanged("zd:ticket:7") in items
    assert not [p for _, p in hd.zendesk.requests[before:] if p.startswith("/api/v2/tickets/7")]
    assert len(list(zk.past_tickets(connector, since=since, max_items=1, known={}))) == 1


def test_the_export_pages_with_after_cursor_until_end_of_stream(hd):
    for n in range(100, 104):
        hd.zendesk.add_ticket(n, f"Solved {n}", 20_001, description="Help")
        hd.zendesk.add_comment(n, 30_001, "Done.")
        hd.zendesk.update_ticket(n, status="solved")
    hd.clock.advance(minutes=2)
    exchanges = []
    connector = hd.connectors["zd"]
    connector.http.event_hooks["response"].append(exchanges.append)
    original = zk.send

    def small_pages(http, method, path, **kwargs):  # the fake honours per_page; Zendesk's default is 1000
        if "incremental" in path:
            kwargs["params"] = {**kwargs["params"], "per_page": 2}
        return original(http, method, path, **kwargs)

    zk.send = small_pages
    try:
        items = list(zk.past_tickets(connector, since=hd.clock() - timedelta(days=30), max_items=50, known={}))
    finally:
        zk.send = original
    exports = [r for r in exchanges if "incremental" in r.request.url.path]
    assert len(exports) == 4 and "cursor" in exports[-1].request.url.params  # 7 tickets, 2 a page
    assert {i.source_id for i in items if isinstance(i, Document)} == {"zd:ticket:7"} | {
        f"zd:ticket:{n}" for n in range(100, 104)}


def test_a_too_recent_start_and_bad_credentials_are_permanent_errors(hd, monkeypatch):
    with pytest.raises(PermanentHelpdeskError, match="Too recent"):
        list(zk.past_tickets(hd.connectors["zd"], since=hd.clock(), max_items=5, known={}))
    monkeypatch.setenv("KB_ZD_TOKEN", "revoked")
    hd.connectors["zd"].close()
    hd.connectors["zd"]._http = None
    with pytest.raises(PermanentHelpdeskError) as error:
        list(zk.articles(hd.connectors["zd"]))
    assert error.value.status == 401


def test_rate_limits_are_waited_out(hd):
    hd.zendesk.fail_next(429, retry_after=0, path_contains="/help_center/")
    assert len(list(zk.articles(hd.connectors["zd"], ["en-us"]))) == 7
