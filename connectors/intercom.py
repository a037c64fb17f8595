"""Intercom: webhook verification and parsing, conversation reads, notes, replies, tags and team handoffs.

Vendor quirks worth knowing:
- Signature: `X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, raw body)>`, and NO timestamp, so a signed body
  never expires. Replays stop at the inbox dedupe on the notification `id`; old `created_at` values are not refused
  because Intercom itself re-delivers throttled notifications up to hours later.
- `ping` (id null) arrives when the webhook is set up, a HEAD request when the URL is saved (webhooks.py answers it).
- Topic names do the loop protection: only `conversation.user.*` is drafted for; our own notes come back (if
  subscribed) as `conversation.admin.noted`. Items carry only the new part, in the 2019 model (`user`,
  `conversation_message`) or the current one (`source`, `contacts`): we read `data.item.id` and re-fetch.
- GET /conversations/{id} returns at most the 500 MOST RECENT parts; the first message is `source`, not a part.
- Every write names the acting `admin_id`; reply and note bodies are HTML ("Notes accept some HTML formatting").
- Conversations are read as HTML, not `display_as=plaintext`: Intercom's plain text shows words the HTML hides
  (white text, display:none) as if visible; deskdraft.text.html_text reads the HTML once for every helpdesk.
- Bots and campaigns can write as an admin (the spec's example: an `admin` named Operator with an
  `operator+<app>@intercom.io` address); Fin is `bot`. Both are "system", never an agent.
- 429 carries `X-RateLimit-Reset` (epoch seconds, 10-second windows), no Retry-After: connectors/http waits for it.
- What changed since a time: POST /conversations/search on `updated_at` (">" is strict, epoch seconds), at most 150
  a page, the next page by `pagination.starting_after` from `pages.next`. Results carry no parts.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import ChangedTicket, Comment, Ignored, MalformedPayload, Person, Ticket, TicketEvent
from connectors.http import LazyClient, PermanentHelpdeskError, make_client, send
from connectors.payload import INTERCOM_ID, ascii_header, last, obj, path_segment, token_id
from deskdraft.settings import HelpdeskAccount, WebhookSettings
from deskdraft.text.html_text import comment_body, readable_text

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2.16"  # the OpenAPI description the connector and its fake were checked against
INBOX_HOSTS = {"us": "app.intercom.com", "eu": "app.eu.intercom.com", "au": "app.au.intercom.com"}
CONTACT_TYPES = {"user", "lead", "contact"}
# Automated notices that carry a body but are nobody's turn: Fin posts "<team> will reply as soon as they can."
# right after a customer opens a conversation (conversation_operator_replied.json). Kept, they would be the latest
# comment and hide the customer's question from the pipeline.
NOTICE_PART_TYPES = {"channel_and_reply_time_expectation"}
SEARCH_PER_PAGE = 150  # the search endpoint's maximum


def _user_created(payload: Mapping[str, Any]) -> str | Ignored:
    return "ticket.created"


def _user_replied(payload: Mapping[str, Any]) -> str | Ignored:
    # The topic already says a contact wrote; the new part's author is checked too, in case a bot replied "as" one.
    newest = last(obj(_item(payload).get("conversation_parts")).get("conversation_parts"))
    author = obj(obj(newest).get("author"))
    if author and author.get("type") not in CONTACT_TYPES:
        return Ignored(f"Intercom topic 'conversation.user.replied' with a part by {author.get('type')!r}")
    return "customer.replied"


EVENT_HANDLERS: dict[str, Callable[[Mapping[str, Any]], str | Ignored]] = {
    "conversation.user.created": _user_created,
    "conversation.user.replied": _user_replied,
}

# Topics we never draft for, by family; the reason is logged and returned with the topic's name.
IGNORED_FAMILIES: tuple[tuple[str, str], ...] = (
    ("ping", "a connectivity check from Intercom"),
    ("conversation.admin.", "a teammate's action (possibly our own note)"),
    ("conversation.operator.", "Operator/Fin (bot) activity"),
    ("conversation_part.", "a part being tagged or redacted, not a new message"),
    ("conversation.", "a conversation change that is not a customer message"),
    ("ticket.", "Intercom tickets are not drafted for, only conversations"),
    ("article.", "help center content (knowledge sync, not drafting)"),
    ("contact.", "a change to a contact record, not a message"),
)


def _item(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    data = payload.get("data")
    item = data.get("item") if isinstance(data, Mapping) else None
    return item if isinstance(item, Mapping) else {}


def _iso(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_to_html(text: str) -> str:
    """Our plain text as Intercom note HTML: blank lines make paragraphs, single newlines <br>; all escaped."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)


