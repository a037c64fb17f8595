"""`flask --app webhooks erase`: one ticket or one requester out of the state, the audit, the labelled-tickets file
and the knowledge store; `router train --labelled` stores redacted text; data_dir is owner-only."""
from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from flask import Flask

from deskdraft.commands import admin_cli, cli
from deskdraft.settings import load_config
from deskdraft.state import State
from knowledge.chunking import text_document
from knowledge.ingest import document_chunks
from knowledge.store import open_store
from tests.conftest import config_text

LABELLED = ("text,label,account,ticket_id,requester_id\n"
            "\"Refund please, mail me at casey@example.com or call +44 20 7946 0958\",refunds,zendesk,101,5001\n"
            "Where is my parcel?,shipping,zendesk,102,5002\n"
            "My card 4111 1111 1111 1111 was charged twice,refunds,zendesk,103,5001\n")


@pytest.fixture
def runner(tmp_path, monkeypatch, secrets):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(config_text(tmp_path / "var", intents={
        "refunds": {"examples": ["I want my money back", "refund my order"]},
        "shipping": {"examples": ["where is my parcel", "delivery is late"]}}), encoding="utf-8")
    monkeypatch.setenv("DESKDRAFT_CONFIG", str(config_path))
    app = Flask(__name__)
    cli.register(app)
    admin_cli.register(app)
    return app.test_cli_runner()


def _seed(config) -> State:
    state = State(config.database_url)
    for ticket, requester in (("101", "5001"), ("102", "5002"), ("103", "5001")):
        inbox_id = state.record_event("zendesk", f"evt-{ticket}", ticket, "k")
        state.log("zendesk", ticket, "ticket_read", inbox_id, requester=requester)
        ref = f"zendesk:{ticket}:c{ticket}"
        state.claim_post(ref, "zendesk", ticket, "run-1", 60)
        state.confirm_post(ref, "run-1", "note", "n1")
        state.record_draft(ref, "zendesk", ticket, "refunds", "note", "n1", 0.8, f"Draft for {ticket}", "en",
                           "p", "m", "k")
    with open_store(config.chroma_path, None, config.knowledge.collection, "hash") as store:
        for ticket in ("101", "102"):
            store.upsert(document_chunks(text_document(
                source_id=f"zendesk:ticket:{ticket}", title=f"Ticket {ticket}", url="", kind="past_ticket",
                locale="", updated_at="2026-11-01T00:00:00Z", text=f"Customer: parcel {ticket}\n\nAgent: sent")))
    return state


def _left(config, state: State) -> dict[str, set[str]]:
    with open_store(config.chroma_path, None, config.knowledge.collection, "hash") as store:
        passages = {m["source_id"] for m in store.metadata(where={"kind": "past_ticket"}).values()}
    with (Path(config.data_dir) / "labelled_tickets.csv").open(newline="", encoding="utf-8") as f:
        labelled = {row["ticket_id"] for row in csv.DictReader(f)}
    return {"inbox": {e.ticket_id for e in state.events()},
            "audit": {t for t in ("101", "102", "103") if list(state.audit_trail("zendesk", t))},
            "drafts": {d.ticket_id for d in state.drafts_between(0, 1e12)},
            "claims": {t for t in ("101", "102", "103") if state.post_status(f"zendesk:{t}:c{t}")},
            "labelled": labelled, "passages": passages}


