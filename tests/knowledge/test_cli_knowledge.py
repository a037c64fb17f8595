"""`flask --app webhooks knowledge sync|search`: progress, per-source summaries, scores, filters."""
from __future__ import annotations

from flask import Flask

from deskdraft.commands import cli
from tests.conftest import config_text
from tests.knowledge.helpdesks import running_helpdesks


def test_sync_then_search(tmp_path, write, monkeypatch, secrets):
    write("policies/refunds.md", "# Refunds\n\nMoney back within 30 days.\n")
    with running_helpdesks(monkeypatch) as hd:
        zendesk_url = str(hd.connectors["zd"].http.base_url).rstrip("/")
        monkeypatch.setenv("TEST_ZENDESK_TOKEN", "zt")
        text = config_text(tmp_path / "var", zendesk_url=zendesk_url, knowledge={
            "embedding": "hash", "min_score": 0.05,
            "sources": [{"type": "helpcenter", "account": "zendesk", "scope": "brand-a"},
                        {"type": "past_tickets", "account": "zendesk"},
                        {"type": "folder", "path": str(tmp_path / "policies"), "kind": "policy"}]})
        text = text.replace("assistant@acme.test", "bot@acme.test")
        (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
        monkeypatch.setenv("DESKDRAFT_CONFIG", str(tmp_path / "config.yaml"))
        app = Flask(__name__)
        cli.register(app)
        runner = app.test_cli_runner()

        first = runner.invoke(args=["knowledge", "sync"])
        assert first.exit_code == 0, first.output
        assert "helpcenter:zendesk: 8 documents, 9 chunks: 9 added, 0 updated, 0 deleted, 0 skipped" in first.output
        assert "past_tickets:zendesk: 1 documents, 1 chunks: 1 added" in first.output
        assert "Syncing helpcenter:zendesk" in first.output

        again = runner.invoke(args=["knowledge", "sync", "helpcenter:zendesk"])
        assert again.exit_code == 0 and "0 added, 0 updated, 0 deleted, 0 skipped, 9 unchanged" in again.output
        assert "past_tickets" not in again.output
        assert runner.invoke(args=["knowledge", "sync", "nope"]).exit_code != 0

        found = runner.invoke(args=["knowledge", "search", "How long do I have to return an item?", "-k", "3"])
        assert found.exit_code == 0 and found.output.startswith("[1] ") and "scope brand-a" in found.output
        tickets = runner.invoke(args=["knowledge", "search", "parcel missing refund", "--kind", "past_ticket"])
        assert tickets.output.count("past_ticket") == 1 and "casey@" not in tickets.output
        german = runner.invoke(args=["knowledge", "search", "Rücksendung", "--locale", "de", "-k", "20"])
        # The German translation of article 101 first and in place of the English one; English-only articles stay.
        assert german.output.startswith("[1] ") and "Rücksendungen" in german.output.splitlines()[0]
        assert "en-us/articles/101" not in german.output and "en-us/articles/102" in german.output
        public = runner.invoke(args=["knowledge", "search", "returns", "--account", "zendesk", "-k", "20"])
        assert "brand-a" not in public.output  # the account has no knowledge_scope: shared documents only