class IntercomConnector(LazyClient):
    type = "intercom"

    def __init__(self, account: HelpdeskAccount, webhooks: WebhookSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.account = account.name
        self._settings = account
        self._clock = clock  # unused by verification (Intercom sends no timestamp); kept for the common shape
        self._admin_id = account.admin_id

    def _build_client(self) -> httpx.Client:
        return make_client(self._settings, headers={
            "Authorization": f"Bearer {self._settings.api_token}",
            "Intercom-Version": self._settings.api_version or DEFAULT_API_VERSION})

    # --- webhooks ----------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self._settings.webhook_secret
        signature = ascii_header(headers.get("X-Hub-Signature") or next(
            (v for k, v in headers.items() if k.lower() == "x-hub-signature"), ""))  # plain dicts, any case
        if not secret or not signature.startswith("sha1="):
            return False
        expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        return hmac.compare_digest(expected, signature[len("sha1="):].lower())

    def parse_webhook(self, headers: Mapping[str, str], body: bytes,
                      payload: Mapping[str, Any]) -> TicketEvent | Ignored:
        topic = payload.get("topic") if isinstance(payload, Mapping) else None
        if not isinstance(topic, str) or not topic:
            raise MalformedPayload("missing field: `topic` (not an Intercom notification)")
        raw_id = _item(payload).get("id")
        if topic.startswith("conversation") and raw_id in (None, ""):
            raise MalformedPayload(f"topic {topic!r} without `data.item.id` (the conversation id)")
        handler = EVENT_HANDLERS.get(topic)
        if handler is None:
            why = next((why for prefix, why in IGNORED_FAMILIES if topic.startswith(prefix)), "not one we draft for")
            return Ignored(f"Intercom topic {topic!r}: {why}")
        if not payload.get("id"):
            raise MalformedPayload(f"topic {topic!r} without a notification `id`")
        # Intercom signs the body only, so the notification id inside it is the replay key. The conversation id
        # goes into API paths: `../../admins` must never become GET /admins with our token.
        conversation_id = token_id(raw_id, "data.item.id", INTERCOM_ID)
        event_id = token_id(payload["id"], "id")
        kind = handler(payload)
        if isinstance(kind, Ignored):
            return kind
        return TicketEvent(self.account, event_id, conversation_id, kind)

    # --- API ---------------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return send(self.http, method, path, attempts=self._settings.max_attempts, **kwargs)

    def self_admin_id(self) -> str:
        """The admin we write as: configured, else the token's owner (GET /me)."""
        if self._admin_id is None:
            self._admin_id = str(self._send("GET", "/me").json()["id"])
        return self._admin_id

    def fetch_ticket(self, ticket_id: str) -> Ticket | None:
        try:
            # HTML, not display_as=plaintext: Intercom's plain text shows hidden words as if visible (see comment_body).
            raw = self._send("GET", f"/conversations/{path_segment(ticket_id)}").json()
        except PermanentHelpdeskError as exc:
            if exc.status == 404:
                return None
            raise
        me, source = self.self_admin_id(), raw.get("source") or {}
        listing = raw.get("conversation_parts") or {}
        parts = listing.get("conversation_parts") or []
        # Past 500 parts Intercom returns the most recent 500 and there is no way to page back. We draft from what
        # we got (the latest turns are what matter) and say so; a draft ref older than that window is not seen.
        truncated = int(listing.get("total_count") or 0) > len(parts)
        if truncated:
            log.warning("conversation %s has %s parts; Intercom returned the latest %s",
                        ticket_id, listing.get("total_count"), len(parts))
        # The first message is `source`, not a part; it is never a note.
        first = {**source, "created_at": raw.get("created_at"), "part_type": "comment"}
        comments = [c for c in (self._comment(p, me) for p in [first, *parts]) if c is not None]
        tags = (raw.get("tags") or {}).get("tags") or []
        host = INBOX_HOSTS.get(self._settings.region, INBOX_HOSTS["us"])
        return Ticket(
            account=self.account, id=str(raw["id"]), status=raw.get("state") or "",
            subject=readable_text(raw.get("title") or source.get("subject") or ""),
            requester_id=self._requester(raw), url=f"https://{host}/a/inbox/_/inbox/conversation/{raw['id']}",
            comments=tuple(comments), tags=tuple(t.get("name", "") for t in tags),
            extra={"admin_assignee_id": raw.get("admin_assignee_id") or None,  # Intercom says 0 or null: unassigned
                   "team_assignee_id": raw.get("team_assignee_id") or None,
                   "ai_agent_participated": bool(raw.get("ai_agent_participated")), "parts_truncated": truncated},
            people=self._people([first, *parts], self._requester(raw), me))

    def changed_tickets(self, since: float) -> Iterator[ChangedTicket]:
        query = {"field": "updated_at", "operator": ">", "value": int(since) - 1}  # ">" is strict: include `since`
        pagination: dict[str, Any] = {"per_page": SEARCH_PER_PAGE}
        while True:
            page = self._send("POST", "/conversations/search", json={"query": query, "pagination": pagination}).json()
            for raw in page.get("conversations") or []:
                yield ChangedTicket(str(raw["id"]), float(raw.get("updated_at") or 0))
            cursor = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if not cursor:
                return
            pagination = {"per_page": SEARCH_PER_PAGE, "starting_after": cursor}

    @staticmethod
    def _people(parts: Sequence[Mapping[str, Any]], requester: str, me: str) -> tuple[Person, ...]:
        """Named authors of the conversation: the requester first, then teammates, then other contacts."""
        found: dict[str, Person] = {}
        for part in parts:
            author = part.get("author") or {}
            author_id, name = str(author.get("id") or ""), author.get("name") or ""
            if not name or author_id == me or author_id in found or author.get("type") not in (*CONTACT_TYPES, "admin"):
                continue
            role = "customer" if author_id == requester else ("agent" if author.get("type") == "admin" else "other")
            found[author_id] = Person(name, author.get("email") or None, role)
        order = {"customer": 0, "agent": 1, "other": 2}
        return tuple(sorted(found.values(), key=lambda p: (order[p.role],)))

    @staticmethod
    def _requester(raw: Mapping[str, Any]) -> str:
        author = (raw.get("source") or {}).get("author") or {}
        if author.get("type") in CONTACT_TYPES:
            return str(author.get("id") or "")
        contacts = (raw.get("contacts") or {}).get("contacts") or []  # admin-initiated: the first contact
        return str(contacts[0].get("id") or "") if contacts else ""

    @staticmethod
    def _comment(part: Mapping[str, Any], me: str) -> Comment | None:
        author = part.get("author") or {}
        kind, author_id = author.get("type"), str(author.get("id") or "")
        markup = part.get("body") or ""
        body = readable_text(markup) if kind == "admin" and author_id == me else comment_body(markup)
        if not body or part.get("part_type") in NOTICE_PART_TYPES:  # assignments, state changes: events
            return None
        email = author.get("email") or ""
        if kind in CONTACT_TYPES:
            role = "customer"
        elif kind == "admin" and author_id == me:
            role = "self"
        elif kind == "bot" or author.get("from_ai_agent") or author.get("is_ai_answer") \
                or (email.startswith("operator+") and email.endswith("@intercom.io")):
            role = "system"
        elif kind in ("admin", "team"):
            role = "agent"
        else:
            role = "system"
        # The spec: app_package_code is "the app package code if this part was created via API. null if the part
        # was not created via API". The first message (`source`) has no such field, so it counts as not via API.
        return Comment(id=str(part.get("id") or ""), author_id=author_id, author_role=role, body=body,
                       public="note" not in (part.get("part_type") or ""),  # note, and note_and_reopen
                       via_api=part.get("app_package_code") is not None, created_at=_iso(part.get("created_at")))

    def _reply(self, ticket_id: str, body: str, message_type: str) -> str:
        payload = {"message_type": message_type, "type": "admin", "admin_id": self.self_admin_id(),
                   "body": text_to_html(body)}
        conversation = self._send("POST", f"/conversations/{path_segment(ticket_id)}/reply", json=payload).json()
        # The answer is the conversation carrying the part just created (the spec's examples show only that part).
        parts = (conversation.get("conversation_parts") or {}).get("conversation_parts") or []
        return str(parts[-1]["id"]) if parts else ""

    def post_note(self, ticket_id: str, body: str) -> str:
        return self._reply(ticket_id, body, "note")

    def post_reply(self, ticket_id: str, body: str) -> str:
        return self._reply(ticket_id, body, "comment")

    def escalate(self, ticket_id: str, body: str, tags: Sequence[str], group: str | None) -> str:
        """The note, then the tags (created when missing), then the team assignment; returns the note's id."""
        if group is not None and not str(group).isdigit():  # refused before anything is written
            raise PermanentHelpdeskError(f"Intercom team must be a numeric team id, got {group!r}")
        note_id = self.post_note(ticket_id, body)
        self.route_handoff(ticket_id, tags, group)
        return note_id

    def route_handoff(self, ticket_id: str, tags: Sequence[str], group: str | None) -> None:
        """Tags (created when missing) and the team assignment; both are safe to apply twice."""
        if tags:
            known = {t["name"]: str(t["id"]) for t in self._send("GET", "/tags").json().get("data") or []}
            for name in dict.fromkeys(tags):
                tag_id = known.get(name) or str(self._send("POST", "/tags", json={"name": name}).json()["id"])
                self._send("POST", f"/conversations/{path_segment(ticket_id)}/tags",
                           json={"id": tag_id, "admin_id": self.self_admin_id()})
        if group:
            # assign_conversation_request: `type` is the kind of assignee, `admin_id` the admin doing it.
            self._send("POST", f"/conversations/{path_segment(ticket_id)}/parts",
                       json={"message_type": "assignment", "type": "team", "admin_id": self.self_admin_id(),
                             "assignee_id": str(group)})
