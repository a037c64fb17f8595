"""connectors.freshdesk_knowledge against FakeFreshdesk: Solutions and resolved tickets; fake shapes vs fixtures."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connectors import freshdesk
from connectors import freshdesk_knowledge as fk
from knowledge.chunking import Document, Unchanged
from knowledge.redact import redact
from tests.conftest import FIXTURES
from tests.knowledge.helpdesks import ANSWER, QUESTION, running_helpdesks

SAMPLES = FIXTURES / "freshdesk" / "python-freshdesk"


@pytest.fixture
def hd(monkeypatch):
    with running_helpdesks(monkeypatch) as helpdesks:
        yield helpdesks


def sample(name):
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("fixture, path", [
    ("solution_categories.json", "/api/v2/solutions/categories"),
    ("solution_folders.json", "/api/v2/solutions/categories/2/folders"),
    ("solution_articles.json", "/api/v2/solutions/folders/3/articles"),
])
def test_solution_shapes_match_python_freshdesk_samples(hd, fixture, path):
    theirs, ours = sample(fixture), hd.connectors["fd"].http.get(path).raise_for_status().json()
    assert ours and set(theirs[0]) <= set(ours[0]), set(theirs[0]) - set(ours[0])
    for key, value in theirs[0].items():
        assert value is None or ours[0][key] is None or type(ours[0][key]) is type(value), key


def test_search_and_list_answer_like_freshdesk(hd):
    http = hd.connectors["fd"].http
    found = http.get("/api/v2/search/tickets", params={"query": '"status:4 OR status:5"'}).raise_for_status().json()
    assert set(found) == set(sample("search_tickets.json")) and [t["id"] for t in found["results"]] == [21]
    assert "description" not in found["results"][0]
    anded = http.get("/api/v2/search/tickets",
                     params={"query": "\"(status:4 OR status:2) AND updated_at:>'2000-01-01'\""})
    assert anded.json()["total"] == 2
    assert http.get("/api/v2/search/tickets", params={"query": "status:4"}).status_code == 400  # no quotes
    listed = http.get("/api/v2/tickets", params={"updated_since": "2000-01-01T00:00:00Z"}).json()
    core = {"id", "subject", "status", "priority", "requester_id", "responder_id", "created_at", "updated_at", "tags"}
    assert core <= set(listed[0]) and core <= set(sample("all_tickets.json")[0])


def test_published_articles_only_with_portal_urls_and_paging(hd, monkeypatch):
    monkeypatch.setattr(freshdesk, "PER_PAGE", 1)  # the page walk is the connector's (freshdesk.pages)
    docs = list(fk.articles(hd.connectors["fd"]))
    assert [d.source_id for d in docs] == ["fd:article:4", "fd:article:6"]
    assert docs[0].url.endswith("/support/solutions/articles/4") and docs[0].locale == ""
    assert docs[0].text == "Open account details and edit."
    # Three pages of one, then an empty fourth: a full page without a Link header may still have a successor
    # (Freshdesk's Link header is undocumented), so one extra request is the price of not missing any.
    assert len([p for _, p in hd.freshdesk.requests if "/folders/3/articles" in p]) == 4


def test_translations_are_read_per_configured_language(hd):
    hd.freshdesk.add_solution_article(4, 3, "Kontodaten ändern", "<p>Öffnen Sie die Kontodaten.</p>", language="de")
    docs = list(fk.articles(hd.connectors["fd"], ["de"]))
    assert [(d.source_id, d.locale, d.title) for d in docs] == [("fd:article:4:de", "de", "Kontodaten ändern")]


def test_resolved_tickets_are_read_from_the_list_newest_first(hd):
    connector, since = hd.connectors["fd"], hd.clock() - timedelta(days=5)
    items = list(fk.past_tickets(connector, since=since, max_items=10, known={}))
    [doc] = items
    assert isinstance(doc, Document) and doc.source_id == "fd:ticket:21"
    assert doc.text == redact(f"Customer: {QUESTION}\n\nAgent: {ANSWER}").text
    again = list(fk.past_tickets(connector, since=since, max_items=10, known={doc.source_id: doc.updated_at}))
    assert again == [Unchanged("fd:ticket:21")]
    listed = [p for _, p in hd.freshdesk.requests if p.startswith("/api/v2/tickets?")]
    assert listed and all("order_by=updated_at" in p and "updated_since=" in p for p in listed)
