"""connectors.intercom_knowledge against FakeIntercom: Help Center articles and closed conversations."""
from __future__ import annotations

from datetime import timedelta

import pytest

from connectors import intercom_knowledge as ik
from knowledge.chunking import Document, Unchanged
from tests.knowledge.helpdesks import ANSWER, running_helpdesks


@pytest.fixture
def hd(monkeypatch):
    with running_helpdesks(monkeypatch) as helpdesks:
        yield helpdesks


def test_articles_are_paged_and_each_published_translation_is_a_document(hd, monkeypatch):
    monkeypatch.setattr(ik, "ARTICLES_PER_PAGE", 1)
    docs = list(ik.articles(hd.connectors["ic"]))
    assert sorted(d.source_id for d in docs) == ["ic:article:201", "ic:article:202:en", "ic:article:202:fr"]
    french = next(d for d in docs if d.locale == "fr")
    assert (french.title, french.text) == ("Livraison", "Livraison en 3 jours.")
    assert french.url.startswith("https://help.acme.test/fr/")
    assert len([p for _, p in hd.intercom.requests if p.startswith("/articles")]) == 3  # three pages of one


def test_locales_filter_translations(hd):
    assert [d.source_id for d in ik.articles(hd.connectors["ic"], ["FR"])] == ["ic:article:202:fr"]


def test_closed_conversations_become_past_tickets_and_known_ones_are_not_fetched(hd, monkeypatch):
    monkeypatch.setattr(ik, "SEARCH_PER_PAGE", 1)
    for n in range(9100, 9103):
        hd.intercom.add_conversation(str(n), "c1", f"Question {n}")
        hd.intercom.add_part(str(n), "admin", "500", f"Answer {n}")
        hd.intercom.set_state(str(n), "closed")
    connector, since = hd.connectors["ic"], hd.clock() - timedelta(days=1)
    docs = [i for i in ik.past_tickets(connector, since=since, max_items=10, known={}) if isinstance(i, Document)]
    assert sorted(d.source_id for d in docs) == ["ic:conversation:9001"] + [f"ic:conversation:{n}"
                                                                             for n in range(9100, 9103)]
    first = next(d for d in docs if d.source_id == "ic:conversation:9001")
    assert first.text.endswith(f"Agent: {ANSWER}") and first.kind == "past_ticket"
    searches = [w for w in hd.intercom.requests if w[1] == "/conversations/search"]
    assert len(searches) == 4  # one per page, following pages.next.starting_after

    known = {d.source_id: d.updated_at for d in docs}
    before = len(hd.intercom.requests)
    again = list(ik.past_tickets(connector, since=since, max_items=10, known=known))
    assert all(isinstance(i, Unchanged) for i in again)
    assert not [p for _, p in hd.intercom.requests[before:] if p.startswith("/conversations/9")]


def test_an_old_since_excludes_and_max_items_keeps_the_newest(hd):
    connector = hd.connectors["ic"]
    assert list(ik.past_tickets(connector, since=hd.clock() + timedelta(days=1), max_items=10, known={})) == []
    assert len(list(ik.past_tickets(connector, since=hd.clock() - timedelta(days=1), max_items=0, known={}))) == 0
