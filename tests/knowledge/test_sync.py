"""knowledge.sync end to end: three fake helpdesks (real HTTP) and a folder into a real embedded Chroma store."""
from __future__ import annotations

import dataclasses

import pytest

from connectors import zendesk_knowledge
from deskdraft.settings import KnowledgeSource
from knowledge.sync import summary, sync_all, sync_source
from tests.knowledge.helpdesks import ANSWER, PII, running_helpdesks


@pytest.fixture
def hd(monkeypatch):
    with running_helpdesks(monkeypatch) as helpdesks:
        yield helpdesks


@pytest.fixture
def sources(hd, tmp_path, write):
    write("policies/refunds.md", "# Refunds\n\nMoney back within 30 days.\n")
    return hd.sources(str(tmp_path / "policies"))


def by_name(reports):
    return {r.source.split(":")[0] + ":" + r.source.split(":")[1][:2]: r for r in reports}


def source(sources, name):
    return next(s for s in sources if s.name == name)


def test_first_sync_indexes_published_articles_solved_tickets_and_the_folder(store, hd, sources):
    reports = by_name(sync_all(store, sources, hd.connectors))

    counts = {name: (r.files, r.chunks, r.added, r.deleted, r.complete) for name, r in reports.items()}
    assert counts == {
        "helpcenter:zd": (8, 9, 9, 0, True),   # 7 en-us + 1 de translation; the draft is left out
        "past_tickets:zd": (1, 1, 1, 0, True),  # #7 solved; #8 open; #9 closed without a public answer
        "helpcenter:ic": (3, 3, 3, 0, True),    # 201, 202 in en and fr; 202's de draft and 203 (draft) left out
        "past_tickets:ic": (1, 1, 1, 0, True),
        "helpcenter:fd": (2, 2, 2, 0, True),    # 4 and 6; 5 is a draft
        "past_tickets:fd": (1, 1, 1, 0, True),
        "folder:/t": (1, 1, 1, 0, True),
    }
    assert reports["past_tickets:zd"].skipped == [("zd:ticket:9", "no public answer by an agent")]
    meta = store.metadata()
    assert len(meta) == store.count() == 18
    de = store.metadata(ids=[i for i, m in meta.items() if m["source_id"] == "zd:article:101:de"])
    assert {m["locale"] for m in de.values()} == {"de"} and {m["lang"] for m in de.values()} == {"de"}
    assert {m["kind"] for m in meta.values() if ":ticket:" in m["source_id"] or ":conversation:" in m["source_id"]} \
        == {"past_ticket"}
    assert {m["scope"] for m in meta.values()} == {""}
    assert all(line.count("added") == 1 for line in map(summary, reports.values()))


def test_a_second_sync_is_a_no_op(store, embedding, hd, sources):
    sync_all(store, sources, hd.connectors)
    fetched_before = [p for _, p in hd.zendesk.requests if p.startswith("/api/v2/tickets/7")]
    embedding.seen.clear()

    reports = sync_all(store, sources, hd.connectors)

    assert [(r.added, r.updated, r.deleted, r.embedded) for r in reports] == [(0, 0, 0, 0)] * len(sources)
    assert sum(r.unchanged for r in reports) == store.count() == 18
    assert embedding.seen == []
    # A solved ticket whose updated_at is stored is not fetched again: no ticket or comment reads.
    assert [p for _, p in hd.zendesk.requests if p.startswith("/api/v2/tickets/7")] == fetched_before


def test_an_edited_article_re_embeds_only_that_article(store, embedding, hd, sources):
    sync_all(store, sources, hd.connectors)
    hd.zendesk.edit_article(102, body="<p>Orders ship in one working day.</p>")
    hd.freshdesk.edit_solution_article(6, title="Opening hours (new)")
    embedding.seen.clear()

    zd = sync_source(store, source(sources, "helpcenter:zd"), hd.connectors)
    fd = sync_source(store, source(sources, "helpcenter:fd"), hd.connectors)

    assert (zd.updated, zd.unchanged, zd.embedded, zd.deleted) == (1, 8, 1, 0)
    # A new title is a new heading path, so a new chunk id: added, and the old one deleted.
    assert (fd.added, fd.deleted, fd.unchanged, fd.embedded) == (1, 1, 1, 1)
    assert embedding.seen == ["Shipping times: Orders ship in one working day.",
                              "Opening hours (new): We answer 9 to 5."]


def test_unpublished_and_deleted_articles_disappear(store, hd, sources):
    sync_all(store, sources, hd.connectors)
    hd.zendesk.edit_article(102, draft=True)   # unpublished
    hd.zendesk.remove_article(104)             # archived
    hd.intercom.edit_article("201", state="draft")
    hd.freshdesk.edit_solution_article(6, status=1)
    hd.freshdesk.remove_solution_article(4)

    reports = by_name(sync_all(store, sources, hd.connectors))

    assert (reports["helpcenter:zd"].deleted, reports["helpcenter:ic"].deleted, reports["helpcenter:fd"].deleted) \
        == (2, 1, 2)
    left = {m["source_id"] for m in store.metadata().values()}
    assert not left & {"zd:article:102:en-us", "zd:article:104:en-us", "ic:article:201", "fd:article:6",
                       "fd:article:4"}
    assert store.count() == 18 - 5


