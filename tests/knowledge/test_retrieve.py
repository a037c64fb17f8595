import pytest

from knowledge.chunking import Chunk
from knowledge.retrieve import retrieve

DOCS = [
    ("refunds.md", "policy", "Refund policy", "Refund policy: money back within 30 days of purchase"),
    ("refund-steps.md", "article", "Refund steps", "How to ask for a refund: open your order and press refund"),
    ("address.md", "article", "Delivery address", "Change your delivery address before the order ships"),
    ("ticket-1.txt", "past_ticket", "Ticket 1", "Customer asked for a refund after 40 days; we declined politely"),
]


@pytest.fixture
def filled(store):
    store.upsert([
        Chunk(id=f"{sid}#0", text=text, title=title, url=f"https://help.example.com/{sid}", kind=kind, locale="en",
              source_id=sid, updated_at="2026-01-01T00:00:00+00:00", content_hash=sid)
        for sid, kind, title, text in DOCS
    ])
    return store


def test_results_come_best_first_with_citation_fields(filled):
    passages = retrieve(filled, "refund policy money back", k=4, min_score=-1.0)
    assert len(passages) == 4
    assert passages[0].id == "refunds.md#0"
    assert (passages[0].title, passages[0].url, passages[0].kind) == (
        "Refund policy", "https://help.example.com/refunds.md", "policy")
    assert passages[0].text == DOCS[0][3]
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 + 1e-6 for s in scores)


def test_min_score_is_a_floor(filled):
    everything = retrieve(filled, "refund", k=4, min_score=-1.0)
    floor = (everything[0].score + everything[-1].score) / 2
    kept = retrieve(filled, "refund", k=4, min_score=floor)
    assert 0 < len(kept) < len(everything)
    assert all(p.score >= floor for p in kept)
    assert retrieve(filled, "refund", k=4, min_score=1.01) == []


def test_kinds_filter(filled):
    assert {p.kind for p in retrieve(filled, "refund", k=4, min_score=-1.0, kinds=["article", "past_ticket"])} == {
        "article", "past_ticket"}
    assert [p.id for p in retrieve(filled, "refund", k=4, min_score=-1.0, kinds=["policy"])] == ["refunds.md#0"]
    assert retrieve(filled, "refund", kinds=[]) == []


def test_k_and_blank_queries(filled):
    assert len(retrieve(filled, "refund", k=2, min_score=-1.0)) == 2
    assert retrieve(filled, "refund", k=0) == []
    assert retrieve(filled, "   ") == []


def test_an_empty_store_returns_nothing(store):
    assert retrieve(store, "refund") == []


@pytest.mark.parametrize("hybrid", [False, True])
def test_a_vector_the_caller_already_has_is_used_not_embedded_again(filled, embedding, hybrid):
    query = "refund policy money back"
    (vector,) = embedding.embed_query([query])
    expected = retrieve(filled, query, k=3, min_score=-1.0, hybrid=hybrid)
    seen = len(embedding.seen)
    got = retrieve(filled, query, k=3, min_score=-1.0, hybrid=hybrid, embedding=vector)
    assert len(embedding.seen) == seen  # the ticket was embedded once, by routing
    assert [(p.id, round(p.score, 5)) for p in got] == [(p.id, round(p.score, 5)) for p in expected]
