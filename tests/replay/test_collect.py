"""`replay collect` against the fake Zendesk: examples per answered customer turn, redacted, resumable, read-only."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors import build_connectors
from deskdraft.replay import collect, dataset
from deskdraft.settings import load_config
from tests.replay import history


def test_collect_reads_every_solved_ticket_and_redacts(world, collected):
    data = dataset.load(collected)
    tickets = {e.ticket_id for e in data.examples}
    assert len(tickets) == sum(world.made.values()) >= 500  # every solved one, not the open one
    assert "9001" not in tickets
    second_turns = sum(1 for n in range(1, 521) if n % 7 == 0)
    assert len(data.examples) == len(tickets) + second_turns
    text = collected.read_text(encoding="utf-8")
    for secret in history.PII:
        assert secret not in text
    assert "Internal: checked the account" not in text  # internal notes are not conversation
    example = next(e for e in data.examples if e.ticket_id == "1007")
    assert example.intent == history.TOPICS[list(history.TOPICS)[7 % 4]][0] or example.intent is None
    assert example.turns[-1].role == "customer" and example.agent_reply
    assert world.zendesk.writes == []


def test_interrupted_collect_resumes_without_refetching(world, tmp_path):
    config = load_config(world.config())
    connector = build_connectors(config)["zendesk"]
    out = tmp_path / "d.jsonl"
    since = datetime.now(UTC) - timedelta(days=30)
    seen = []

    def stop_after_100(n):
        seen.append(n)
        if len(seen) == 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collect.collect(connector, out, since=since, limit=5000, intents=set(history.INTENTS), progress=stop_after_100)
    first = dataset.load(out)
    assert 100 <= len(first.examples) < 200
    fetched_before = sum(1 for _, p in world.zendesk.requests if p.startswith("/api/v2/tickets/1"))
    report = collect.collect(connector, out, since=since, limit=5000, intents=set(history.INTENTS))
    fetched = sum(1 for _, p in world.zendesk.requests if p.startswith("/api/v2/tickets/1")) - fetched_before
    assert report.already == 100
    assert fetched == 2 * (sum(world.made.values()) - 100)  # ticket + comments, only for the unread ones
    ids = [e.id for e in dataset.load(out).examples]
    assert len(ids) == len(set(ids))
    connector.close()


def test_export_edit_import_as_frozen_golden_set(world, collected, tmp_path):
    runner = world.cli()
    golden = tmp_path / "golden.jsonl"
    result = runner.invoke(args=["replay", "export", "--dataset", str(collected), "--out", str(golden)])
    assert result.exit_code == 0, result.output
    frozen = dataset.load(golden)
    assert frozen.frozen and frozen.header["version"] == dataset.load(collected).version

    lines = golden.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[1])
    edited["agent_reply"] = "Corrected by the lead."
    (tmp_path / "edited.jsonl").write_text("\n".join([lines[0], json.dumps(edited), *lines[2:]]) + "\n")
    ok = runner.invoke(args=["replay", "import", str(tmp_path / "edited.jsonl"), "--out", str(tmp_path / "g2.jsonl")])
    assert ok.exit_code == 0, ok.output
    assert dataset.load(tmp_path / "g2.jsonl").version != frozen.header["version"]

    edited["agent_reply"] = "Mail me at lead@example.org"
    (tmp_path / "leak.jsonl").write_text("\n".join([lines[0], json.dumps(edited)]) + "\n")
    leak = runner.invoke(args=["replay", "import", str(tmp_path / "leak.jsonl"), "--out", str(tmp_path / "g3.jsonl")])
    assert leak.exit_code != 0 and "personal data" in leak.output
    assert not (tmp_path / "g3.jsonl").exists()

    broken = tmp_path / "broken.jsonl"
    broken.write_text(lines[0] + "\n" + lines[1] + "\n{\"id\": \"x\"}\n")
    bad = runner.invoke(args=["replay", "import", str(broken), "--out", str(tmp_path / "g4.jsonl")])
    assert bad.exit_code != 0 and "broken.jsonl:3" in bad.output and "missing field 'turns'" in bad.output

    into_frozen = runner.invoke(args=["replay", "collect", "--account", "zendesk", "--out", str(golden)])
    assert into_frozen.exit_code != 0 and "frozen" in into_frozen.output


def test_collect_works_through_each_helpdesks_reader(tmp_path, monkeypatch):
    from tests.knowledge.helpdesks import running_helpdesks

    with running_helpdesks(monkeypatch) as hd:
        for name in ("zd", "ic", "fd"):
            out = tmp_path / f"{name}.jsonl"
            report = collect.collect(hd.connectors[name], out, since=hd.clock() - timedelta(days=30), limit=50,
                                     intents=set())
            data = dataset.load(out)
            assert report.examples == len(data.examples) == 1, name  # the one solved ticket answered publicly
            text = out.read_text(encoding="utf-8")
            assert "refunded the order" in text and "casey@example.com" not in text
            assert "4111 1111 1111 1111" not in text and "221B Baker Street" not in text
        assert hd.zendesk.writes == [] and hd.intercom.writes == [] and hd.freshdesk.writes == []
