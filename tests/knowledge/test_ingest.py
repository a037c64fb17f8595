from pathlib import Path

import pytest

from knowledge.ingest import ingest_folder

REFUNDS = """
# Refunds

## How long

Money back within 30 days of purchase.

## Exceptions

Gift cards are final sale.
"""
SHIPPING = "# Shipping\n\nOrders ship in two working days.\n"
PASSWORD = ("<html><head><title>Reset your password</title></head>"
            "<body><p>Use the link on the sign-in page.</p></body></html>")


@pytest.fixture
def kb(tmp_path, write) -> Path:
    write("kb/refunds.md", REFUNDS)
    write("kb/guides/shipping.md", SHIPPING)
    write("kb/guides/password.html", PASSWORD)
    write("kb/empty.md", "")
    write("kb/logo.svg", "<svg/>")
    write("kb/.git/config", "[core]")  # hidden: not content, not reported
    (tmp_path / "kb/legacy.txt").write_bytes("Caf\xe9 hours".encode("latin-1"))
    return tmp_path / "kb"


def test_first_ingest_counts_files_chunks_and_skips(store, kb):
    calls = []
    report = ingest_folder(store, kb, progress=lambda done, total: calls.append((done, total)))
    assert (report.files, report.chunks, report.added) == (3, 4, 4)
    assert (report.updated, report.unchanged, report.deleted) == (0, 0, 0)
    assert report.skipped == [
        ("empty.md", "no text to index"),
        ("legacy.txt", "not UTF-8 text (invalid continuation byte at byte 3)"),
        ("logo.svg", "unsupported file type .svg"),
    ]
    assert store.count() == 4
    assert calls == [(i, 6) for i in range(1, 7)]
    assert len(store.ids_for_source("refunds.md")) == 2
    assert store.ids_for_source("guides/shipping.md")[0].startswith("guides/shipping.md#")


def test_reingesting_an_unchanged_folder_changes_and_embeds_nothing(store, embedding, kb):
    ingest_folder(store, kb)
    embedding.seen.clear()
    report = ingest_folder(store, kb)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 4)
    assert embedding.seen == []
    assert store.count() == 4


def test_a_changed_section_re_embeds_only_its_chunk(store, embedding, kb):
    ingest_folder(store, kb)
    (kb / "refunds.md").write_text(REFUNDS.replace("30 days", "60 days"), encoding="utf-8")
    (kb / "guides/new.md").write_text("# New\n\nA new article.\n", encoding="utf-8")
    embedding.seen.clear()
    report = ingest_folder(store, kb)
    assert (report.added, report.updated, report.unchanged, report.deleted) == (1, 1, 3, 0)
    assert embedding.seen == [  # in path order
        "New: A new article.",
        "Refunds > How long: Money back within 60 days of purchase.",
    ]


def test_a_shorter_document_loses_its_old_chunks(store, kb):
    ingest_folder(store, kb)
    (kb / "refunds.md").write_text(REFUNDS.split("## Exceptions")[0], encoding="utf-8")
    report = ingest_folder(store, kb)
    assert (report.deleted, report.unchanged) == (1, 3)
    assert len(store.ids_for_source("refunds.md")) == 1


def test_deleted_or_emptied_files_are_removed_from_the_store(store, kb):
    ingest_folder(store, kb)
    (kb / "guides/shipping.md").unlink()
    (kb / "guides/password.html").write_text("<html><body></body></html>", encoding="utf-8")
    report = ingest_folder(store, kb)
    assert report.deleted == 2
    assert store.ids_for_source("guides/shipping.md") == []
    assert store.ids_for_source("guides/password.html") == []
    assert store.count() == 2


def test_folders_are_kept_apart(store, tmp_path, write, kb):
    write("policies/returns.md", "# Returns\n\nReturn within 14 days.\n")
    write("policies/refunds.md", "# Refunds\n\nA different file with the same relative path.\n")
    ingest_folder(store, kb)
    report = ingest_folder(store, tmp_path / "policies", kind="policy")
    assert report.added == 1
    assert report.skipped == [("refunds.md", f"same relative path already indexed from {kb.resolve()}")]
    (tmp_path / "policies/returns.md").unlink()
    assert ingest_folder(store, tmp_path / "policies", kind="policy").deleted == 1
    assert store.count() == 4  # the articles folder is untouched


def test_kind_and_urls_reach_the_stored_metadata(store, write, tmp_path):
    write("docs/how to.md", "# Sizes\n\nS, M and L.\n")
    write("docs/own.md", "---\nurl: https://elsewhere/own\nkind: policy\n---\nOwn url.\n")
    ingest_folder(store, tmp_path / "docs", kind="past_ticket", base_url="https://help.example.com/kb/")
    meta = {m["source_id"]: m for m in store.metadata(where={"folder": str((tmp_path / "docs").resolve())}).values()}
    assert meta["how to.md"]["url"] == "https://help.example.com/kb/how%20to.md"
    assert meta["how to.md"]["kind"] == "past_ticket"
    assert (meta["own.md"]["url"], meta["own.md"]["kind"]) == ("https://elsewhere/own", "policy")


def test_changing_the_base_url_updates_metadata(store, kb):
    ingest_folder(store, kb)
    report = ingest_folder(store, kb, base_url="https://help.example.com")
    assert (report.updated, report.added) == (4, 0)
    [passage] = store.query("Orders ship", 1, where={"source_id": "guides/shipping.md"})
    assert passage.url == "https://help.example.com/guides/shipping.md"


def test_a_bad_kind_or_folder_is_an_error(store, tmp_path):
    with pytest.raises(ValueError, match="kind 'faq'"):
        ingest_folder(store, tmp_path, kind="faq")
    with pytest.raises(NotADirectoryError):
        ingest_folder(store, tmp_path / "missing")
