"""Every Intercom delivery in fixtures/intercom/zulip-webhooks is drafted for or turned away with a stated reason."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from connectors.base import Ignored, MalformedPayload, TicketEvent
from connectors.intercom import IntercomConnector
from tests.conftest import FIXTURES
from tests.fakes.intercom import intercom_notification, sign_intercom

ZULIP = FIXTURES / "intercom" / "zulip-webhooks"
SECRET = "intercom-client-secret"

# file → (kind, conversation id, notification id) for drafts
DRAFTED = {
    "conversation_user_created.json": ("ticket.created", "21321941764", "notif_3ac27816-d27c-45fd-a65a-bbaf021cf780"),
    "conversation_user_replied.json": ("customer.replied", "21322009097", "notif_2c71fff0-65ef-46be-bbfe-dbf637bbff15"),
}
# file → words the Ignored reason must contain: the topic's name, and why
IGNORED = {
    "ping.json": ("'ping'", "connectivity check"),
    "article_published.json": ("'article.published'", "help center"),
    "conversation_admin_assigned.json": ("'conversation.admin.assigned'", "teammate"),
    "conversation_admin_closed.json": ("'conversation.admin.closed'", "teammate"),
    "conversation_admin_noted.json": ("'conversation.admin.noted'", "our own note"),
    "conversation_admin_replied.json": ("'conversation.admin.replied'", "teammate"),
    "conversation_operator_replied.json": ("'conversation.operator.replied'", "Fin"),
    "conversation_part_tag_created.json": ("'conversation_part.tag.created'", "tagged"),
    "ticket_note_created.json": ("'ticket.note.created'", "tickets are not drafted for"),
}


@pytest.fixture
def connector(make_config, monkeypatch) -> IntercomConnector:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", "tok")
    monkeypatch.setenv("TEST_INTERCOM_SECRET", SECRET)
    config = make_config(helpdesks={"intercom": {
        "type": "intercom", "admin_id": "991", "api_token_env": "TEST_INTERCOM_TOKEN",
        "webhook_secret_env": "TEST_INTERCOM_SECRET"}})
    return IntercomConnector(config.helpdesks["intercom"], config.webhooks)


def test_every_zulip_fixture_is_covered():
    assert sorted(p.name for p in ZULIP.glob("*.json")) == sorted({**DRAFTED, **IGNORED})


@pytest.mark.parametrize("name", sorted({**DRAFTED, **IGNORED}))
def test_fixture(connector, name):
    body = (ZULIP / name).read_bytes()
    assert connector.verify_webhook(sign_intercom(SECRET, body), body)
    result = connector.parse_webhook({}, body, json.loads(body))
    if name in DRAFTED:
        kind, conversation_id, notification_id = DRAFTED[name]
        assert result == TicketEvent("intercom", notification_id, conversation_id, kind)
    else:
        assert isinstance(result, Ignored)
        for words in IGNORED[name]:
            assert words in result.reason


@pytest.mark.parametrize("topic, author_type, expected", [
    ("conversation.user.created", "lead", "ticket.created"),
    ("conversation.user.replied", "user", "customer.replied"),
    ("conversation.user.replied", "lead", "customer.replied"),
    ("conversation.user.replied", "bot", "part by 'bot'"),  # the topic says user; the part says otherwise
    ("conversation.admin.replied", "admin", "teammate"),
    ("conversation.admin.noted", "admin", "teammate"),
    ("conversation.admin.single.created", "admin", "teammate"),
    ("conversation.operator.replied", "bot", "Fin"),
    ("conversation.priority.updated", "admin", "not a customer message"),
    ("contact.lead.created", "lead", "contact record"),
    ("some.topic.from.the.future", "user", "not one we draft for"),
])
def test_topics(connector, topic, author_type, expected):
    payload = intercom_notification(topic, 215472621202693, notification_id="notif_1", author_type=author_type)
    result = connector.parse_webhook({}, json.dumps(payload).encode(), payload)
    if isinstance(result, TicketEvent):
        assert result == TicketEvent("intercom", "notif_1", "215472621202693", expected)
    else:
        assert isinstance(result, Ignored) and expected in result.reason and repr(topic) in result.reason


def test_generated_ping_is_ignored(connector):
    payload = intercom_notification("ping", 0)
    assert connector.parse_webhook({}, b"{}", payload) == Ignored(
        "Intercom topic 'ping': a connectivity check from Intercom")


@pytest.mark.parametrize("mangle, error", [
    (lambda p: p.pop("topic"), "missing field: `topic`"),
    (lambda p: p.update(topic=""), "missing field: `topic`"),
    (lambda p: p.pop("data"), "data.item.id"),
    (lambda p: p["data"].update(item=None), "data.item.id"),
    (lambda p: p["data"]["item"].pop("id"), "data.item.id"),
    (lambda p: p["data"]["item"].pop("id") and p.update(topic="conversation.admin.noted"), "data.item.id"),
    (lambda p: p.update(id=None), "notification `id`"),
])
def test_malformed(connector, mangle, error):
    payload = intercom_notification("conversation.user.replied", 42)
    mangle(payload)
    with pytest.raises(MalformedPayload, match=error.replace("`", ".")):
        connector.parse_webhook({}, json.dumps(payload).encode(), payload)


@pytest.mark.parametrize("payload", [[], "topic", 7])
def test_a_body_that_is_not_an_object_is_malformed(connector, payload):
    with pytest.raises(MalformedPayload):
        connector.parse_webhook({}, json.dumps(payload).encode(), payload)


# --- signatures: X-Hub-Signature = sha1=<hex HMAC-SHA1(client secret, raw body)>; no timestamp exists -----------

def test_signature_accepts_intercom_scheme(connector):
    body = json.dumps(intercom_notification("conversation.user.replied", 42)).encode()
    headers = sign_intercom(SECRET, body)
    assert headers["X-Hub-Signature"].startswith("sha1=") and len(headers["X-Hub-Signature"]) == 45
    assert connector.verify_webhook(headers, body)


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "missing_header", "sha256_prefix", "no_prefix",
                                  "empty_digest", "truncated_digest"])
def test_signature_rejections(connector, case):
    body = b'{"topic": "conversation.user.replied", "data": {"item": {"id": "42"}}}'
    headers, sent = sign_intercom(SECRET, body), body
    digest = headers["X-Hub-Signature"][len("sha1="):]
    if case == "tampered":
        sent = body.replace(b"42", b"43")
    if case == "wrong_secret":
        headers = sign_intercom("not-the-secret", body)
    if case == "missing_header":
        headers = {}
    if case == "sha256_prefix":  # same key, another algorithm: must not be accepted by prefix alone
        headers = {"X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    if case == "no_prefix":
        headers = {"X-Hub-Signature": digest}
    if case == "empty_digest":
        headers = {"X-Hub-Signature": "sha1="}
    if case == "truncated_digest":
        headers = {"X-Hub-Signature": "sha1=" + digest[:20]}
    assert not connector.verify_webhook(headers, sent)


def test_header_name_is_case_insensitive_even_in_a_plain_dict(connector):
    body = b"{}"
    assert connector.verify_webhook({"x-hub-signature": sign_intercom(SECRET, body)["X-Hub-Signature"]}, body)


def test_no_secret_configured_rejects_everything(connector, monkeypatch):
    monkeypatch.delenv("TEST_INTERCOM_SECRET")
    body = b"{}"
    assert not connector.verify_webhook(sign_intercom("", body), body)


def test_a_replayed_delivery_verifies_again_so_dedupe_is_by_notification_id(connector):
    # Intercom sends no timestamp: the same signed body is valid forever, and parses to the same event_id,
    # which is what the inbox dedupes on.
    body = (ZULIP / "conversation_user_replied.json").read_bytes()
    headers = sign_intercom(SECRET, body)
    first = connector.parse_webhook(headers, body, json.loads(body))
    assert connector.verify_webhook(headers, body)
    assert connector.parse_webhook(headers, body, json.loads(body)).event_id == first.event_id
