"""connectors/http.send: the one retry policy for helpdesk calls, exercised over real HTTP."""
from __future__ import annotations

import httpx
import pytest
from flask import Flask, jsonify

from connectors.http import PermanentHelpdeskError, TransientHelpdeskError, send
from tests.fakes.server import serve


@pytest.fixture
def server():
    app = Flask("flaky")
    script: list[int | tuple[int, str]] = []  # status, or (status, Retry-After)
    hits: list[str] = []

    @app.route("/thing", methods=["GET", "POST", "PUT"])
    def thing():
        hits.append("x")
        step = script.pop(0) if script else 200
        status, wait = step if isinstance(step, tuple) else (step, "0")
        headers = {"Retry-After": wait} if status in (429, 503) else {}
        return jsonify(status=status), status, headers

    with serve(app) as srv:
        yield httpx.Client(base_url=srv.url, timeout=5), script, hits


@pytest.mark.parametrize("statuses", [[429], [503, 503], [500], [502]])
def test_reads_retry_transient_failures(server, statuses):
    client, script, hits = server
    script.extend(statuses)
    assert send(client, "GET", "/thing").status_code == 200
    assert len(hits) == len(statuses) + 1


def test_permanent_errors_are_not_retried(server):
    client, script, hits = server
    script.append(404)
    with pytest.raises(PermanentHelpdeskError) as err:
        send(client, "GET", "/thing")
    assert err.value.status == 404 and len(hits) == 1 and "404" in str(err.value)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_writes_resend_only_when_surely_not_processed(server, method):
    client, script, hits = server
    script.append(429)
    assert send(client, method, "/thing").status_code == 200 and len(hits) == 2
    hits.clear()
    script.append(500)  # the comment may exist now: the task re-reads the ticket instead of resending
    with pytest.raises(TransientHelpdeskError):
        send(client, method, "/thing")
    assert len(hits) == 1


def test_gives_up_after_the_attempts(server):
    client, script, hits = server
    script.extend([503] * 5)
    with pytest.raises(TransientHelpdeskError) as err:
        send(client, "GET", "/thing", attempts=3)
    assert err.value.status == 503 and len(hits) == 3


def test_long_retry_after_goes_back_to_the_queue(server):
    client, script, hits = server
    script.append((429, "3600"))  # not slept in a worker thread: the Celery retry waits that long
    with pytest.raises(TransientHelpdeskError) as err:
        send(client, "GET", "/thing")
    assert err.value.retry_after == 3600 and len(hits) == 1


def test_connection_refused_is_transient():
    client = httpx.Client(base_url="http://127.0.0.1:9", timeout=1)
    with pytest.raises(TransientHelpdeskError):
        send(client, "POST", "/thing", attempts=2)
