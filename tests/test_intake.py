"""Every request that is not a valid delivery gets a 4xx with a reason and enqueues nothing (issue #10, items 1-2),
and a database that cannot take the write answers a fast 503 with Retry-After (issue #18, #19)."""
from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest

from connectors.payload import path_segment
from tests.e2e.desks import SECRETS
from tests.fakes.freshdesk import freshdesk_webhook
from tests.fakes.intercom import intercom_notification
from tests.fakes.zendesk import sign_zendesk
from tests.intake_support import SIGNERS, now_stamp, three_desk_app

DESKS = ("zendesk", "intercom", "freshdesk")


@pytest.fixture
def intake(tmp_path):
    return three_desk_app(tmp_path / "var")


def valid_body(desk: str, ticket: str | int = "7", **kw) -> dict:
    if desk == "zendesk":
        return {"ticket_id": str(ticket), **kw}
    if desk == "intercom":
        return intercom_notification("conversation.user.replied", ticket, **kw)
    return freshdesk_webhook(ticket, **kw)


def send(client, desk: str, body: bytes, headers: dict | None = None):
    signed = SIGNERS[desk](body) if headers is None else headers
    return client.post(f"/webhooks/{desk}", data=body, headers={**signed, "Content-Type": "application/json"})


def assert_refused(response, code: int, queued: list, state, reason: str | None = None) -> None:
    assert response.status_code == code, response.get_data(as_text=True)[:300]
    assert response.json["error"], "a refusal says why"
    if reason:
        assert reason in response.json["error"]
    assert queued == [] and state.events() == []


@pytest.mark.parametrize("desk", DESKS)
def test_a_valid_delivery_is_still_accepted(intake, desk):
    client, queued, state = intake
    response = send(client, desk, json.dumps(valid_body(desk)).encode())
    assert response.status_code == 202 and len(queued) == 1 and state.events()[0].ticket_id == "7"


# --- signatures -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("desk, headers", [
    ("zendesk", {"X-Zendesk-Webhook-Signature": "\xe9\xff==", "X-Zendesk-Webhook-Signature-Timestamp": "now"}),
    ("zendesk", {"X-Zendesk-Webhook-Signature": "abc", "X-Zendesk-Webhook-Signature-Timestamp": "\xe9"}),
    ("zendesk", {"X-Zendesk-Webhook-Signature": "abc",
                 "X-Zendesk-Webhook-Signature-Timestamp": "0001-01-01T00:00-23:59"}),
    ("intercom", {"X-Hub-Signature": "sha1=\xe9\xe9\xff"}),
    ("freshdesk", {"X-Deskdraft-Secret": "\xe9\xff"}),
    ("freshdesk", {"Authorization": "Basic \xe9\xff"}),
])
def test_non_ascii_or_odd_signature_headers_are_401_not_500(intake, desk, headers):
    client, queued, state = intake
    body = json.dumps(valid_body(desk)).encode()
    assert_refused(send(client, desk, body, headers), 401, queued, state, "signature")


def test_non_ascii_zendesk_signature_is_refused_with_a_valid_timestamp(intake):
    client, queued, state = intake
    body = json.dumps(valid_body("zendesk")).encode()
    headers = {**SIGNERS["zendesk"](body), "X-Zendesk-Webhook-Signature": "\xe9" * 44}
    assert_refused(send(client, "zendesk", body, headers), 401, queued, state)


