"""Zendesk's admin API for webhooks and triggers, added onto a FakeZendesk's app.

Shapes follow go-zendesk's fixtures (GET/webhook.json, POST/webhooks.json, GET/triggers.json, POST/triggers.json):
webhook ids are ULID-like strings, trigger ids numbers; triggers list with offset pagination (next_page, count).
"""
from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import jsonify, request

from tests.fakes.zendesk import FakeZendesk

WEBHOOK_FIELDS = {"name", "endpoint", "http_method", "request_format", "status", "subscriptions", "authentication"}


class ZendeskAdmin:
    """Webhooks and triggers of one fake account; `.webhooks`, `.triggers` hold what exists."""

    def __init__(self, fake: FakeZendesk) -> None:
        self.fake = fake
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        self.triggers: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(360_000_000_001)
        app = fake.app
        for suffix in ("", ".json"):
            app.add_url_rule(f"/api/v2/webhooks{suffix}", f"list_webhooks{suffix}", self._list_webhooks)
            app.add_url_rule(f"/api/v2/webhooks{suffix}", f"create_webhook{suffix}", self._create_webhook,
                             methods=["POST"])
            app.add_url_rule(f"/api/v2/triggers{suffix}", f"list_triggers{suffix}", self._list_triggers)
            app.add_url_rule(f"/api/v2/triggers{suffix}", f"create_trigger{suffix}", self._create_trigger,
                             methods=["POST"])
            app.add_url_rule(f"/api/v2/triggers/<int:trigger_id>{suffix}", f"update_trigger{suffix}",
                             self._update_trigger, methods=["PUT"])
        app.add_url_rule("/api/v2/webhooks/<webhook_id>", "patch_webhook", self._patch_webhook, methods=["PATCH"])
        app.add_url_rule("/api/v2/webhooks/<webhook_id>/signing_secret", "signing_secret", self._signing_secret)

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _record(self) -> None:
        self.fake.writes.append({"method": request.method, "path": request.path, "json": request.get_json(),
                                 "headers": dict(request.headers)})

    def _list_webhooks(self):
        needle = request.args.get("filter[name_contains]", "")
        found = [w for w in self.webhooks.values() if needle.lower() in w["name"].lower()]
        return jsonify(webhooks=found, meta={"has_more": False, "after_cursor": None, "before_cursor": None},
                       links={"next": None, "prev": None})

    def _create_webhook(self):
        body = (request.get_json(silent=True) or {}).get("webhook")
        if not isinstance(body, dict) or not body.get("endpoint") or not body.get("name"):
            return jsonify(errors=[{"code": "InvalidInput", "title": "webhook needs a name and an endpoint"}]), 400
        webhook_id = "01" + secrets.token_hex(12).upper()
        webhook = {**{k: v for k, v in body.items() if k in WEBHOOK_FIELDS}, "id": webhook_id,
                   "created_at": self._now(), "created_by": str(self.fake.agent_user_id),
                   "updated_at": self._now(), "updated_by": str(self.fake.agent_user_id)}
        self.webhooks[webhook_id] = webhook
        self.secrets[webhook_id] = secrets.token_urlsafe(32)
        self._record()
        return jsonify(webhook=webhook), 201

    def _patch_webhook(self, webhook_id: str):
        if webhook_id not in self.webhooks:
            return jsonify(errors=[{"code": "WebhookNotFound", "title": "Webhook not found"}]), 404
        body = (request.get_json(silent=True) or {}).get("webhook") or {}
        self.webhooks[webhook_id].update({k: v for k, v in body.items() if k in WEBHOOK_FIELDS},
                                         updated_at=self._now())
        self._record()
        return "", 204

    def _signing_secret(self, webhook_id: str):
        if webhook_id not in self.secrets:
            return jsonify(errors=[{"code": "WebhookNotFound", "title": "Webhook not found"}]), 404
        return jsonify(signing_secret={"algorithm": "SHA256", "secret": self.secrets[webhook_id]})

    def _list_triggers(self):
        page, per_page = int(request.args.get("page", 1)), int(request.args.get("per_page", 100))
        items = list(self.triggers.values())
        chunk = items[(page - 1) * per_page: page * per_page]
        has_next = page * per_page < len(items)
        base = request.base_url
        return jsonify(triggers=chunk, count=len(items),
                       next_page=f"{base}?page={page + 1}&per_page={per_page}" if has_next else None,
                       previous_page=f"{base}?page={page - 1}&per_page={per_page}" if page > 1 else None)

    def _create_trigger(self):
        body = (request.get_json(silent=True) or {}).get("trigger")
        if not isinstance(body, dict) or not body.get("title") or not body.get("actions"):
            return jsonify(error="RecordInvalid", description="Record validation errors",
                           details={"base": [{"description": "Title and actions are required"}]}), 422
        trigger_id = next(self._ids)
        trigger = self._shape(trigger_id, body)
        self.triggers[trigger_id] = trigger
        self._record()
        return jsonify(trigger=trigger), 201

    def _update_trigger(self, trigger_id: int):
        if trigger_id not in self.triggers:
            return jsonify(error="RecordNotFound", description="Not found"), 404
        body = (request.get_json(silent=True) or {}).get("trigger") or {}
        self.triggers[trigger_id] = self._shape(trigger_id, {**self.triggers[trigger_id], **body})
        self._record()
        return jsonify(trigger=self.triggers[trigger_id])

    def _shape(self, trigger_id: int, body: dict[str, Any]) -> dict[str, Any]:
        conditions = body.get("conditions") or {"all": [], "any": []}
        return {"url": f"{request.host_url}api/v2/triggers/{trigger_id}.json", "id": trigger_id,
                "title": body["title"], "active": body.get("active", True), "updated_at": self._now(),
                "created_at": body.get("created_at", self._now()), "actions": body["actions"],
                "conditions": {"all": conditions.get("all", []), "any": conditions.get("any", [])},
                "description": body.get("description"), "position": body.get("position", len(self.triggers)),
                "raw_title": body["title"]}
