"""Freshdesk: webhook authentication and parsing, ticket reads, notes, replies and escalation.

Vendor quirks worth knowing:
- Automation-rule webhooks are signed by nothing: the rule sends our secret in a custom header (default
  X-Deskdraft-Secret) or as the basic-auth password, compared in constant time.
- The body is the JSON the admin pasted into the rule (ours: docs/freshdesk-webhook-body.json; Zulip's has the same
  `freshdesk_webhook` wrapper). `{{triggered_event}}` is unquoted pseudo-JSON (`{reply_sent:sent}`,
  `{status:{from:4,to:6}}`) and says what happened, never who did it: the worker always re-reads the ticket.
- No delivery id: event_id is a SHA-256 of the raw body, which carries `{{ticket.updated_at}}` so two updates differ.
  Identical bodies are deduped: Freshdesk's own retries (5/30/60 min later), but also a second reply whose body
  renders the same (a template without updated_at).
- Webhooks spend the account's per-minute API budget too (those over it are postponed), so with
  `requests_per_minute` every request, retries included, waits for a slot (connectors/budget.py).
- API auth: the API key as basic-auth user name, password ignored ("X"). Notes default to private, but we always
  send `private: true`; `/reply` is always public. `PUT /tickets/{id}` REPLACES `tags`: escalate sends the union.
- What changed since a time: GET /api/v2/tickets?updated_since=...&order_by=updated_at&order_type=asc, 100 a page,
  each next page asked for from the last `updated_at` seen (so a list never needs page 301: Freshworks says a list
  stops after 300 pages, in a community answer, not in the API reference).
- The description is not a conversation: it becomes the first comment, by the requester (by the agent when the
  ticket is an outbound email). Conversation `source` is the only automation hint (see AUTOMATION_SOURCES); a
  contact's entry with `incoming: false` was written on their behalf, so both count as via_api. Another
  integration's API posts carry its agent's user_id and come out as "agent".
- `body_text` line breaks are undocumented, so our own posts are read back from the HTML `body`: the draft ref
  must stay on a line of its own.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.base import ChangedTicket, Comment, Ignored, MalformedPayload, Person, Ticket, TicketEvent
from connectors.budget import LocalBudget
from connectors.http import LazyClient, PermanentHelpdeskError, make_client, send
from connectors.payload import numeric_id, path_segment
from deskdraft.settings import HelpdeskAccount, WebhookSettings
from deskdraft.text.html_text import comment_body, readable_text

log = logging.getLogger(__name__)

PER_PAGE = 100  # Freshdesk's maximum; more is a 400
STATUS_NAMES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}  # custom statuses keep their number
# Conversation source: 0 reply and 2 note in the API samples; 15/16 are "automation_rule"/"automation_rule_forward"
# in the Helpdesk::Note source list of Freshdesk's old open-source code (not in the v2 docs we found).
AUTOMATION_SOURCES = {15, 16}
OUTBOUND_EMAIL = 10  # ticket source: the description was written by an agent
DESCRIPTION_ID = "description"

_AGENT_CHANGE = "ticket property change ({}): made by agents or the system, nothing new from the customer"


def _ticket_action(value: str) -> str | Ignored:
    kinds = {"created": "ticket.created", "update": "ticket.updated"}  # delete, marked_spam, linked: not ours
    return kinds.get(value) or Ignored(f"ticket {value}: not something we draft for")


def _reply_sent(value: str) -> str:
    return "customer.replied"  # agents' replies fire it too: the rule's Requester filter and the re-read stop those


def _note_added(value: str) -> Ignored:
    return Ignored(f"{value} note added: notes are written by agents (a customer's reply arrives as reply_sent)")


def _ignored(reason: str) -> Callable[[str], Ignored]:
    return lambda value: Ignored(reason)


# Zulip-style table: the key of `{{triggered_event}}` → a small pure function of its value. Unknown keys are
# re-read as "ticket.updated": the worker decides from the ticket itself.
EVENT_HANDLERS: dict[str, Callable[[str], str | Ignored]] = {
    "ticket_action": _ticket_action,
    "reply_sent": _reply_sent,
    "note_type": _note_added,
    **{key: _ignored(_AGENT_CHANGE.format(key))
       for key in ("status", "priority", "ticket_type", "group_id", "responder_id", "due_by", "response_due",
                   "resolution_due", "round_robin_assignment", "association_type", "deleted", "spam")},
    "time_sheet_action": _ignored("time entry added: agents' bookkeeping"),
    "customer_feedback": _ignored("satisfaction survey answer: not a message to answer"),
    "mail_del_failed_requester": _ignored("email delivery to the requester failed"),
    "mail_del_failed_others": _ignored("email delivery failed"),
}
TRIGGERED_EVENT = re.compile(r"^\{\s*(\w+)\s*:\s*(.*?)\s*\}$", re.S)


def parse_triggered_event(text: str) -> tuple[str, str] | None:
    """`{status:{from:4,to:6}}` → ("status", "{from:4,to:6}"); anything else (unrendered, empty) → None."""
    match = TRIGGERED_EVENT.match(text.strip())
    return (match.group(1), match.group(2)) if match else None


def text_to_html(text: str) -> str:
    """Plain text as escaped HTML, one line per line: customers' and the model's text is never markup."""
    return "<div>" + "<br>".join(html.escape(line) for line in text.split("\n")) + "</div>"


def pages(http: httpx.Client, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """Every item of a page-numbered list, following `page` until a short page (or no Link rel=next)."""
    page = 1
    while True:
        response = send(http, "GET", path, params={**(params or {}), "page": page, "per_page": PER_PAGE})
        items = response.json()
        yield from items
        if len(items) < PER_PAGE and "next" not in response.links:
            return
        page += 1


class FreshdeskConnector(LazyClient):
    type = "freshdesk"

    def __init__(self, account: HelpdeskAccount, webhooks: WebhookSettings,
                 clock: Callable[[], float] = time.time, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.account = account.name
        self._settings = account
        self._self_id = account.agent_user_id
        rpm = account.requests_per_minute  # per process here; build_connectors shares it when Redis is there
        self.budget = LocalBudget(rpm, clock, sleep) if rpm else None
        self._agents: dict[str, bool] = {}  # user id → is an agent; agents are few and rarely change
        self._agent_names: dict[str, str] = {}  # agent id → name, read with the check above

    def _build_client(self) -> httpx.Client:
        return make_client(self._settings, auth=(self._settings.api_token, "X"))

    # --- webhooks ----------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self._settings.webhook_secret.encode()
        if not secret:
            return False
        if self._settings.webhook_auth == "header":
            return hmac.compare_digest(_header(headers, self._settings.webhook_header).encode(), secret)
        if self._settings.webhook_auth == "basic":
            scheme, _, encoded = _header(headers, "Authorization").partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                user, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return False
            # Freshdesk's "Requires authentication" takes user + password, or an API key sent as the user name.
            by_password, by_user = hmac.compare_digest(password, secret), hmac.compare_digest(user, secret)
            return by_password or by_user
        return False

    def parse_webhook(self, headers: Mapping[str, str], body: bytes,
                      payload: Mapping[str, Any]) -> TicketEvent | Ignored:
        fields = payload.get("freshdesk_webhook", payload)
        if not isinstance(fields, Mapping) or fields.get("ticket_id") in (None, ""):
            raise MalformedPayload("missing field: `freshdesk_webhook.ticket_id` (docs/freshdesk-webhook-body.json)")
        ticket_id = numeric_id(fields["ticket_id"], "freshdesk_webhook.ticket_id")
        event = parse_triggered_event(str(fields.get("triggered_event") or ""))
        handler = EVENT_HANDLERS.get(event[0]) if event else None
        kind = handler(event[1]) if handler and event else "ticket.updated"
        if isinstance(kind, Ignored):
            return kind
        return TicketEvent(self.account, "sha256:" + hashlib.sha256(body).hexdigest(), ticket_id, kind)

    # --- API ---------------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return send(self.http, method, path, attempts=self._settings.max_attempts, **kwargs)

    def self_user_id(self) -> str:
        if self._self_id is None:
            self._self_id = str(self._send("GET", "/api/v2/agents/me").json()["id"])
        return self._self_id

    def fetch_ticket(self, ticket_id: str) -> Ticket | None:
        try:
            # include=requester (one more API credit): the requester's name and email, hidden from the model.
            raw = self._send("GET", f"/api/v2/tickets/{path_segment(ticket_id)}",
                             params={"include": "requester"}).json()
        except PermanentHelpdeskError as exc:
            if exc.status == 404:
                return None
            raise
        unique = {c["id"]: c for c in self._all_conversations(ticket_id)}  # a page read twice counts once
        conversations = sorted(unique.values(), key=lambda c: (c.get("created_at") or "", c["id"]))
        me, requester = self.self_user_id(), str(raw.get("requester_id"))
        comments = [self._description(raw, requester)]
        comments += [self._comment(c, me, requester) for c in conversations]
        status = raw.get("status")
        return Ticket(
            account=self.account, id=str(raw["id"]), subject=raw.get("subject") or "",
            status=STATUS_NAMES.get(status, str(status)), requester_id=requester,
            url=f"{self._settings.base_url}/a/tickets/{raw['id']}", comments=tuple(comments),
            tags=tuple(raw.get("tags") or ()),
            extra={k: raw.get(k) for k in ("group_id", "responder_id", "priority", "source", "type")},
            people=self._people(raw, comments, me))

    def changed_tickets(self, since: float) -> Iterator[ChangedTicket]:
        # Each next page is asked for as page 1 from the last updated_at seen, not as page N: a ticket updated during
        # the walk moves to the end of an ascending list and would shift an unread one back onto a page already read.
        stamp, page = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), 1
        while True:
            response = self._send("GET", "/api/v2/tickets", params={
                "updated_since": stamp, "order_by": "updated_at", "order_type": "asc", "page": page,
                "per_page": PER_PAGE})
            items = response.json()
            for raw in items:
                yield ChangedTicket.from_iso(raw["id"], raw.get("updated_at") or "")
            if not items or (len(items) < PER_PAGE and "next" not in response.links):
                return
            last = items[-1].get("updated_at") or stamp
            stamp, page = (stamp, page + 1) if last == stamp else (last, 1)  # a full page of one second: page on

    def _people(self, raw: Mapping[str, Any], comments: Sequence[Comment], me: str) -> tuple[Person, ...]:
        """The requester (from include=requester), then the agents who wrote in the ticket, in id order."""
        who = raw.get("requester") or {}
        people = [Person(who["name"], who.get("email"), "customer")] if who.get("name") else []
        agents = sorted({c.author_id for c in comments if c.author_role == "agent" and c.author_id != me})
        people += [Person(self._agent_names[a], None, "agent") for a in agents if self._agent_names.get(a)]
        return tuple(people)

    def _all_conversations(self, ticket_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/tickets/{path_segment(ticket_id)}/conversations"
        conversations: list[dict[str, Any]] = []
        params: dict[str, int] | None = {"page": 1, "per_page": PER_PAGE}
        url, page, seen = path, 1, set()
        while True:
            response = self._send("GET", url, params=params)
            batch = response.json()
            conversations.extend(batch)
            page += 1
            following = response.links.get("next", {}).get("url")
            if following in seen:  # a link back to a page already read: stop rather than loop
                return conversations
            if following and self._same_host(following):
                seen.add(following)
                url, params = following, None
            elif len(batch) >= PER_PAGE:  # no (usable) link: a full page means there may be more
                url, params = path, {"page": page, "per_page": PER_PAGE}
            else:
                return conversations

    def _same_host(self, url: str) -> bool:
        # The API key goes with every request this client makes: never follow a link to another host.
        same = urlsplit(url).netloc in ("", urlsplit(self._settings.base_url).netloc)
        if not same:
            log.warning("freshdesk %s: ignoring a Link header to another host: %s", self.account, url[:200])
        return same

    def _is_agent(self, user_id: str) -> bool:
        if user_id not in self._agents:
            try:
                agent = self._send("GET", f"/api/v2/agents/{path_segment(user_id)}").json()
                self._agent_names[user_id] = ((agent or {}).get("contact") or {}).get("name") or ""
                self._agents[user_id] = True
            except PermanentHelpdeskError as exc:
                if exc.status != 404:
                    raise
                self._agents[user_id] = False  # a contact: the requester, a CC'd person, ...
        return self._agents[user_id]

    def _description(self, raw: Mapping[str, Any], requester: str) -> Comment:
        outbound = raw.get("source") == OUTBOUND_EMAIL
        author = str(raw.get("responder_id") or "") if outbound else requester
        body = comment_body(raw.get("description") or "", raw.get("description_text") or "")
        return Comment(id=DESCRIPTION_ID, author_id=author, author_role="agent" if outbound else "customer",
                       body=body, public=True, via_api=False, created_at=raw.get("created_at") or "")

    def _comment(self, raw: Mapping[str, Any], me: str, requester: str) -> Comment:
        user = str(raw["user_id"]) if raw.get("user_id") is not None else ""
        if not user:
            role = "system"
        elif user == me:
            role = "self"
        elif user == requester or not self._is_agent(user):
            role = "customer"
        else:
            role = "agent"
        on_behalf = role == "customer" and raw.get("incoming") is False
        # Our own notes are read from their HTML (where the ref we wrote is), everyone else's as comment_body says.
        body = readable_text(raw.get("body") or "") if role == "self" else \
            comment_body(raw.get("body") or "", raw.get("body_text") or "")
        return Comment(id=str(raw["id"]), author_id=user, author_role=role, body=body,
                       public=not raw.get("private", False),
                       via_api=raw.get("source") in AUTOMATION_SOURCES or on_behalf,
                       created_at=raw.get("created_at") or "")

    def post_note(self, ticket_id: str, body: str) -> str:
        note = self._send("POST", f"/api/v2/tickets/{path_segment(ticket_id)}/notes",
                          json={"body": text_to_html(body), "private": True}).json()
        return str(note["id"])

    def post_reply(self, ticket_id: str, body: str) -> str:
        reply = self._send("POST", f"/api/v2/tickets/{path_segment(ticket_id)}/reply",
                           json={"body": text_to_html(body)}).json()
        return str(reply["id"])

    def escalate(self, ticket_id: str, body: str, tags: Sequence[str], group: str | None) -> str:
        if group is not None and not str(group).isdigit():
            raise PermanentHelpdeskError(f"Freshdesk group must be a numeric group id, got {group!r}")
        note_id = self.post_note(ticket_id, body)
        self.route_handoff(ticket_id, tags, group)
        return note_id

    def route_handoff(self, ticket_id: str, tags: Sequence[str], group: str | None) -> None:
        """Tags merged with the ticket's own (Freshdesk's PUT replaces the list) and the group; safe twice."""
        current = self._send("GET", f"/api/v2/tickets/{path_segment(ticket_id)}").json().get("tags") or []
        update: dict[str, Any] = {"tags": list(dict.fromkeys([*current, *tags]))}
        if group is not None:
            update["group_id"] = int(group)
        self._send("PUT", f"/api/v2/tickets/{path_segment(ticket_id)}", json=update)


def _header(headers: Mapping[str, str], name: str) -> str:
    """Header lookup that works for werkzeug's case-insensitive headers and for plain dicts in tests."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return value or ""
