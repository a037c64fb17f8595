"""Every Zendesk payload in fixtures/zendesk/zulip-webhooks is drafted for or turned away with a stated reason."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import Ignored, MalformedPayload, TicketEvent
from connectors.zendesk import ZendeskConnector
from tests.conftest import FIXTURES, ZENDESK_SECRET
from tests.fakes.zendesk import sign_zendesk, zendesk_event

ZULIP = FIXTURES / "zendesk" / "zulip-webhooks"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

# Zulip's trigger templates: a body with ticket_id is a "ticket changed" signal; one without cannot be used.
EXPECTED = {
    "ticket_create_update.json": ("7", None),
    "message_with_ticket_id_and_title.json": ("7", None),
    "message_with_long_topic_name.json": ("7", None),
    "screenshot_example.json": ("739", None),
    "ticket_user_provided_message.json": (None, "missing field: `ticket_id`"),
    "ticket_user_provided_message_and_topic.json": (None, "missing field: `ticket_id`"),
}


@pytest.fixture
def connector(make_config) -> ZendeskConnector:
    config = make_config()
    return ZendeskConnector(config.helpdesks["zendesk"], config.webhooks, clock=NOW.timestamp)


def test_every_zulip_fixture_is_covered():
    assert sorted(p.name for p in ZULIP.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_trigger_fixture(connector, name):
    body = (ZULIP / name).read_bytes()
    ticket_id, error = EXPECTED[name]
    headers = {"X-Zendesk-Webhook-Invocation-Id": f"inv-{name}",
               "X-Zendesk-Webhook-Signature-Timestamp": "2026-11-22T12:00:00Z"}
    if error:
        with pytest.raises(MalformedPayload, match=error.replace("`", ".")):
            connector.parse_webhook(headers, body, json.loads(body))
        return
    event = connector.parse_webhook(headers, body, json.loads(body))
    assert (event.account, event.ticket_id, event.kind) == ("zendesk", ticket_id, "ticket.updated")
    assert event.event_id.startswith("sha256:")


def test_trigger_dedupe_key_is_the_signed_material_not_the_invocation_header(connector):
    body = (ZULIP / "ticket_create_update.json").read_bytes()
    stamp = {"X-Zendesk-Webhook-Signature-Timestamp": "2026-11-22T12:00:00Z"}
    first = connector.parse_webhook({**stamp, "X-Zendesk-Webhook-Invocation-Id": "1"}, body, json.loads(body))
    replay = connector.parse_webhook({**stamp, "X-Zendesk-Webhook-Invocation-Id": "2"}, body, json.loads(body))
    assert first.event_id == replay.event_id and first.event_id.startswith("sha256:")
    later = connector.parse_webhook({"X-Zendesk-Webhook-Signature-Timestamp": "2026-11-22T12:00:01Z"}, body,
                                    json.loads(body))
    assert later.event_id != first.event_id  # a new invocation is signed with a new timestamp


def test_non_numeric_ticket_id_is_malformed(connector):
    payload = {"ticket_id": "{{ticket.id}}"}
    with pytest.raises(MalformedPayload, match="ticket number"):
        connector.parse_webhook({}, json.dumps(payload).encode(), payload)


@pytest.mark.parametrize("kwargs, expected", [
    ({"type": "zen:event-type:ticket.created"}, "ticket.created"),
    ({"type": "zen:event-type:ticket.comment_added"}, "customer.replied"),
    ({"type": "zen:event-type:ticket.comment_added", "author_is_staff": True}, "staff"),
    ({"type": "zen:event-type:ticket.comment_added", "is_public": False}, "private comment"),
    ({"type": "zen:event-type:ticket.status_changed"}, "not one we draft for"),
    ({"type": "zen:event-type:user.active_changed"}, "not one we draft for"),
])
def test_event_webhooks(connector, kwargs, expected):
    payload = zendesk_event(42, event_id="evt-1", **kwargs)
    result = connector.parse_webhook({}, json.dumps(payload).encode(), payload)
    if isinstance(result, TicketEvent):
        assert (result.kind, result.ticket_id, result.event_id) == (expected, "42", "evt-1")
    else:
        assert isinstance(result, Ignored) and expected in result.reason


def test_event_without_ticket_id_is_malformed(connector):
    payload = zendesk_event(42, type="zen:event-type:ticket.created")
    payload["detail"].pop("id")
    with pytest.raises(MalformedPayload, match=r"detail\.id"):
        connector.parse_webhook({}, b"{}", payload)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_signature_accepts_zendesk_scheme(connector):
    body = b'{"ticket_id": "7"}'
    assert connector.verify_webhook(sign_zendesk(ZENDESK_SECRET, body, _stamp(NOW)), body)


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "replayed", "future", "no_headers", "garbage_time"])
def test_signature_rejections(connector, case):
    body = b'{"ticket_id": "7"}'
    secret, when, sent = ZENDESK_SECRET, NOW, body
    if case == "tampered":
        sent = b'{"ticket_id": "8"}'
    if case == "wrong_secret":
        secret = "not-the-secret"
    if case == "replayed":
        when = NOW - timedelta(minutes=6)
    if case == "future":
        when = NOW + timedelta(minutes=6)
    headers = sign_zendesk(secret, body, _stamp(when))
    if case == "no_headers":
        headers = {}
    if case == "garbage_time":
        headers = sign_zendesk(secret, body, "yesterday")
    assert not connector.verify_webhook(headers, sent)


def test_no_secret_configured_rejects_everything(make_config, monkeypatch):
    config = make_config()
    monkeypatch.delenv("TEST_ZENDESK_SECRET")
    connector = ZendeskConnector(config.helpdesks["zendesk"], config.webhooks, clock=NOW.timestamp)
    body = b"{}"
    assert not connector.verify_webhook(sign_zendesk("", body, _stamp(NOW)), body)
