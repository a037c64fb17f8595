"""URLs that can carry a password come from the environment, and every output shows them masked."""
from __future__ import annotations

import base64

import pytest
from flask import Flask

from deskdraft.commands import cli
from deskdraft.settings import ConfigError, mask_url
from knowledge.store import _server_address
from tests.conftest import config_text

PASSWORD = "pw-9f3Kq7Zx"


@pytest.mark.parametrize("url, shown", [
    (f"amqp://deskdraft:{PASSWORD}@rabbit:5672//", "amqp://deskdraft:***@rabbit:5672//"),
    (f"redis://:{PASSWORD}@cache:6379/0", "redis://***@cache:6379/0"),
    (f"rediss://default:{PASSWORD}@cache:6380/0", "rediss://default:***@cache:6380/0"),
    (f"postgresql+psycopg://app:{PASSWORD}@db:5432/deskdraft", "postgresql+psycopg://app:***@db:5432/deskdraft"),
    (f"https://{PASSWORD}@chroma.internal", "https://***@chroma.internal"),  # a token as the user is a secret too
    ("postgresql+psycopg://app@db/deskdraft", "postgresql+psycopg://***@db/deskdraft"),
    ("http://chroma:8000", "http://chroma:8000"),
    (f"http://[::1:{PASSWORD}@x", "***"),  # unparseable: nothing of it is shown
    (None, None),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_check_config_reads_urls_from_the_environment_and_masks_them(tmp_path, monkeypatch, secrets):
    monkeypatch.setenv("DD_BROKER_URL", f"amqp://deskdraft:{PASSWORD}@rabbit:5672//")
    monkeypatch.setenv("DD_STATE_URL", f"postgresql+psycopg://app:{PASSWORD}@db:5432/deskdraft")
    monkeypatch.setenv("DD_CHROMA_URL", f"https://reader:{PASSWORD}@chroma.internal")
    path = tmp_path / "config.yaml"
    path.write_text(config_text(tmp_path / "var", queue={"broker_url_env": "DD_BROKER_URL"},
                                state={"url_env": "DD_STATE_URL"}, knowledge={"url_env": "DD_CHROMA_URL"}))
    monkeypatch.setenv("DESKDRAFT_CONFIG", str(path))
    app = Flask(__name__)
    cli.register(app)
    result = app.test_cli_runner().invoke(args=["check-config"])
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert "state: postgresql+psycopg://app:***@db:5432/deskdraft" in result.output
    assert "broker: amqp://deskdraft:***@rabbit:5672//" in result.output
    assert "knowledge: https://reader:***@chroma.internal" in result.output
    assert "kept: inbox 30 days, audit 365" in result.output


def test_a_url_env_must_be_set_hold_a_url_and_not_be_doubled(make_config, monkeypatch):
    with pytest.raises(ConfigError, match=r"queue\.broker_url_env: environment variable DD_UNSET is not set"):
        make_config(queue={"broker_url_env": "DD_UNSET"})
    monkeypatch.setenv("DD_STATE_URL", f"mysql://root:{PASSWORD}@db/x")
    with pytest.raises(ConfigError, match="DD_STATE_URL does not hold a URL of a supported kind") as error:
        make_config(state={"url_env": "DD_STATE_URL"})
    assert PASSWORD not in str(error.value)  # the variable is named; what it holds is never echoed
    with pytest.raises(ConfigError, match="give url or url_env, not both"):
        make_config(state={"url_env": "DD_STATE_URL", "url": "sqlite:///x.db"})
    with pytest.raises(ConfigError, match="must name an environment variable"):
        make_config(knowledge={"url_env": "https://chroma"})


def test_the_config_repr_never_shows_a_url_password(make_config, monkeypatch):
    monkeypatch.setenv("DD_BROKER_URL", f"redis://:{PASSWORD}@cache:6379/0")
    monkeypatch.setenv("DD_STATE_URL", f"postgresql+psycopg://app:{PASSWORD}@db:5432/deskdraft")
    config = make_config(queue={"broker_url_env": "DD_BROKER_URL"}, state={"url_env": "DD_STATE_URL"})
    assert config.queue.broker_url.endswith("@cache:6379/0") and PASSWORD in config.database_url
    assert PASSWORD not in repr(config) and PASSWORD not in str(config.queue)


def test_chroma_credentials_in_the_url_become_basic_auth_and_never_an_error_message():
    address = _server_address(f"https://reader:{PASSWORD}@chroma.internal")
    assert address["host"] == "chroma.internal" and address["port"] == 443 and address["ssl"] is True
    assert address["headers"]["Authorization"] == "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    with pytest.raises(ValueError) as error:
        _server_address(f"ftp://reader:{PASSWORD}@chroma.internal")
    assert PASSWORD not in str(error.value) and "reader:***@" in str(error.value)


def test_a_chroma_server_receives_the_urls_credentials_as_basic_auth(monkeypatch, secrets, tmp_path):
    from flask import request

    from knowledge.store import open_store
    from tests.fakes.server import serve

    seen: list[str | None] = []
    chroma = Flask(__name__)

    @chroma.route("/<path:anything>", methods=["GET", "POST"])
    def refuse(anything: str):
        seen.append(request.headers.get("Authorization"))
        return {"error": "Unauthorized", "message": "bad credentials"}, 401

    server = serve(chroma)
    try:
        url = server.url.replace("http://", f"http://reader:{PASSWORD}@")
        with pytest.raises(Exception) as error:
            open_store(None, url, "deskdraft-kb", "hash")
    finally:
        server.stop()
    assert seen and set(seen) == {"Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()}
    assert PASSWORD not in str(error.value)