# --- bodies that are signed but malformed -----------------------------------------------------------------
NASTY_BODIES = {
    "nested 100,000 deep": b'{"ticket_id": "7", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested 40 deep": b'{"ticket_id": "7", "x": ' + b"[" * 40 + b"]" * 40 + b"}",
    "a 5,000-digit integer": b'{"ticket_id": ' + b"9" * 5000 + b"}",
    "NaN": b'{"ticket_id": NaN}',
    "a lone surrogate": b'{"ticket_id": "\\ud800"}',
    "not UTF-8": b'{"ticket_id": "\xff"}',
}


@pytest.mark.parametrize("desk", DESKS)
@pytest.mark.parametrize("what", sorted(NASTY_BODIES))
def test_signed_malformed_bodies_are_400(intake, desk, what):
    client, queued, state = intake
    assert_refused(send(client, desk, NASTY_BODIES[what]), 400, queued, state)


@pytest.mark.parametrize("desk", DESKS)
def test_a_huge_integer_id_is_400(intake, desk):
    client, queued, state = intake
    body = valid_body(desk)
    if desk == "intercom":
        body["data"]["item"]["id"] = 10 ** 30  # a JSON number past 64 bits (orjson reads it as a float)
    else:
        body = valid_body(desk, ticket=10 ** 30)
    assert_refused(send(client, desk, json.dumps(body).encode()), 400, queued, state)


# --- ids --------------------------------------------------------------------------------------------------
BAD_IDS = {
    "path traversal": "../../admins",
    "Arabic-Indic digits": "\u0661\u0662\u0663",
    "fullwidth digits": "\uff17",
    "a NUL byte": "7\x00",
    "65 digits": "1" * 65,
    "a slash": "7/notes",
    "a query": "7?x=1",
    "empty after trim": " ",
    "a boolean": True,
    "an object": {"id": 7},
}


@pytest.mark.parametrize("desk", DESKS)
@pytest.mark.parametrize("what", sorted(BAD_IDS))
def test_ids_outside_the_helpdesks_formats_are_400(intake, desk, what):
    client, queued, state = intake
    body = valid_body(desk)
    if desk == "zendesk":
        body["ticket_id"] = BAD_IDS[what]
    elif desk == "intercom":
        body["data"]["item"]["id"] = BAD_IDS[what]
    else:
        body["freshdesk_webhook"]["ticket_id"] = BAD_IDS[what]
    assert_refused(send(client, desk, json.dumps(body).encode()), 400, queued, state)


@pytest.mark.parametrize("bad", ["notif\x00", "x" * 200, "../x", "\u0661"])
def test_delivery_ids_the_database_cannot_hold_are_400(intake, bad):
    client, queued, state = intake
    zendesk_event = {"type": "zen:event-type:ticket.created", "id": bad, "detail": {"id": "7"}}
    assert_refused(send(client, "zendesk", json.dumps(zendesk_event).encode()), 400, queued, state)
    body = valid_body("intercom", notification_id=bad)
    assert_refused(send(client, "intercom", json.dumps(body).encode()), 400, queued, state)


def test_intercom_ids_as_their_api_spells_them_are_accepted(intake):
    client, _queued, state = intake
    for conversation in ("21330067382", "conv_123"):
        assert send(client, "intercom", json.dumps(valid_body("intercom", conversation)).encode()).status_code == 202
    assert sorted(e.ticket_id for e in state.events()) == ["21330067382", "conv_123"]


def test_ids_are_quoted_when_they_go_into_a_path():
    assert path_segment("../../admins") == "..%2F..%2Fadmins"
    assert path_segment("7?x=1#y") == "7%3Fx%3D1%23y"
    assert path_segment("21330067382") == "21330067382"


def test_a_connector_never_leaves_its_path_even_with_an_unchecked_id(tmp_path):
    """Defence in depth: the edge refuses such ids, and a connector given one still stays under /conversations/."""
    from flask import Flask, request

    from connectors import build_connectors
    from deskdraft.settings import parse_config
    from tests.conftest import config_text
    from tests.fakes.server import serve
    from tests.intake_support import ACCOUNTS

    seen: list[str] = []
    app = Flask("recorder")

    @app.route("/<path:anything>", methods=["GET", "POST", "PUT"])
    def record(anything):
        seen.append(request.environ.get("RAW_URI", request.full_path))
        return {"type": "error.list"}, 404

    server = serve(app)
    try:
        os.environ.update(SECRETS)
        accounts = {name: {**acct, "base_url": server.url, "max_attempts": 1} for name, acct in ACCOUNTS.items()}
        config = parse_config(config_text(tmp_path, only_helpdesks=accounts), "t.yaml")
        connectors = build_connectors(config)
        for connector in connectors.values():
            assert connector.fetch_ticket("../../admins") is None  # 404 from the recorder
    finally:
        server.stop()
    assert len(seen) == 3, seen
    assert all("..%2F..%2Fadmins" in path and "/../" not in path for path in seen), seen


# --- size ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("desk", DESKS)
def test_a_chunked_body_over_the_limit_is_413_not_cut(intake, desk):
    client, queued, state = intake
    body = json.dumps({**valid_body(desk), "pad": "x" * 1_100_000}).encode()
    import io
    response = client.post(f"/webhooks/{desk}", input_stream=io.BytesIO(body),
                           headers={**SIGNERS[desk](body[:1_048_576]), "Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert_refused(response, 413, queued, state)


def test_a_chunked_body_under_the_limit_is_read_whole(intake):
    import io
    client, queued, _state = intake
    body = json.dumps({**valid_body("zendesk"), "pad": "x" * 200_000}).encode()
    response = client.post("/webhooks/zendesk", input_stream=io.BytesIO(body),
                           headers={**SIGNERS["zendesk"](body), "Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 202 and len(queued) == 1


# --- replays ------------------------------------------------------------------------------------------------
def test_a_replayed_zendesk_delivery_with_new_invocation_ids_is_one_event(intake):
    client, queued, state = intake
    body, stamp = b'{"ticket_id": "7"}', now_stamp()
    answers = [send(client, "zendesk", body, sign_zendesk(SECRETS["TEST_ZENDESK_SECRET"], body, stamp,
                                                          invocation_id=f"forged-{n}")).json["status"]
               for n in range(5)]
    assert answers == ["queued"] + ["duplicate"] * 4
    assert len(state.events()) == 1 and len(queued) == 1


@pytest.mark.parametrize("desk", ["intercom", "freshdesk"])
def test_a_replayed_delivery_is_one_event(intake, desk):
    client, queued, _state = intake
    body = json.dumps(valid_body(desk)).encode()
    answers = [send(client, desk, body).json["status"] for _ in range(3)]
    assert answers == ["queued", "duplicate", "duplicate"] and len(queued) == 1


# --- the database cannot take the write ---------------------------------------------------------------------
def test_a_locked_database_answers_503_with_retry_after_fast_and_the_retry_is_recorded(intake, tmp_path):
    client, queued, state = intake
    body = json.dumps(valid_body("zendesk")).encode()
    headers = SIGNERS["zendesk"](body)
    locker = sqlite3.connect(tmp_path / "var" / "deskdraft.db", timeout=0)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        response = send(client, "zendesk", body, headers)
        took = time.monotonic() - started
    finally:
        locker.rollback()
        locker.close()
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert took < 3.0, f"503 after {took:.1f}s"
    assert queued == []
    again = send(client, "zendesk", body, headers)  # the helpdesk's retry, same signed delivery
    assert again.status_code == 202 and len(state.events()) == 1 and len(queued) == 1


def test_a_database_that_refuses_writes_answers_503(intake):
    """As a full disk or a read-only volume: the write fails at once, the helpdesk is told to retry."""
    from sqlalchemy import event

    client, queued, state = intake
    event.listen(state.engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only=ON"))
    state.engine.dispose()
    response = send(client, "intercom", json.dumps(valid_body("intercom")).encode())
    assert response.status_code == 503 and response.headers["Retry-After"] == "30" and queued == []
    assert "again" in response.json["error"]


def test_a_paused_postgresql_answers_503_within_the_bound_and_the_retry_is_recorded(tmp_path):
    """A paused server accepts and ACKs but never answers: no socket timeout fires, the deadline on the wait does."""
    from tests.freezable_proxy import FreezableProxy
    from tests.test_state import drop_database, postgres_url

    url = postgres_url()  # skips without a local PostgreSQL (required in CI)
    proxy = FreezableProxy(("127.0.0.1", 5432))
    state = None
    try:
        client, _queued, state = three_desk_app(tmp_path / "var", url.replace(":5432/", f":{proxy.port}/"))
        assert send(client, "zendesk", json.dumps(valid_body("zendesk", 7)).encode()).status_code == 202
        body = json.dumps(valid_body("zendesk", 8)).encode()
        headers = SIGNERS["zendesk"](body)
        proxy.freeze()
        started = time.monotonic()
        response = send(client, "zendesk", body, headers)
        took = time.monotonic() - started
        assert response.status_code == 503 and response.headers["Retry-After"] == "30", response.json
        assert took < 3.5, f"503 after {took:.1f}s"
        proxy.thaw()
        again = send(client, "zendesk", body, headers)  # the helpdesk's retry; the paused write may have landed
        assert again.status_code in (200, 202), again.json
        assert sorted(e.ticket_id for e in state.events()) == ["7", "8"]
    finally:
        proxy.thaw()
        if state is not None:
            state.dispose()
        proxy.close()
        drop_database(url)


def test_on_postgresql_values_it_cannot_store_are_refused_at_the_edge_and_never_500(tmp_path):
    from deskdraft.state import ValueNotStorable
    from tests.test_state import drop_database, postgres_url

    url = postgres_url()
    state = None
    try:
        client, queued, state = three_desk_app(tmp_path / "var", url)
        for bad in ("7\x00", "1" * 65):
            body = json.dumps(valid_body("zendesk", bad)).encode()
            assert_refused(send(client, "zendesk", body), 400, queued, state)
        event = valid_body("intercom", notification_id="notif_" + "a" * 300)
        assert_refused(send(client, "intercom", json.dumps(event).encode()), 400, queued, state)
        # Behind the edge, the database's own refusal is a typed error (a 400 in webhooks.py), not a 500.
        with pytest.raises(ValueNotStorable):
            state.record_event("zendesk", "e" * 201, "7", "ticket.updated")
        with pytest.raises(ValueNotStorable):
            state.record_event("zendesk", "e-1", "7\x00", "ticket.updated")
    finally:
        if state is not None:
            state.dispose()
        drop_database(url)
