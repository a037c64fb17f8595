"""The webhook server as scripts/run starts it (gunicorn + gunicorn.conf.py): slow clients do not stall it, a chunked
body over the limit is refused, and the access log never shows the basic-auth user (issue #10, item 3)."""
from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.conftest import config_text
from tests.e2e.desks import SECRETS
from tests.e2e.harness import REPO, free_port, wait_for
from tests.fakes.zendesk import sign_zendesk
from tests.intake_support import ACCOUNTS, now_stamp

SLOW_CLIENTS = 50


@pytest.fixture
def web(tmp_path):
    """gunicorn with the production config file (2 gthread workers), all three helpdesks, embedded broker."""
    accounts = {**ACCOUNTS, "freshdesk": {**ACCOUNTS["freshdesk"], "webhook_auth": "basic"}}
    config = tmp_path / "config.yaml"
    config.write_text(config_text(tmp_path / "var", only_helpdesks=accounts,
                                  queue={"name": f"web-{os.getpid()}-{time.monotonic_ns()}"}))
    port = free_port()
    env = {**os.environ, **SECRETS, "DESKDRAFT_CONFIG": str(config)}
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    with access.open("w") as access_log, errors.open("w") as error_log:  # the child keeps its own copies
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
                                 "--bind", f"127.0.0.1:{port}", "webhooks:create_app()"],
                                cwd=REPO, env=env, stdout=access_log, stderr=error_log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            # Up; degraded (503) is fine: there is no worker in this test.
            return httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 503)
        except httpx.HTTPError:
            return proc.poll() is not None

    try:
        wait_for(up, 60, "gunicorn")
        assert proc.poll() is None, errors.read_text()[-2000:]
        yield url, port, access, errors
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def zendesk_delivery(ticket: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ticket_id": str(ticket)}).encode()
    return body, {**sign_zendesk(SECRETS["TEST_ZENDESK_SECRET"], body, now_stamp()),
                  "Content-Type": "application/json"}


def test_valid_deliveries_answer_in_under_a_second_while_50_slow_clients_hold_connections(web):
    url, port, _, errors = web
    stop = threading.Event()
    sockets: list[socket.socket] = []
    for n in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if n % 2:  # headers trickled a byte at a time
            sock.sendall(b"POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:  # headers sent, a body announced and trickled
            sock.sendall(b"POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n{")
        sockets.append(sock)

    def trickle() -> None:
        while not stop.wait(0.5):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"a")

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(6)  # past gthread's 5 s wait for first data: every slow client now holds a thread
        took = []
        for ticket in range(1, 21):
            body, headers = zendesk_delivery(ticket)
            started = time.monotonic()
            response = httpx.post(f"{url}/webhooks/zendesk", content=body, headers=headers, timeout=10)
            took.append(time.monotonic() - started)
            assert response.status_code == 202, response.text
        assert max(took) < 1.0, f"slowest valid delivery {max(took):.2f}s with {SLOW_CLIENTS} slow clients"
        alive = 0
        for sock in sockets:  # the slow clients were held, not just dropped
            try:
                sock.sendall(b"a")
                alive += 1
            except OSError:
                pass
        assert alive >= SLOW_CLIENTS * 0.9, f"only {alive} slow connections still open"
    finally:
        stop.set()
        trickler.join(5)
        for sock in sockets:
            sock.close()
    assert "WORKER TIMEOUT" not in errors.read_text()


def test_a_chunked_body_over_the_limit_is_413_through_gunicorn(web):
    url, _, access, _ = web
    db = access.parent / "var" / "deskdraft.db"
    body, headers = zendesk_delivery(7)
    padded = body[:-1] + b', "pad": "' + b"x" * 1_100_000 + b'"}'

    def chunks():
        for start in range(0, len(padded), 65536):
            yield padded[start:start + 65536]

    try:
        response = httpx.post(f"{url}/webhooks/zendesk", content=chunks(), headers=headers, timeout=10)
        assert response.status_code == 413, response.text
    except httpx.HTTPError:  # the server may close before the client has sent it all: then it never saw a 202
        pass
    from deskdraft.state import State
    tickets = [e.ticket_id for e in State(f"sqlite:///{db}").events()]
    assert "7" not in tickets  # a cut body was never recorded as a delivery
    small = json.dumps({"ticket_id": "8"}).encode()  # and a chunked body under the limit is read whole
    response = httpx.post(f"{url}/webhooks/zendesk", content=iter([small[:5], small[5:]]),
                          headers={**sign_zendesk(SECRETS["TEST_ZENDESK_SECRET"], small, now_stamp()),
                                   "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 202


def test_the_access_log_never_shows_the_basic_auth_user(web):
    url, _, access, errors = web
    secret = SECRETS["TEST_FRESHDESK_SECRET"]
    body = json.dumps({"freshdesk_webhook": {"ticket_id": "5", "triggered_event": "{reply_sent:sent}",
                                             "updated_at": "t1"}}).encode()
    token = base64.b64encode(f"{secret}:X".encode()).decode()  # the secret as the user name
    response = httpx.post(f"{url}/webhooks/freshdesk?key=query-secret", content=body,
                          headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 202
    wait_for(lambda: "/webhooks/freshdesk" in access.read_text(), 10, "the access log line")
    logs = access.read_text() + errors.read_text()
    assert secret not in logs and "query-secret" not in logs