def test_an_interrupted_sync_deletes_nothing_duplicates_nothing_and_a_rerun_completes(
        store, embedding, hd, sources, monkeypatch):
    monkeypatch.setattr(zendesk_knowledge, "PAGE_SIZE", 3)  # 7 en-us articles: three pages
    helpcenter = source(sources, "helpcenter:zd")
    first = sync_source(store, helpcenter, hd.connectors)
    assert first.complete and store.count() == 9

    hd.zendesk.remove_article(108)
    hd.zendesk.edit_article(101, title="Returns and refunds")
    hd.zendesk.fail_next(503, times=4, retry_after=0, path_contains="page[after]")  # every retry of page 2 fails
    embedding.seen.clear()

    broken = sync_source(store, helpcenter, hd.connectors)

    assert not broken.complete and "503" in (broken.error or "")
    # The edited article (page 1) was kept, its two old sections replaced, not left beside it; 108 is still
    # there: the listing never got that far.
    assert (broken.embedded, broken.deleted) == (2, 2) and store.count() == 9
    assert [m for m in store.metadata().values() if m["source_id"] == "zd:article:108:en-us"]
    assert "STOPPED EARLY" in summary(broken)
    assert len(set(store.metadata())) == store.count()

    embedding.seen.clear()
    rerun = sync_source(store, helpcenter, hd.connectors)

    assert rerun.complete and (rerun.embedded, rerun.deleted) == (0, 1)  # nothing embedded twice
    assert store.count() == 8
    assert not [m for m in store.metadata().values() if m["source_id"] == "zd:article:108:en-us"]


def test_past_tickets_are_redacted_before_anything_is_embedded_or_stored(store, embedding, hd, sources):
    sync_all(store, sources, hd.connectors)

    got = store._collection.get(where={"kind": "past_ticket"}, include=["documents", "metadatas"])
    assert len(got["ids"]) == 3
    # Hash fields are hex digests: "7946" or "4111" turn up in them by chance, not as leaked data.
    meta = [v for m in got["metadatas"] for k, v in m.items() if not k.endswith("hash")]
    stored = " ".join(got["documents"]) + " ".join(str(v) for v in meta)
    embedded = " ".join(embedding.seen)
    for secret in (*PII, "casey@", "4111", "7946"):
        assert secret not in stored and secret not in embedded
    for text in got["documents"]:
        assert "[EMAIL]" in text and "[CARD]" in text and "[PHONE]" in text and "[IBAN]" in text
        assert "[ADDRESS]" in text and ANSWER in text


def test_a_changed_ticket_is_fetched_again_and_a_reopened_one_leaves(store, hd, sources):
    tickets = source(sources, "past_tickets:zd")
    sync_source(store, tickets, hd.connectors)
    hd.zendesk.add_comment(7, 30_001, "One more thing: the refund has been sent.")
    hd.zendesk.update_ticket(9, status="open")
    hd.clock.advance(minutes=2)

    again = sync_source(store, tickets, hd.connectors)

    assert (again.updated, again.embedded, again.deleted) == (1, 1, 0)
    [text] = store._collection.get(where={"source_id": "zd:ticket:7"}, include=["documents"])["documents"]
    assert "refund has been sent" in text
    hd.zendesk.update_ticket(7, status="open")
    hd.clock.advance(minutes=2)
    assert sync_source(store, tickets, hd.connectors).deleted == 1
    assert store.metadata(where={"source_id": "zd:ticket:7"}) == {}


def test_scope_comes_from_the_source_and_a_scope_change_relabels_without_embedding(store, embedding, hd, sources):
    helpcenter = dataclasses.replace(source(sources, "helpcenter:fd"), scope="brand-b")
    sync_source(store, helpcenter, hd.connectors)
    assert {m["scope"] for m in store.metadata(where={"source": "helpcenter:fd"}).values()} == {"brand-b"}
    embedding.seen.clear()

    relabelled = sync_source(store, dataclasses.replace(helpcenter, scope=None), hd.connectors)

    assert (relabelled.updated, relabelled.embedded) == (2, 0) and embedding.seen == []
    assert {m["scope"] for m in store.metadata(where={"source": "helpcenter:fd"}).values()} == {""}


def test_a_missing_account_or_folder_is_reported_and_the_other_sources_still_run(store, hd, tmp_path):
    sources = [KnowledgeSource(type="helpcenter", kind="article", account="nope"),
               KnowledgeSource(type="folder", kind="policy", path=str(tmp_path / "missing")),
               KnowledgeSource(type="helpcenter", kind="article", account="fd")]
    reports = sync_all(store, sources, hd.connectors)
    assert [r.complete for r in reports] == [False, False, True]
    assert "nope" in reports[0].error and "missing" in reports[1].error


def test_large_sources_are_read_in_pages_and_a_document_listed_twice_counts_once(store, hd, sources, monkeypatch):
    import knowledge.store
    from knowledge.chunking import chunk_document, text_document
    from knowledge.ingest import IngestReport, SourceUpsert

    monkeypatch.setattr(knowledge.store, "READ_PAGE", 2)  # Chroma's SQLite refuses one get() of 100k rows
    sync_all(store, sources, hd.connectors)
    assert len(store.metadata()) == store.count() == 18
    assert sum(r.unchanged for r in sync_all(store, sources, hd.connectors)) == 18

    doc = text_document(source_id="x:1", title="Twice", url="", kind="article", locale="", updated_at="", text="Hi")
    report = IngestReport()
    upsert = SourceUpsert(store, {"source": "test:twice"}, report)
    upsert.add(chunk_document(doc))
    upsert.add(chunk_document(doc))  # a cursor page shifted by a concurrent edit lists it again
    upsert.finish()
    assert (report.files, report.added) == (1, 1)
