"""Zendesk Support: webhook verification and parsing, ticket reads, notes and replies.

Vendor quirks worth knowing:
- Zendesk signs base64(HMAC-SHA256(secret, timestamp + raw body)); no separator, base64 not hex.
- A comment posted without `public` is PUBLIC: every note we send says `public: false` explicitly.
- Trigger-connected webhooks send whatever body the admin typed, so the trigger body only tells us
  "ticket N changed"; the author of the change is read back from the ticket, never trusted from the body.
- The incremental ticket export (cursor-based) refuses a `start_time` less than a minute old, never lists the last
  minute's changes, allows 10 requests a minute, and walks `cursor=after_cursor` until `end_of_stream: true`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from connectors.base import ChangedTicket, Comment, Ignored, MalformedPayload, Person, Ticket, TicketEvent
from connectors.http import LazyClient, PermanentHelpdeskError, make_client, send
from connectors.payload import ascii_header, numeric_id, obj, path_segment, token_id
from deskdraft.settings import HelpdeskAccount, WebhookSettings
from deskdraft.text.html_text import comment_body

log = logging.getLogger(__name__)

EVENT_PREFIX = "zen:event-type:"
ROLE_BY_ZENDESK_ROLE = {"end-user": "customer", "agent": "agent", "admin": "agent"}
EXPORT_MIN_AGE = 120  # seconds: Zendesk's one minute, plus room for our clock running ahead of theirs
DRAFTED_TAG = "deskdraft_drafted"  # lets an admin exclude our own updates in trigger conditions too


def _ticket_created(payload: Mapping[str, Any]) -> str | Ignored:
    return "ticket.created"


def _comment_added(payload: Mapping[str, Any]) -> str | Ignored:
    comment = obj(obj(payload.get("event")).get("comment"))
    if obj(comment.get("author")).get("is_staff"):
        return Ignored("comment written by staff (agent, admin or our assistant)")
    if comment.get("is_public") is False:
        return Ignored("private comment: customers cannot write those")
    return "customer.replied"


EVENT_HANDLERS: dict[str, Callable[[Mapping[str, Any]], str | Ignored]] = {
    "ticket.created": _ticket_created,
    "ticket.comment_added": _comment_added,
}


class ZendeskConnector(LazyClient):
    type = "zendesk"

    def __init__(self, account: HelpdeskAccount, webhooks: WebhookSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.account = account.name
        self._settings = account
        self._tolerance = webhooks.timestamp_tolerance_seconds
        self._clock = clock
        self._self_id = account.agent_user_id

    def _build_client(self) -> httpx.Client:
        return make_client(self._settings, auth=(f"{self._settings.email}/token", self._settings.api_token))

    # --- webhooks ----------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self._settings.webhook_secret
        timestamp = headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
        signature = ascii_header(headers.get("X-Zendesk-Webhook-Signature"))
        if not secret or not timestamp or not signature:
            return False
        if not self._fresh(timestamp):
            return False
        digest = hmac.digest(secret.encode(), timestamp.encode() + body, "sha256")
        return hmac.compare_digest(base64.b64encode(digest).decode(), signature)

    def _fresh(self, timestamp: str) -> bool:
        # A signed body replayed later carries its old timestamp; outside the window it is refused.
        try:
            sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError, OSError):  # any header text, year 1 with a negative offset included
            return False
        return abs(self._clock() - sent) <= self._tolerance

    def parse_webhook(self, headers: Mapping[str, str], body: bytes,
                      payload: Mapping[str, Any]) -> TicketEvent | Ignored:
        event_type = payload.get("type")
        if isinstance(event_type, str) and event_type.startswith(EVENT_PREFIX):
            return self._parse_event(event_type[len(EVENT_PREFIX):], payload)
        if "ticket_id" in payload:
            return self._parse_trigger(headers, body, payload)
        raise MalformedPayload("missing field: `ticket_id` (trigger webhook body) or `type` (event webhook)")

    def _parse_event(self, name: str, payload: Mapping[str, Any]) -> TicketEvent | Ignored:
        handler = EVENT_HANDLERS.get(name)
        if handler is None:
            return Ignored(f"Zendesk event type {name!r} is not one we draft for")
        detail = payload.get("detail")
        if not isinstance(detail, Mapping) or detail.get("id") in (None, ""):
            raise MalformedPayload("event webhook without a numeric `detail.id` (the ticket id)")
        ticket_id = numeric_id(detail["id"], "detail.id")
        if not payload.get("id"):
            raise MalformedPayload("event webhook without an `id`")
        event_id = token_id(payload["id"], "id")  # inside the signed body: a replay carries the same id
        kind = handler(payload)
        if isinstance(kind, Ignored):
            return kind
        return TicketEvent(self.account, event_id, ticket_id, kind)

    def _parse_trigger(self, headers: Mapping[str, str], body: bytes,
                       payload: Mapping[str, Any]) -> TicketEvent:
        ticket_id = numeric_id(payload["ticket_id"], "ticket_id")
        # The dedupe key comes from what the signature covers (timestamp + body), never from the invocation-id
        # header: that header is not signed, so a captured delivery resent with new invocation ids would count as
        # new events. Zendesk's own retry of an invocation resends the same signed pair; one that re-signs with a
        # new timestamp is a new row, stopped later by the draft-ref claim (one note at most).
        stamp = headers.get("X-Zendesk-Webhook-Signature-Timestamp", "").encode()
        event_id = "sha256:" + hashlib.sha256(stamp + b"\n" + body).hexdigest()
        return TicketEvent(self.account, event_id, ticket_id, "ticket.updated")

    # --- API ---------------------------------------------------------------------------------
    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return send(self.http, method, path, attempts=self._settings.max_attempts, **kwargs)

    def self_user_id(self) -> str:
        if self._self_id is None:
            self._self_id = str(self.call("GET", "/api/v2/users/me.json").json()["user"]["id"])
        return self._self_id

    def fetch_ticket(self, ticket_id: str) -> Ticket | None:
        try:
            raw = self.call("GET", f"/api/v2/tickets/{path_segment(ticket_id)}.json").json()["ticket"]
        except PermanentHelpdeskError as exc:
            if exc.status == 404:
                return None
            raise
        comments = self._all_comments(ticket_id)
        requester = str(raw.get("requester_id"))
        users = self._users({str(c["author_id"]) for c in comments} | {requester})
        roles = {uid: u.get("role", "") for uid, u in users.items()}
        me = self.self_user_id()
        return Ticket(
            account=self.account, id=str(raw["id"]), subject=raw.get("subject") or "", status=raw.get("status") or "",
            requester_id=str(raw.get("requester_id")), url=f"{self._settings.base_url}/agent/tickets/{raw['id']}",
            comments=tuple(self._comment(c, roles, me) for c in comments), tags=tuple(raw.get("tags") or ()),
            extra={"group_id": raw.get("group_id"), "brand_id": raw.get("brand_id")},
            people=self._people(users, requester, me))

    def changed_tickets(self, since: float) -> Iterator[ChangedTicket]:
        params: dict[str, Any] = {"start_time": int(min(since, self._clock() - EXPORT_MIN_AGE))}
        while True:
            page = self.call("GET", "/api/v2/incremental/tickets/cursor.json", params=params).json()
            for raw in page.get("tickets") or []:
                yield ChangedTicket.from_iso(raw["id"], raw.get("updated_at") or "")
            if page.get("end_of_stream") or not page.get("after_cursor"):
                return
            params = {"cursor": page["after_cursor"]}

    @staticmethod
    def _people(users: Mapping[str, Mapping[str, Any]], requester: str, me: str) -> tuple[Person, ...]:
        """The requester first, then the others in id order: the same ticket always gives the same placeholders."""
        ordered = sorted((uid for uid in users if uid != me), key=lambda uid: (uid != requester, uid))
        return tuple(Person(users[uid].get("name") or "", users[uid].get("email"),
                            "customer" if uid == requester else
                            ("agent" if users[uid].get("role") in ("agent", "admin") else "other"))
                     for uid in ordered if users[uid].get("name"))

    def _all_comments(self, ticket_id: str) -> list[dict[str, Any]]:
        comments: list[dict[str, Any]] = []
        params: dict[str, Any] = {"page[size]": 100}
        while True:
            page = self.call("GET", f"/api/v2/tickets/{path_segment(ticket_id)}/comments.json", params=params).json()
            comments.extend(page.get("comments") or [])
            meta = page.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return comments
            params = {"page[size]": 100, "page[after]": meta["after_cursor"]}

    def _users(self, user_ids: set[str]) -> dict[str, dict[str, Any]]:
        users: dict[str, dict[str, Any]] = {}
        ids = sorted(i for i in user_ids if i.isdigit())
        for start in range(0, len(ids), 100):
            batch = ",".join(ids[start:start + 100])
            page = self.call("GET", "/api/v2/users/show_many.json", params={"ids": batch}).json()["users"]
            users.update({str(u["id"]): u for u in page})
        return users

    @staticmethod
    def _comment(raw: Mapping[str, Any], roles: Mapping[str, str], me: str) -> Comment:
        author = str(raw.get("author_id"))
        role = "self" if author == me else ROLE_BY_ZENDESK_ROLE.get(roles.get(author, ""), "system")
        channel = ((raw.get("via") or {}).get("channel") or "")
        body = raw.get("plain_body") or raw.get("body") or ""
        # plain_body shows text an email's HTML hid (display:none, white, comments) as if visible.
        if role != "self":
            body = comment_body(raw.get("html_body") or "", body)
        return Comment(id=str(raw["id"]), author_id=author, author_role=role,
                       body=body, public=bool(raw.get("public", True)),
                       via_api=channel == "api", created_at=raw.get("created_at") or "")

    def _comment_on(self, ticket_id: str, body: str, public: bool, tags: Sequence[str] = (),
                    group: str | None = None) -> str:
        ticket: dict[str, Any] = {"comment": {"body": body, "public": public},
                                  "additional_tags": [DRAFTED_TAG, *tags]}
        if group:
            ticket["group_id"] = int(group) if group.isdigit() else group
        response = self.call("PUT", f"/api/v2/tickets/{path_segment(ticket_id)}.json", json={"ticket": ticket}).json()
        events = (response.get("audit") or {}).get("events") or []
        return next((str(e["id"]) for e in events if e.get("type") == "Comment"), "")

    def post_note(self, ticket_id: str, body: str) -> str:
        return self._comment_on(ticket_id, body, public=False)

    def post_reply(self, ticket_id: str, body: str) -> str:
        return self._comment_on(ticket_id, body, public=True)

    def escalate(self, ticket_id: str, body: str, tags: Sequence[str], group: str | None) -> str:
        return self._comment_on(ticket_id, body, public=False, tags=tags, group=group)

    def route_handoff(self, ticket_id: str, tags: Sequence[str], group: str | None) -> None:
        ticket: dict[str, Any] = {"additional_tags": [DRAFTED_TAG, *tags]}
        if group:
            ticket["group_id"] = int(group) if group.isdigit() else group
        self.call("PUT", f"/api/v2/tickets/{ticket_id}.json", json={"ticket": ticket})
