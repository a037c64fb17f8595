"""One app with all three helpdesks behind it, and each vendor's way of signing a body, for the intake tests,
the fuzz test and benchmarks/fuzz.py (which runs outside pytest, so nothing here is a fixture)."""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deskdraft.settings import Config, parse_config
from deskdraft.state import State
from tests.conftest import AGENT_EMAIL, config_text
from tests.e2e.desks import SECRETS
from tests.fakes.freshdesk import freshdesk_webhook_headers
from tests.fakes.intercom import sign_intercom
from tests.fakes.zendesk import sign_zendesk
from webhooks import create_app

ACCOUNTS = {
    "zendesk": {"type": "zendesk", "base_url": "http://127.0.0.1:9", "email": AGENT_EMAIL,
                "api_token_env": "TEST_ZENDESK_TOKEN", "webhook_secret_env": "TEST_ZENDESK_SECRET"},
    "intercom": {"type": "intercom", "base_url": "http://127.0.0.1:9", "admin_id": "991",
                 "api_token_env": "TEST_INTERCOM_TOKEN", "webhook_secret_env": "TEST_INTERCOM_SECRET"},
    "freshdesk": {"type": "freshdesk", "base_url": "http://127.0.0.1:9", "agent_user_id": "77",
                  "api_token_env": "TEST_FRESHDESK_KEY", "webhook_secret_env": "TEST_FRESHDESK_SECRET"},
}


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SIGNERS: dict[str, Callable[[bytes], dict[str, str]]] = {
    "zendesk": lambda body: sign_zendesk(SECRETS["TEST_ZENDESK_SECRET"], body, now_stamp()),
    "intercom": lambda body: sign_intercom(SECRETS["TEST_INTERCOM_SECRET"], body),
    "freshdesk": lambda body: freshdesk_webhook_headers(SECRETS["TEST_FRESHDESK_SECRET"]),
}


def three_desk_config(data_dir: Path, database_url: str | None = None) -> Config:
    os.environ.update(SECRETS)
    extra: dict[str, Any] = {"state": {"url": database_url}} if database_url else {}
    return parse_config(config_text(data_dir, only_helpdesks=ACCOUNTS, **extra), "intake-test.yaml")


def three_desk_app(data_dir: Path, database_url: str | None = None) -> tuple[Any, list[int], State]:
    """(Flask test client, the ids enqueued, the State) for an app serving all three helpdesks."""
    config = three_desk_config(data_dir, database_url)
    state = State(config.database_url, wait_seconds=1.0)
    queued: list[int] = []
    app = create_app(config, enqueue=queued.append, state=state)
    return app.test_client(), queued, state
