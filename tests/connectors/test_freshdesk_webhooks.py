"""Every Freshdesk payload in fixtures/freshdesk/zulip-webhooks is drafted for or turned away with a stated reason;
the rule's secret (header or basic auth) is the only thing that authenticates a delivery."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from connectors.base import Ignored, MalformedPayload, TicketEvent
from connectors.freshdesk import FreshdeskConnector, parse_triggered_event
from tests.conftest import FIXTURES
from tests.fakes.freshdesk import freshdesk_webhook, freshdesk_webhook_headers

ZULIP = FIXTURES / "freshdesk" / "zulip-webhooks"
TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "freshdesk-webhook-body.json"
SECRET = "freshdesk-shared-secret"

# fixture → (kind, ticket id) for a TicketEvent, or ("ignored", words in the reason).
EXPECTED = {
    "ticket_created.json": ("ticket.created", "11"),
    "inline_images.json": ("ticket.created", "12"),
    "private_note.json": ("ignored", "private note added"),
    "public_note.json": ("ignored", "public note added"),
    "status_changed.json": ("ignored", "property change (status)"),
    "priority_changed.json": ("ignored", "property change (priority)"),
    # No triggered_event at all, or one we have no handler for: the worker re-reads the ticket and decides.
    # (Zulip answers these with an error; a 4xx here would only make Freshdesk retry and email the admins.)
    "status_changed_fixture_with_missing_key.json": ("ticket.updated", "11"),
    "unknown_payload.json": ("ticket.updated", "11"),
}


def freshdesk_account(auth: str = "header", **overrides) -> dict:
    return {"type": "freshdesk", "base_url": "http://127.0.0.1:9", "api_token_env": "TEST_FRESHDESK_KEY",
            "webhook_secret_env": "TEST_FRESHDESK_SECRET", "webhook_auth": auth, "max_attempts": 3, **overrides}


@pytest.fixture
def build(make_config, monkeypatch):
    monkeypatch.setenv("TEST_FRESHDESK_KEY", "key")
    monkeypatch.setenv("TEST_FRESHDESK_SECRET", SECRET)

    def connector(auth: str = "header", **overrides) -> FreshdeskConnector:
        config = make_config(helpdesks={"freshdesk": freshdesk_account(auth, **overrides)})
        return FreshdeskConnector(config.helpdesks["freshdesk"], config.webhooks)
    return connector


@pytest.fixture
def connector(build) -> FreshdeskConnector:
    return build()


def parse(connector: FreshdeskConnector, payload: dict) -> TicketEvent | Ignored:
    body = json.dumps(payload).encode()
    return connector.parse_webhook({}, body, payload)


# ----- the Zulip fixtures ----------------------------------------------------------------------------------------

def test_every_zulip_fixture_is_covered():
    assert sorted(p.name for p in ZULIP.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_zulip_fixture(connector, name):
    body = (ZULIP / name).read_bytes()
    result = connector.parse_webhook({}, body, json.loads(body))
    kind, detail = EXPECTED[name]
    if kind == "ignored":
        assert isinstance(result, Ignored) and detail in result.reason
    else:
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        assert result == TicketEvent("freshdesk", digest, detail, kind)


# ----- our template ------------------------------------------------------------------------------------------------

SAMPLE_VALUES = {"ticket.id": "4711", "triggered_event": "{reply_sent:sent}",
                 "ticket.updated_at": "2026-11-22T12:00:00Z", "ticket.url": "https://acme.freshdesk.com/a/tickets/4711"}


def render(template: str, values: dict[str, str]) -> bytes:
    """What Freshdesk does with the Advanced content: placeholders replaced, JSON-escaped, inside the quotes."""
    return re.sub(r"\{\{\s*([\w.]+)\s*\}\}", lambda m: json.dumps(values[m.group(1)])[1:-1], template).encode()


def test_shipped_template_rendered_with_sample_values_parses(connector):
    template = TEMPLATE.read_text(encoding="utf-8")
    assert set(re.findall(r"\{\{\s*([\w.]+)\s*\}\}", template)) == set(SAMPLE_VALUES)
    body = render(template, SAMPLE_VALUES)
    event = connector.parse_webhook({}, body, json.loads(body))
    assert event == TicketEvent("freshdesk", "sha256:" + hashlib.sha256(body).hexdigest(), "4711", "customer.replied")


def test_doc_shows_the_same_template_as_the_json_file():
    doc = (TEMPLATE.parent / "freshdesk-automation-rule.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", doc, re.S).group(1)
    assert json.loads(block) == json.loads(TEMPLATE.read_text(encoding="utf-8"))


def test_two_updates_of_one_ticket_differ_and_a_retry_is_the_same(connector):
    first = parse(connector, freshdesk_webhook(7, updated_at="2026-11-22T12:00:00Z"))
    retry = parse(connector, freshdesk_webhook(7, updated_at="2026-11-22T12:00:00Z"))
    later = parse(connector, freshdesk_webhook(7, updated_at="2026-11-22T12:05:00Z"))
    assert first.event_id == retry.event_id != later.event_id


@pytest.mark.parametrize("event, expected", [
    ("{ticket_action:created}", "ticket.created"),
    ("{reply_sent:sent}", "customer.replied"),
    ("{ticket_action:update}", "ticket.updated"),
    ("{note_type:private}", "notes are written by agents"),
    ("{responder_id:{from:150006383528,to:150014937111}}", "property change (responder_id)"),
    ("{group_id:{from:1,to:2}}", "property change (group_id)"),
    ("{customer_feedback:received}", "survey"),
    ("{time_sheet_action:added}", "time entry"),
    ("{ticket_action:marked_spam}", "not something we draft for"),
    ("{brand_new_event:{from:1,to:2}}", "ticket.updated"),
    ("{{triggered_event}}", "ticket.updated"),  # the placeholder did not render
    ("", "ticket.updated"),
])
def test_triggered_event_dispatch(connector, event, expected):
    result = parse(connector, freshdesk_webhook(42, event))
    if isinstance(result, TicketEvent):
        assert (result.kind, result.ticket_id) == (expected, "42")
    else:
        assert expected in result.reason


def test_triggered_event_parser():
    assert parse_triggered_event("{status:{from:4,to:6}}") == ("status", "{from:4,to:6}")
    assert parse_triggered_event(" {ticket_action:created} ") == ("ticket_action", "created")
    assert parse_triggered_event("created") is None


def test_numeric_ticket_id_and_flat_body_are_accepted(connector):
    nested = {"freshdesk_webhook": {"ticket_id": 9, "triggered_event": "{reply_sent:sent}"}}  # unquoted placeholder
    assert parse(connector, nested).ticket_id == "9"
    assert parse(connector, {"ticket_id": "10", "triggered_event": "{ticket_action:created}"}).kind == "ticket.created"


@pytest.mark.parametrize("payload, reason", [
    ({"freshdesk_webhook": {"triggered_event": "{ticket_action:created}"}}, "missing field"),
    ({"freshdesk_webhook": {"ticket_id": ""}}, "missing field"),
    ({"freshdesk_webhook": "ticket 7"}, "missing field"),
    ({"something": "else"}, "missing field"),
    ({"freshdesk_webhook": {"ticket_id": "{{ticket.id}}"}}, "ticket number"),
    ({"freshdesk_webhook": {"ticket_id": "#7"}}, "ticket number"),
])
def test_bodies_without_a_ticket_number_are_malformed(connector, payload, reason):
    with pytest.raises(MalformedPayload, match=re.escape(reason)):
        parse(connector, payload)


# ----- authentication ----------------------------------------------------------------------------------------------

BODY = json.dumps(freshdesk_webhook(7)).encode()


def test_header_secret_is_accepted(connector):
    assert connector.verify_webhook(freshdesk_webhook_headers(SECRET), BODY)


def test_header_lookup_ignores_case(connector):
    assert connector.verify_webhook({"x-deskdraft-secret": SECRET}, BODY)


def test_custom_header_name(build):
    connector = build(webhook_header="X-Acme-Token")
    assert connector.verify_webhook(freshdesk_webhook_headers(SECRET, header="X-Acme-Token"), BODY)
    assert not connector.verify_webhook(freshdesk_webhook_headers(SECRET), BODY)


@pytest.mark.parametrize("headers", [
    freshdesk_webhook_headers("not-the-secret"),
    freshdesk_webhook_headers(SECRET + "x"),
    freshdesk_webhook_headers(""),
    {},
    freshdesk_webhook_headers(SECRET, auth="basic"),  # right secret, wrong place for header mode
])
def test_header_rejections(connector, headers):
    assert not connector.verify_webhook(headers, BODY)


def test_basic_auth_with_secret_as_password_or_user(build):
    connector = build("basic")
    assert connector.verify_webhook(freshdesk_webhook_headers(SECRET, auth="basic"), BODY)
    as_user = "Basic " + base64.b64encode(f"{SECRET}:X".encode()).decode()
    assert connector.verify_webhook({"Authorization": as_user}, BODY)


@pytest.mark.parametrize("authorization", [
    "Basic " + base64.b64encode(b"freshdesk:wrong").decode(),
    "Basic " + base64.b64encode(b"freshdesk:").decode(),
    "Basic not-base64!!",
    "Bearer " + SECRET,
    SECRET,
    "",
])
def test_basic_auth_rejections(build, authorization):
    connector = build("basic")
    assert not connector.verify_webhook({"Authorization": authorization}, BODY)
    assert not connector.verify_webhook(freshdesk_webhook_headers(SECRET), BODY)  # header mode's header: no


@pytest.mark.parametrize("auth", ["header", "basic"])
def test_no_secret_configured_rejects_everything(build, monkeypatch, auth):
    connector = build(auth)
    monkeypatch.setenv("TEST_FRESHDESK_SECRET", "")
    assert not connector.verify_webhook(freshdesk_webhook_headers("", auth=auth), BODY)
    assert not connector.verify_webhook({"X-Deskdraft-Secret": "", "Authorization": "Basic Og=="}, BODY)
