"""Registers deskdraft in a Zendesk account through the API: the webhook and the trigger that calls it.

Idempotent: both are found by name and only created or updated when they differ from what we want, so
running it twice changes nothing. The trigger's conditions keep agents' and API updates (ours included)
from calling the webhook at all; the pipeline checks the author again anyway.
"""
from __future__ import annotations

import json
from typing import Any

from connectors.zendesk import ZendeskConnector

WEBHOOK_NAME = "deskdraft"
TRIGGER_TITLE = "deskdraft: a customer wrote"
TRIGGER_BODY = {"ticket_id": "{{ticket.id}}", "title": "{{ticket.title}}"}
# Zendesk's condition vocabulary (see its default triggers): end user, not via the API (via id 5),
# and a comment the requester can see (a public one; the first description counts).
TRIGGER_CONDITIONS = {
    "all": [
        {"field": "role", "operator": "is", "value": "end_user"},
        {"field": "current_via_id", "operator": "is_not", "value": "5"},
        {"field": "comment_is_public", "operator": "is", "value": "requester_can_see_comment"},
    ],
    "any": [],
}


def _webhook_wanted(endpoint: str) -> dict[str, Any]:
    return {"name": WEBHOOK_NAME, "endpoint": endpoint, "http_method": "POST", "request_format": "json",
            "status": "active", "subscriptions": ["conditional_ticket_events"]}


def _trigger_wanted(webhook_id: str) -> dict[str, Any]:
    return {"title": TRIGGER_TITLE, "active": True, "conditions": TRIGGER_CONDITIONS,
            "actions": [{"field": "notification_webhook", "value": [webhook_id, json.dumps(TRIGGER_BODY)]}]}


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return any(current.get(key) != value for key, value in wanted.items())


def _find_webhook(connector: ZendeskConnector) -> dict[str, Any] | None:
    params: dict[str, Any] = {"filter[name_contains]": WEBHOOK_NAME, "page[size]": 100}
    webhooks = connector.call("GET", "/api/v2/webhooks", params=params).json().get("webhooks") or []
    return next((w for w in webhooks if w.get("name") == WEBHOOK_NAME), None)


def _find_trigger(connector: ZendeskConnector) -> dict[str, Any] | None:
    url: str | None = "/api/v2/triggers.json"
    while url:
        page = connector.call("GET", url).json()
        found = next((t for t in page.get("triggers") or [] if t.get("title") == TRIGGER_TITLE), None)
        if found:
            return found
        url = page.get("next_page")
    return None


def register(connector: ZendeskConnector, public_base_url: str) -> list[str]:
    """Create or update the webhook and trigger for this account; returns what changed (empty: nothing)."""
    endpoint = f"{public_base_url.rstrip('/')}/webhooks/{connector.account}"
    changes = []
    webhook = _find_webhook(connector)
    wanted = _webhook_wanted(endpoint)
    if webhook is None:
        webhook = connector.call("POST", "/api/v2/webhooks", json={"webhook": wanted}).json()["webhook"]
        changes.append(f"created webhook {webhook['id']} -> {endpoint}")
    elif _differs(webhook, wanted):
        connector.call("PATCH", f"/api/v2/webhooks/{webhook['id']}", json={"webhook": wanted})
        changes.append(f"updated webhook {webhook['id']} -> {endpoint}")
    trigger = _find_trigger(connector)
    wanted_trigger = _trigger_wanted(str(webhook["id"]))
    if trigger is None:
        trigger = connector.call("POST", "/api/v2/triggers.json", json={"trigger": wanted_trigger}).json()["trigger"]
        changes.append(f"created trigger {trigger['id']} ({TRIGGER_TITLE!r})")
    elif _differs(trigger, wanted_trigger):
        connector.call("PUT", f"/api/v2/triggers/{trigger['id']}.json", json={"trigger": wanted_trigger})
        changes.append(f"updated trigger {trigger['id']} ({TRIGGER_TITLE!r})")
    return changes


def signing_secret(connector: ZendeskConnector) -> str:
    """The webhook's signing secret, for the ZENDESK_WEBHOOK_SECRET-style environment variable."""
    webhook = _find_webhook(connector)
    if webhook is None:
        raise LookupError("the deskdraft webhook does not exist yet: run register first")
    response = connector.call("GET", f"/api/v2/webhooks/{webhook['id']}/signing_secret").json()
    return response["signing_secret"]["secret"]
