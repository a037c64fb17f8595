"""A console app over a seeded history, signed-in and anonymous clients."""
from __future__ import annotations

import re
import time

import pytest
from werkzeug.security import generate_password_hash

from deskdraft.state import State
from tests.console.seed import seed
from webhooks import create_app

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = generate_password_hash(PASSWORD)


@pytest.fixture
def console_env(monkeypatch):
    monkeypatch.setenv("DESKDRAFT_CONSOLE_PASSWORD_HASH", PASSWORD_HASH)
    monkeypatch.setenv("DESKDRAFT_CONSOLE_SECRET", "test-session-key-" + "x" * 20)
    monkeypatch.setenv("DESKDRAFT_METRICS_TOKEN", "metrics-token")


INTENTS = {"order_status": {"description": "Where is my order", "examples": ["Where is my order?"],
                            "autonomy": "auto_send", "min_reviewed": 20},
           "refund_status": {"description": "Refund timing", "examples": ["When is my refund?"]},
           "password_reset": {"description": "Password", "examples": ["I cannot log in"]},
           "payment_dispute": {"description": "Disputes", "examples": ["I dispute this"], "risky": True}}


def epoch_of(config) -> dict[str, str]:
    from drafting import prompts
    from knowledge.epoch import knowledge_epoch
    return {"prompt_version": prompts.version(), "model": config.anthropic.model,
            "knowledge_snapshot": knowledge_epoch(config)}


@pytest.fixture
def seeded(make_config, tmp_path, console_env):
    config = make_config(intents=INTENTS, **{"console": {}})
    state = State(config.database_url)
    now = time.time()
    written = seed(state, ["zendesk"], tickets=300, days=60, now=now, epoch=epoch_of(config))
    app = create_app(config, enqueue=lambda _: None, state=state)
    return app, state, config, written


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, password: str = PASSWORD, next_url: str = ""):
    page = client.get("/console/login")
    return client.post("/console/login", data={"password": password, "csrf_token": csrf_token(page.text),
                                               "next": next_url})
