"""An end-to-end run on real processes (gunicorn, a Celery worker, Chroma on disk) with every secret given by
environment variable: once on Redis and PostgreSQL with their passwords in URLs from the environment, once on the
embedded broker and SQLite. Every log, every admin command's output, the audit export and every file under the
data folder are then searched for the secrets, and every file and folder there must be owner-only."""
from __future__ import annotations

import base64
import os
import signal
import socket
import stat
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.conftest import AGENT_EMAIL, ZENDESK_SECRET, ZENDESK_TOKEN
from tests.e2e.harness import ANTHROPIC_KEY, REPO, Stack, wait_for
from tests.test_state import drop_database, postgres_url

CUSTOMER, AGENT = 5001, 5002
BROKER_PASSWORD = f"broker-pw-{uuid.uuid4().hex[:12]}"
DB_PASSWORD = f"db-pw-{uuid.uuid4().hex[:12]}"


def _redis_up() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")


def _secrets() -> dict[str, str]:
    basic = base64.b64encode(f"{AGENT_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode()
    return {"broker password": BROKER_PASSWORD, "database password": DB_PASSWORD, "Zendesk API token": ZENDESK_TOKEN,
            "Zendesk signing secret": ZENDESK_SECRET, "Anthropic key": ANTHROPIC_KEY, "Zendesk basic auth": basic}


@pytest.fixture(params=["servers", "embedded"])
def stack(request, tmp_path, monkeypatch):
    # A long claim timeout: on a busy machine the test config's 5 s lets a sweep take over a slow first run.
    if request.param == "embedded":
        s = Stack(tmp_path, extra_config={"queue": {"claim_timeout_seconds": 120}})
        try:
            s.start()
            s.desk.add_people(CUSTOMER, AGENT)
            yield s
        finally:
            s.stop()
        return
    _redis_up()
    database = postgres_url()  # trust auth: the password is carried (and could leak) but not checked
    broker = f"redis://:{BROKER_PASSWORD}@127.0.0.1:6379/14"
    monkeypatch.setenv("DD_TEST_BROKER_URL", broker)
    monkeypatch.setenv("DD_TEST_STATE_URL", database.replace("postgres@", f"postgres:{DB_PASSWORD}@"))
    queue = {"broker_url_env": "DD_TEST_BROKER_URL", "claim_timeout_seconds": 120}
    s = Stack(tmp_path, extra_config={"queue": queue, "state": {"url_env": "DD_TEST_STATE_URL"}})
    try:
        s.start()
        s.desk.add_people(CUSTOMER, AGENT)
        yield s
    finally:
        s.stop()
        if hasattr(s, "state"):
            s.state.dispose()
        from kombu import Connection
        with Connection(broker) as conn:
            conn.default_channel.queue_delete(s.queue_name)
        drop_database(database)


def _run(stack: Stack, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "webhooks", *args], cwd=REPO, env=stack.env,
                          capture_output=True, text=True, timeout=120)
    return f"$ flask {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}"


def test_no_secret_in_any_log_output_export_or_file(stack, tmp_path):
    stack.desk.open_ticket(101, CUSTOMER, "Refund", "When will my refund arrive? I sent the item back.")
    assert stack.deliver(101, "delivery-101").status_code == 202
    wait_for(lambda: stack.notes(101), what="the note")
    wait_for(stack.inbox_settled, what="the inbox to settle")
    notes = stack.notes(101)
    assert len(notes) == 1 and notes[0].public is False
    # Refused and malformed requests log too.
    url = f"{stack.web_url}/webhooks/zendesk"
    assert httpx.post(url, content=b"{}", headers={"X-Zendesk-Webhook-Signature": "bad"}).status_code == 401
    os.killpg(stack.worker.pid, signal.SIGTERM)  # erase needs the embedded store the worker holds
    stack.worker.wait(30)

    export = tmp_path / "audit.jsonl"
    outputs = [_run(stack, "check-config"), _run(stack, "audit", "show", "zendesk", "101"),
               _run(stack, "audit", "export", "--out", str(export)), _run(stack, "inbox", "status"),
               _run(stack, "report"), _run(stack, "review", "sample"),
               _run(stack, "erase", "--ticket", "zendesk", "101")]
    if stack.config.state_url:
        assert "state: postgresql+psycopg://postgres:***@127.0.0.1" in outputs[0], outputs[0]
        assert "broker: redis://***@127.0.0.1:6379/14" in outputs[0]
    else:
        assert any(name.endswith("deskdraft.db") for name in os.listdir(tmp_path / "var"))
    assert "ticket_read" in outputs[1] and export.read_text().count("\n") >= 5
    assert "-> 0" in outputs[-1] and "removed 1 drafts rows" in outputs[-1], outputs[-1]

    searched = {"web log": (tmp_path / "web.log").read_bytes(), "worker log": stack.log_path.read_bytes(),
                "admin commands": "\n".join(outputs).encode(), "audit export": export.read_bytes()}
    data_dir = tmp_path / "var"
    for path in data_dir.rglob("*"):
        if path.is_file():
            searched[str(path.relative_to(tmp_path))] = path.read_bytes()
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is readable by others"
        else:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is open to others"
    assert any("chroma" in name for name in searched)  # the store's files were searched too
    assert b"Celery" in searched["worker log"] or b"celery" in searched["worker log"]
    leaks = [f"{what} in {where}" for what, secret in _secrets().items() for where, content in searched.items()
             if secret.encode() in content]
    assert leaks == []