def test_labelled_tickets_are_stored_redacted_and_owner_only(runner, tmp_path):
    source = tmp_path / "labelled.csv"
    source.write_text(LABELLED, encoding="utf-8")
    result = runner.invoke(args=["router", "train", "--labelled", str(source)])
    assert result.exit_code == 0, result.output
    assert "3 personal detail(s) redacted" in result.output
    stored = tmp_path / "var" / "labelled_tickets.csv"
    text = stored.read_text(encoding="utf-8")
    for secret in ("casey@example.com", "7946", "4111"):
        assert secret not in text
    assert "[EMAIL]" in text and "[PHONE]" in text and "[CARD]" in text and "Where is my parcel?" in text
    assert text.splitlines()[0] == "text,label,account,ticket_id,requester_id"  # ids kept so erase can find rows
    for path in [tmp_path / "var", *(tmp_path / "var").rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is readable by others"


def test_erase_one_ticket_then_one_requester(runner, tmp_path):
    (tmp_path / "labelled.csv").write_text(LABELLED, encoding="utf-8")
    assert runner.invoke(args=["router", "train", "--labelled", str(tmp_path / "labelled.csv")]).exit_code == 0
    config = load_config()
    state = _seed(config)
    assert list((tmp_path / "var" / "router").glob("*.npz"))

    result = runner.invoke(args=["erase", "--ticket", "zendesk", "102"])
    assert result.exit_code == 0, result.output
    for line in ("removed 1 inbox rows", "removed 1 claims rows", "removed 1 drafts rows", "removed 2 audit rows",
                 "removed 1 labelled-ticket rows", "removed 1 knowledge passages"):
        assert line in result.output
    left = _left(config, state)
    assert left == {"inbox": {"101", "103"}, "audit": {"101", "103"}, "drafts": {"101", "103"},
                    "claims": {"101", "103"}, "labelled": {"101", "103"}, "passages": {"zendesk:ticket:101"}}
    assert not list((tmp_path / "var" / "router").glob("*.npz"))  # trained on the erased text: dropped

    result = runner.invoke(args=["erase", "--requester", "5001"])
    assert result.exit_code == 0, result.output
    assert "requester 5001: 2 ticket(s) on record (zendesk 101, zendesk 103)" in result.output
    assert "removed 2 labelled-ticket rows" in result.output and "removed 4 audit rows" in result.output
    assert all(not found for found in _left(config, state).values())

    again = runner.invoke(args=["erase", "--requester", "5001"])  # nothing left: says so, still succeeds
    assert again.exit_code == 0 and "0 ticket(s)" in again.output and "removed 0 audit rows" in again.output


def test_erase_refuses_bad_arguments_and_explains_an_email(runner):
    assert runner.invoke(args=["erase"]).exit_code == 2
    assert runner.invoke(args=["erase", "--ticket", "zendesk", "1", "--requester", "5"]).exit_code == 2
    unknown = runner.invoke(args=["erase", "--ticket", "nope", "1"])
    assert unknown.exit_code == 1 and "no helpdesk account 'nope'" in unknown.output
    email = runner.invoke(args=["erase", "--requester", "casey@example.com"])
    assert email.exit_code == 0 and "give the requester's id" in email.output


def test_erase_while_the_worker_holds_the_store_erases_the_rest_and_says_what_is_left(runner):
    config = load_config()
    state = _seed(config)
    with open_store(config.chroma_path, None, config.knowledge.collection, "hash"):  # as the running worker does
        result = runner.invoke(args=["erase", "--ticket", "zendesk", "101"])
    assert result.exit_code == 1
    assert "NOT ERASED: past-ticket passages not erased" in result.output and "Run the command again" in result.output
    assert "101" not in _state_tickets(state)
    result = runner.invoke(args=["erase", "--ticket", "zendesk", "101"])  # the worker stopped: the rerun finishes
    assert result.exit_code == 0 and "removed 1 knowledge passages" in result.output


def _state_tickets(state: State) -> set[str]:
    return {e.ticket_id for e in state.events()} | {d.ticket_id for d in state.drafts_between(0, 1e12)}


def test_labelled_tickets_without_ids_are_stored_with_a_warning_and_erase_says_it_cannot_match_them(runner, tmp_path):
    source = tmp_path / "plain.csv"
    source.write_text("text,label,notes\nRefund to casey@example.com please,refunds,vip\n", encoding="utf-8")
    result = runner.invoke(args=["router", "train", "--labelled", str(source)])
    assert result.exit_code == 0 and "erase` cannot find these rows later" in result.output
    stored = (tmp_path / "var" / "labelled_tickets.csv").read_text(encoding="utf-8")
    assert stored == "text,label\nRefund to [EMAIL] please,refunds\n"  # columns we do not use are not kept
    erased = runner.invoke(args=["erase", "--ticket", "zendesk", "1"])
    assert erased.exit_code == 0
    assert "has no ticket_id/requester_id column: its 1 rows cannot be matched" in erased.output
    bad = tmp_path / "bad.csv"
    bad.write_text("message,intent\nhi,refunds\n", encoding="utf-8")
    refused = runner.invoke(args=["router", "train", "--labelled", str(bad)])
    assert refused.exit_code == 1 and "needs a header row with text,label" in refused.output
    assert (tmp_path / "var" / "labelled_tickets.csv").read_text(encoding="utf-8") == stored  # nothing lost
