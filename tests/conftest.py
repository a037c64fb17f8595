"""Shared test helpers: a config built for a temp folder, with secrets in the environment as in production."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from deskdraft.settings import Config, parse_config

# Vendor payloads and API descriptions, copied into the repo beside the connector tests (sources and licences in
# tests/connectors/fixtures/SOURCES.md), so a plain clone runs every test.
FIXTURES = Path(__file__).resolve().parent / "connectors" / "fixtures"
ZENDESK_SECRET = "zendesk-signing-secret"
ZENDESK_TOKEN = "zendesk-api-token"
AGENT_EMAIL = "assistant@acme.test"


def config_text(data_dir: Path, zendesk_url: str = "http://127.0.0.1:9", claude_url: str | None = None,
                only_helpdesks: dict | None = None, **sections: dict) -> str:
    """config.yaml text for tests; `sections` are merged into top-level sections, `only_helpdesks` replaces them."""
    raw = {
        "data_dir": str(data_dir),
        "helpdesks": {"zendesk": {"type": "zendesk", "base_url": zendesk_url, "email": AGENT_EMAIL,
                                  "api_token_env": "TEST_ZENDESK_TOKEN",
                                  "webhook_secret_env": "TEST_ZENDESK_SECRET", "max_attempts": 3}},
        "anthropic": {"model": "claude-test-model", "api_key_env": "TEST_ANTHROPIC_KEY", "max_retries": 0,
                      **({"base_url": claude_url} if claude_url else {})},
        "knowledge": {"embedding": "hash", "min_score": 0.05},
        "queue": {"sweep_after_seconds": 2, "sweep_interval_seconds": 1, "retry_backoff_seconds": 1,
                  "claim_timeout_seconds": 5, "task_max_retries": 2},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    if only_helpdesks is not None:
        raw["helpdesks"] = only_helpdesks
    return yaml.safe_dump(raw, sort_keys=False)


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ZENDESK_TOKEN", ZENDESK_TOKEN)
    monkeypatch.setenv("TEST_ZENDESK_SECRET", ZENDESK_SECRET)
    monkeypatch.delenv("TEST_ANTHROPIC_KEY", raising=False)


@pytest.fixture
def make_config(tmp_path: Path, secrets: None):
    def build(**kwargs) -> Config:
        return parse_config(config_text(tmp_path / "var", **kwargs), "test-config.yaml")
    return build


UNIT = Path(__file__).resolve().parent / "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/unit are marked `unit`: `scripts/test tests/unit` or `-m unit` runs only them."""
    for item in items:
        if UNIT in item.path.parents:
            item.add_marker(pytest.mark.unit)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()
