"""One generated history per module: fake Zendesk (real HTTP) with >= 500 solved tickets, the fake Claude, an
embedded Chroma store with the help-center folder, and the replay CLI on a Flask app."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskCliRunner

from deskdraft.commands import admin_cli
from deskdraft.replay import cli as replay_cli
from deskdraft.settings import load_config
from tests.conftest import AGENT_EMAIL, ZENDESK_TOKEN, config_text
from tests.fakes.claude import FakeClaude
from tests.fakes.server import serve
from tests.fakes.zendesk import FakeZendesk
from tests.knowledge.helpdesks import Clock
from tests.replay import history


@dataclass
class World:
    root: Path
    zendesk: FakeZendesk
    claude: FakeClaude
    zendesk_url: str
    claude_url: str
    made: dict[str, int]
    monkeypatch: pytest.MonkeyPatch

    def config(self, name: str = "config.yaml", model: str = history.GOOD_MODEL, **sections) -> Path:
        """Write a config (all sharing one data_dir and knowledge store) and make it the default one."""
        raw = yaml.safe_load(config_text(self.root / "var", zendesk_url=self.zendesk_url, claude_url=self.claude_url,
                                         **sections))
        raw["anthropic"]["model"] = model
        raw["anthropic"]["max_retries"] = 2
        raw["intents"] = history.INTENTS
        path = self.root / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return path

    def cli(self, config: Path | None = None, key: bool = True) -> FlaskCliRunner:
        self.monkeypatch.setenv("DESKDRAFT_CONFIG", str(config or self.root / "config.yaml"))
        if key:
            self.monkeypatch.setenv("TEST_ANTHROPIC_KEY", "test")
        else:
            self.monkeypatch.delenv("TEST_ANTHROPIC_KEY", raising=False)
        app = Flask(__name__)
        admin_cli.register(app)
        replay_cli.register(app)
        return app.test_cli_runner()


def _ingest(config_path: Path, root: Path) -> None:
    from knowledge.ingest import ingest_folder
    from knowledge.store import open_store

    config = load_config(config_path)
    articles, policies = history.write_knowledge(root / "kb")
    k = config.knowledge
    store = open_store(config.chroma_path, None, k.collection, k.embedding)
    try:
        ingest_folder(store, articles, kind="article")
        ingest_folder(store, policies, kind="policy")
    finally:
        store.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("replay")
    clock = Clock()
    clock.now -= timedelta(days=5)
    zd = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN, clock=clock)
    made = history.seed(zd)
    clock.advance(days=5)  # Zendesk's incremental export leaves out the last minute
    claude = FakeClaude(api_key="test", default=history.fake_model)
    with ExitStack() as stack, pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEST_ZENDESK_TOKEN", ZENDESK_TOKEN)
        mp.setenv("TEST_ZENDESK_SECRET", "secret")
        zurl = stack.enter_context(serve(zd.app)).url
        curl = stack.enter_context(serve(claude.app)).url
        w = World(root, zd, claude, zurl, curl, made, mp)
        _ingest(w.config(), root)
        yield w
    assert zd.errors == [] and claude.errors == []


@pytest.fixture(scope="module")
def collected(world: World) -> Path:
    """The generated history collected once through the CLI."""
    out = world.root / "zendesk.jsonl"
    result = world.cli().invoke(args=["replay", "collect", "--account", "zendesk", "--since", "30d",
                                      "--limit", "5000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
