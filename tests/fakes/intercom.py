"""An in-memory Intercom REST API (version 2.16) served over real HTTP, plus helpers to build signed webhook deliveries.

Shapes come from Intercom's OpenAPI description (connectors/fixtures/intercom/openapi-2.16, its response EXAMPLES for
the operations served here) and from the 2026 captured delivery `zulip-webhooks/conversation_operator_replied.json`.
Where the capture breaks the spec's schema and the spec's examples offer a valid value, the fake uses the example's
value (`priority: "none"` not "not_priority", `statistics: null`, `custom_attributes: {}`). Where capture and examples
agree on a value the schema forbids (null `admin_assignee_id`, `ai_agent`, `assigned_to`, `email_message_metadata`),
the fake sends what Intercom sends; tests/connectors/test_intercom_openapi.py lists those spec defects.

Quirks the fake reproduces on purpose:
- Reply/note and manage (`/parts`) answers are the conversation carrying ONLY the part just created (the spec's
  examples all show `total_count: 1`); GET returns every part, at most the 500 most recent, `total_count` = all.
- The first message is `source`, not a part. Bodies are stored as HTML; plain text sent in a reply is wrapped in <p>.
  `display_as=plaintext` turns bodies into text (<p> → blank line, <br> → newline, links → `label (url)`).
- Parts written through the API carry the caller's `app_package_code`; parts added with add_part() do not.
- Every write names an `admin_id` that must exist; tags must exist before they are attached (404 tag_not_found).
- Errors are `{"type": "error.list", "request_id", "errors": [{"code", "message"}]}`. Every answer carries
  X-RateLimit-Limit/-Remaining/-Reset (epoch seconds, end of the 10-second window, from the REAL clock because the
  client compares it with its own wall clock); a 429 has Remaining 0 and no Retry-After.
Help Center and search: GET /articles is page-numbered (`page`, `per_page`, `pages.total_pages`), newest first, drafts
included (`state`), multilingual articles carry `translated_content` per locale. POST /conversations/search takes
the spec's nested `query` (AND/OR of {field, operator, value}) and `pagination` ({per_page <= 150, starting_after})
and answers a `conversation.list` whose `pages.next.starting_after` is set while more remain.
Assumptions (not documented in the 2.16 spec): an unknown acting admin is 404 admin_not_found, an unknown team in an
assignment is 404 assignee_not_found (the code /tickets uses), a bad `Intercom-Version` is 400 intercom_version_invalid.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from flask import Flask, Response, g, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from tests.fakes.faults import Faults

VERSIONS = tuple(f"1.{n}" for n in range(5)) + tuple(f"2.{n}" for n in range(17)) + ("Unstable",)
CONTACT_ROLES = ("user", "lead")
AUTHOR_TYPES = ("user", "lead", "admin", "bot", "team")
MAX_PARTS = 500
WINDOW_SECONDS = 10
ERROR_CODES: dict[int, tuple[str, str]] = {
    400: ("parameter_invalid", "Invalid parameters"),
    401: ("unauthorized", "Access Token Invalid"),
    403: ("api_plan_restricted", "Active subscription needed."),
    404: ("not_found", "Resource Not Found"),
    409: ("conflict", "Conflict"),
    429: ("rate_limit_exceeded", "Exceeded rate limit"),
    500: ("server_error", "Internal server error"),
    502: ("service_unavailable", "Bad gateway"),
    503: ("service_unavailable", "Service unavailable"),
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json; charset=utf-8")


def _error(status: int, code: str | None = None, message: str | None = None) -> Response:
    default_code, default_message = ERROR_CODES.get(status, ("error", f"HTTP {status}"))
    return _json({"type": "error.list", "request_id": str(uuid.uuid4()),
                  "errors": [{"code": code or default_code, "message": message or default_message}]}, status)


def _as_html(body: str) -> str:
    return body if body.lstrip().startswith("<") else f"<p>{body}</p>"


def _plaintext(markup: str | None) -> str | None:
    """Intercom's display_as=plaintext, approximately: the connector's own converter is NOT reused here."""
    if markup is None:
        return None
    text = re.sub(r'(?is)<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>', r"\2 (\1)", markup)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)</(p|div|h[1-6]|li|ul|ol)\s*>", "\n\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class FakeIntercom:
    """One Intercom workspace: admins, contacts, teams, conversations, tags, and a Flask `.app` serving the API."""

    def __init__(self, token: str = "tok", admin_id: str = "991", *, admin_name: str = "Deskdraft Assistant",
                 app_id: str = "abc123def", app_package_code: str = "deskdraft-test", rate_limit: int = 1666,
                 clock: Callable[[], float] | None = None) -> None:
        self.token = token
        self.admin_id = str(admin_id)
        self.app_id = app_id
        self.app_package_code = app_package_code
        self.rate_limit = rate_limit  # per 10-second window, as Intercom enforces it
        self._clock = clock or time.time  # epoch seconds for created_at/updated_at
        self._lock = threading.RLock()
        self._admins: dict[str, dict[str, Any]] = {}
        self._contacts: dict[str, dict[str, Any]] = {}
        self._teams: dict[str, dict[str, Any]] = {}
        self._conversations: dict[str, dict[str, Any]] = {}
        self._parts: dict[str, list[dict[str, Any]]] = {}
        self._tags: dict[str, dict[str, Any]] = {}
        self._articles: dict[str, dict[str, Any]] = {}
        self._next_id = 4_000_000
        self._window: tuple[int, int] = (0, 0)  # (window start, requests served in it)
        self._faults = Faults()
        self.requests: list[tuple[str, str]] = []  # every request seen: (method, path with query string)
        self.versions: list[str | None] = []  # the Intercom-Version header of each request, in the same order
        # Writes that changed state: {"method", "path", "json", "headers"}; headers look up case-insensitively.
        self.writes: list[dict[str, Any]] = []
        self.auth_failures: list[dict[str, Any]] = []  # {"method", "path", "authorization"} per 401 answered
        self.errors: list[BaseException] = []  # bugs inside the fake itself; a test should assert this is empty
        self.add_admin(self.admin_id, admin_name, email="assistant@acme.test")
        self.app = self._build_app()

    # ----- state helpers for tests -------------------------------------------------------------------------------

    def add_admin(self, id: str | int, name: str, *, email: str | None = None) -> dict[str, Any]:
        admin = {"type": "admin", "id": str(id), "name": name, "email": email or f"admin{id}@acme.test",
                 "away_mode_enabled": False, "away_mode_reassign": False, "away_status_reason_id": None,
                 "has_inbox_seat": True, "team_ids": []}
        with self._lock:
            self._admins[str(id)] = admin
        return copy.deepcopy(admin)

    def add_contact(self, id: str, name: str, role: str = "user", *, email: str | None = None,
                    external_id: str | None = None) -> dict[str, Any]:
        """A contact is a `user` (identified) or a `lead` (anonymous visitor); both are customers."""
        if role not in CONTACT_ROLES:
            raise ValueError(f"role must be one of {CONTACT_ROLES}, got {role!r}")
        contact = {"type": "contact", "id": str(id), "role": role, "name": name,
                   "email": email or f"{re.sub(r'[^a-z0-9]+', '.', name.lower()).strip('.')}@example.test",
                   "external_id": external_id}
        with self._lock:
            self._contacts[str(id)] = contact
        return copy.deepcopy(contact)

    def add_team(self, id: str | int, name: str) -> dict[str, Any]:
        team = {"type": "team", "id": str(id), "name": name, "admin_ids": []}
        with self._lock:
            self._teams[str(id)] = team
        return copy.deepcopy(team)

    def add_conversation(self, id: str | int, contact_id: str, body: str, created_at: int | None = None, *,
                         subject: str = "", **fields: Any) -> dict[str, Any]:
        """A customer-initiated conversation whose first message (`source`) is `body` (HTML or plain text)."""
        with self._lock:
            contact = self._contact(contact_id)
            now = int(created_at if created_at is not None else self._clock())
            conversation = {
                "type": "conversation", "id": str(id), "created_at": now, "updated_at": now, "waiting_since": now,
                "snoozed_until": None,
                "source": {"type": "conversation", "id": self._new_id(), "delivered_as": "customer_initiated",
                           "subject": subject, "body": _as_html(body),
                           "author": self._author(contact["role"], contact["id"]),
                           "attachments": [], "url": None, "redacted": False},
                "contacts": {"type": "contact.list", "contacts": [
                    {"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}]},
                "first_contact_reply": {"created_at": now, "type": "conversation", "url": None},
                "admin_assignee_id": None, "team_assignee_id": None, "open": True, "state": "open", "read": False,
                "tags": {"type": "tag.list", "tags": []}, "priority": "none", "sla_applied": None,
                "statistics": None, "conversation_rating": None, "teammates": {"type": "admin.list", "admins": []},
                "title": None, "custom_attributes": {}, "ticket": None,
                "topics": {"type": "topic.list", "topics": [], "total_count": 0},
                "linked_objects": {"type": "list", "data": [], "total_count": 0, "has_more": False},
                "ai_agent": None, "ai_agent_participated": False,
            }
            self._override(conversation, fields, "conversation")
            self._conversations[str(id)] = conversation
            self._parts[str(id)] = []
            return self._view(conversation, self._parts[str(id)])

    def add_part(self, conversation_id: str | int, author_type: str, author_id: str | int, body: str | None,
                 part_type: str = "comment", *, created_at: int | None = None, **fields: Any) -> dict[str, Any]:
        """Append a part as if written in Intercom (no app_package_code unless given); `author_type` as Intercom's."""
        with self._lock:
            conversation = self._conversations[str(conversation_id)]
            part = self._append(conversation, author_type, str(author_id), body, part_type, created_at, None)
            self._override(part, fields, "part")
            return copy.deepcopy(part)

    def set_state(self, id: str | int, state: str, *, at: int | None = None) -> None:
        """Close/open/snooze a conversation as a teammate would in the inbox; updated_at moves."""
        with self._lock:
            conversation = self._conversations[str(id)]
            conversation["state"], conversation["open"] = state, state == "open"
            conversation["updated_at"] = int(at if at is not None else self._clock())

    def add_article(self, id: str | int, title: str, body: str, state: str = "published", *,
                    translations: dict[str, dict[str, Any]] | None = None, updated_at: int | None = None,
                    **fields: Any) -> dict[str, Any]:
        """An article (HTML body); `translations` makes it multilingual: {locale: {title, body, state}}."""
        now = int(updated_at if updated_at is not None else self._clock())
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        article = {
            "type": "article", "id": str(id), "workspace_id": self.app_id, "title": title, "description": "",
            "body": body, "author_id": int(self.admin_id), "state": state, "created_at": now, "updated_at": now,
            "url": f"https://help.acme.test/en/articles/{id}-{slug}" if state == "published" else None,
            "parent_ids": [], "tags": {"type": "tag.list", "tags": []},
        }
        if translations:
            article["default_locale"] = next(iter(translations))
            article["translated_content"] = {"type": "article_translated_content", **{
                locale: {"type": "article_content", "title": t.get("title", title), "description": "",
                         "body": t.get("body", body), "author_id": int(self.admin_id),
                         "state": t.get("state", "published"), "created_at": now, "updated_at": now,
                         "url": f"https://help.acme.test/{locale}/articles/{id}-{slug}"}
                for locale, t in translations.items()}}
        self._override(article, fields, "article")
        with self._lock:
            self._articles[str(id)] = article
        return copy.deepcopy(article)

    def edit_article(self, id: str | int, **fields: Any) -> None:
        """Edit the default-locale content (title=, body=, state=); updated_at moves."""
        with self._lock:
            article = self._articles[str(id)]
            self._override(article, fields, "article")
            article["updated_at"] = int(self._clock())

    def remove_article(self, id: str | int) -> None:
        with self._lock:
            self._articles.pop(str(id), None)

    def conversation(self, id: str | int) -> dict[str, Any]:
        """The conversation as GET /conversations/{id} returns it (HTML bodies, every part)."""
        with self._lock:
            return self._view(self._conversations[str(id)], self._parts[str(id)])

    def parts(self, id: str | int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._parts[str(id)])

    def tags(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._tags.values()))

    def fail_next(self, status: int, times: int = 1, reset_in: float | None = None,
                  path_contains: str | None = None, body: dict[str, Any] | None = None) -> None:
        """Answer the next `times` matching requests with `status` before auth or handling.

        A 429 carries X-RateLimit-Reset `reset_in` seconds ahead (1 unless given) and X-RateLimit-Remaining 0.
        """
        self._faults.fail(status, times, reset_in, path_contains, body)

    def delay_next(self, seconds: float, path_contains: str | None = None, times: int = 1) -> None:
        """Make the next `times` matching requests wait `seconds` before being answered."""
        self._faults.delay(seconds, path_contains, times)

    # ----- internals -----------------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    def _contact(self, contact_id: str) -> dict[str, Any]:
        if str(contact_id) not in self._contacts:
            raise KeyError(f"no contact {contact_id}: call add_contact({contact_id!r}, name) first")
        return self._contacts[str(contact_id)]

    @staticmethod
    def _override(record: dict[str, Any], fields: dict[str, Any], kind: str) -> None:
        unknown = set(fields) - set(record)
        if unknown:
            raise TypeError(f"unknown {kind} fields {sorted(unknown)}")
        record.update(fields)

    def _author(self, author_type: str, author_id: str) -> dict[str, Any]:
        if author_type not in AUTHOR_TYPES:
            raise ValueError(f"author_type must be one of {AUTHOR_TYPES}, got {author_type!r}")
        if author_type in CONTACT_ROLES:
            who = self._contact(author_id)
        elif author_type == "admin":
            if author_id not in self._admins:
                raise KeyError(f"no admin {author_id}: call add_admin({author_id!r}, name) first")
            who = self._admins[author_id]
        elif author_type == "team":
            who = {"name": self._teams.get(author_id, {}).get("name", "Team"), "email": f"team{author_id}@acme.test"}
        else:  # Fin and other bots write from an operator address of the workspace
            who = {"name": "Fin", "email": f"operator+{self.app_id}@intercom.io"}
        return {"type": author_type, "id": author_id, "name": who["name"], "email": who.get("email") or "",
                "from_ai_agent": False, "is_ai_answer": False}

    def _append(self, conversation: dict[str, Any], author_type: str, author_id: str, body: str | None,
                part_type: str, created_at: int | None, app_package_code: str | None,
                assigned_to: dict[str, Any] | None = None) -> dict[str, Any]:
        now = int(created_at if created_at is not None else self._clock())
        part = {"type": "conversation_part", "id": self._new_id(), "part_type": part_type,
                "body": _as_html(body) if body else None, "created_at": now, "updated_at": now, "notified_at": now,
                "assigned_to": assigned_to, "author": self._author(author_type, author_id), "attachments": [],
                "external_id": None, "redacted": False, "metadata": {}, "email_message_metadata": None,
                "state": conversation["state"], "tags": [], "event_details": {}, "app_package_code": app_package_code}
        self._parts[conversation["id"]].append(part)
        conversation["updated_at"] = now
        if body and part_type != "note":
            conversation["waiting_since"] = now if author_type in CONTACT_ROLES else None
        if author_type == "admin" and all(a["id"] != author_id for a in conversation["teammates"]["admins"]):
            conversation["teammates"]["admins"].append({"type": "admin", "id": author_id})
        return part

    @staticmethod
    def _view(conversation: dict[str, Any], parts: list[dict[str, Any]], plaintext: bool = False) -> dict[str, Any]:
        view = copy.deepcopy(conversation)
        shown = copy.deepcopy(parts[-MAX_PARTS:])  # Intercom's hard limit: the 500 most recent parts
        if plaintext:
            view["source"]["body"] = _plaintext(view["source"]["body"])
            view["source"]["subject"] = _plaintext(view["source"]["subject"])
            for part in shown:
                part["body"] = _plaintext(part["body"])
        view["conversation_parts"] = {"type": "conversation_part.list", "conversation_parts": shown,
                                      "total_count": len(parts)}
        return view

    def _path(self) -> str:
        query = unquote(request.query_string.decode())
        return f"{request.path}?{query}" if query else request.path

    def _record_write(self, payload: Any) -> None:
        self.writes.append({"method": request.method, "path": self._path(), "json": payload,
                            "headers": Headers(request.headers)})

    # ----- HTTP ----------------------------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(f"fake_intercom_{id(self)}")
        app.add_url_rule("/me", "me", self._get_me)
        app.add_url_rule("/admins/<admin_id>", "admin", self._get_admin)
        app.add_url_rule("/conversations/<conversation_id>", "conversation", self._get_conversation)
        app.add_url_rule("/conversations/<conversation_id>/reply", "reply", self._reply, methods=["POST"])
        app.add_url_rule("/conversations/<conversation_id>/parts", "parts", self._manage, methods=["POST"])
        app.add_url_rule("/conversations/<conversation_id>/tags", "tag_conversation", self._tag_conversation,
                         methods=["POST"])
        app.add_url_rule("/articles", "articles", self._list_articles)
        app.add_url_rule("/conversations/search", "search", self._search_conversations, methods=["POST"])
        app.add_url_rule("/tags", "list_tags", self._list_tags)
        app.add_url_rule("/tags", "create_tag", self._create_tag, methods=["POST"])
        app.before_request(self._before)
        app.after_request(self._after)
        app.register_error_handler(404, lambda e: _error(404))
        app.register_error_handler(405, lambda e: _error(404))
        app.register_error_handler(Exception, self._crash)
        return app

    def _before(self) -> Response | None:
        path = self._path()
        with self._lock:
            self.requests.append((request.method, path))
            self.versions.append(request.headers.get("Intercom-Version"))
            start = int(time.time()) // WINDOW_SECONDS * WINDOW_SECONDS
            served = self._window[1] + 1 if self._window[0] == start else 1
            self._window = (start, served)
            g.remaining, g.reset = max(self.rate_limit - served, 0), start + WINDOW_SECONDS
        fault = self._faults.before(path)
        if fault:
            if fault.status == 429:
                g.remaining, g.reset = 0, math.ceil(time.time() + (fault.wait or 0))
            if fault.body is not None:
                return _json(fault.body, fault.status)
            if fault.status == 429:
                return _error(429, message=f"Exceeded rate limit of {self.rate_limit} in 10_seconds")
            return _error(fault.status)
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            with self._lock:
                self.auth_failures.append({"method": request.method, "path": path,
                                           "authorization": request.headers.get("Authorization")})
            return _error(401)
        version = request.headers.get("Intercom-Version")
        if version is not None and version not in VERSIONS:
            return _error(400, "intercom_version_invalid", f"Requested resource is not available in version {version}")
        return None

    def _after(self, response: Response) -> Response:
        response.headers["X-RateLimit-Limit"] = str(self.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(g.get("remaining", self.rate_limit))
        response.headers["X-RateLimit-Reset"] = str(g.get("reset", int(time.time()) + WINDOW_SECONDS))
        return response

    def _crash(self, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # e.g. a malformed request werkzeug already refused
            return _error(exc.code or 500)
        with self._lock:
            self.errors.append(exc)
        return _error(500, "server_error", f"FakeIntercom bug: {exc!r}")

    def _payload(self) -> dict[str, Any] | Response:
        payload = request.get_json(silent=True)
        return payload if isinstance(payload, dict) else _error(400, "parameter_invalid", "Body must be a JSON object")

    def _acting_admin(self, payload: dict[str, Any]) -> str | Response:
        admin_id = payload.get("admin_id")
        if admin_id is None:
            return _error(400, "parameter_not_found", "admin_id not specified")
        return str(admin_id) if str(admin_id) in self._admins else _error(404, "admin_not_found", "Admin not found")

    def _get_me(self) -> Response:
        with self._lock:
            admin = self._admins[self.admin_id]
        return _json({"type": "admin", "id": admin["id"], "email": admin["email"], "name": admin["name"],
                      "email_verified": True, "has_inbox_seat": True,
                      "avatar": {"type": "avatar", "image_url": None},
                      "app": {"type": "app", "id_code": self.app_id, "name": "Acme", "created_at": 1_734_537_243,
                              "secure": False, "identity_verification": False, "timezone": "Europe/London",
                              "region": "US"}})

    def _get_admin(self, admin_id: str) -> Response:
        with self._lock:
            admin = self._admins.get(admin_id)
        return _json(admin) if admin else _error(404, "admin_not_found", "Admin not found")

    def _get_conversation(self, conversation_id: str) -> Response:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                return _error(404)
            plaintext = request.args.get("display_as") == "plaintext"
            return _json(self._view(conversation, self._parts[conversation_id], plaintext))

    def _reply(self, conversation_id: str) -> Response:
        payload = self._payload()
        if isinstance(payload, Response):
            return payload
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                return _error(404)
            if payload.get("type") != "admin":
                return _error(400, "parameter_invalid", "FakeIntercom implements admin replies only")
            message_type, body = payload.get("message_type"), payload.get("body")
            if message_type not in ("comment", "note"):
                return _error(400, "parameter_invalid", "message_type must be comment or note (quick_reply: n/a)")
            if not isinstance(body, str) or not body.strip():
                return _error(400, "parameter_not_found", "Body is required for comment and note")
            admin_id = self._acting_admin(payload)
            if isinstance(admin_id, Response):
                return admin_id
            part = self._append(conversation, "admin", admin_id, body, message_type, None, self.app_package_code)
            self._record_write(payload)
            return _json(self._view(conversation, [part]))

    def _manage(self, conversation_id: str) -> Response:
        payload = self._payload()
        if isinstance(payload, Response):
            return payload
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                return _error(404)
            admin_id = self._acting_admin(payload)
            if isinstance(admin_id, Response):
                return admin_id
            action, assigned_to = payload.get("message_type"), None
            if action == "assignment":
                kind, assignee = payload.get("type"), str(payload.get("assignee_id", ""))
                known = self._teams if kind == "team" else self._admins if kind == "admin" else None
                if known is None or not assignee:
                    return _error(400, "parameter_invalid", "type must be admin or team, with an assignee_id")
                if assignee != "0" and assignee not in known:
                    return _error(404, "assignee_not_found", "Assignee not found")
                conversation[f"{kind}_assignee_id"] = int(assignee) if assignee != "0" else None
                assigned_to = {"type": kind, "id": assignee} if assignee != "0" else None
            elif action in ("close", "open", "snoozed"):
                if action == "snoozed" and not isinstance(payload.get("snoozed_until"), int):
                    return _error(400, "parameter_not_found", "snoozed_until is required")
                conversation["state"] = {"close": "closed", "open": "open", "snoozed": "snoozed"}[action]
                conversation["open"] = action != "close"
                conversation["snoozed_until"] = payload.get("snoozed_until") if action == "snoozed" else None
            else:
                return _error(400, "parameter_invalid", "message_type must be assignment, close, open or snoozed")
            part = self._append(conversation, "admin", admin_id, payload.get("body"), action, None,
                                self.app_package_code, assigned_to)
            self._record_write(payload)
            return _json(self._view(conversation, [part]))

    def _list_articles(self) -> Response:
        try:
            page = int(request.args.get("page", 1))
            per_page = int(request.args.get("per_page", 25))
        except ValueError:
            return _error(400, "parameter_invalid", "page and per_page must be integers")
        if page < 1 or not 1 <= per_page <= 250:
            return _error(400, "parameter_invalid", "per_page must be between 1 and 250")
        with self._lock:
            items = sorted(self._articles.values(), key=lambda a: (-a["updated_at"], a["id"]))  # newest first
            shown = copy.deepcopy(items[(page - 1) * per_page:page * per_page])
        return _json({"type": "list", "pages": {"type": "pages", "page": page, "per_page": per_page,
                                                "total_pages": max(1, math.ceil(len(items) / per_page))},
                      "total_count": len(items), "data": shown})

    SEARCH_FIELDS = frozenset({"id", "state", "open", "created_at", "updated_at"})

    def _matches(self, conversation: dict[str, Any], query: Any) -> bool | Response:
        if not isinstance(query, dict):
            return _error(400, "parameter_invalid", "query must be an object")
        if query.get("operator") in ("AND", "OR") and isinstance(query.get("value"), list):
            results = [self._matches(conversation, q) for q in query["value"]]
            bad = next((r for r in results if isinstance(r, Response)), None)
            if bad is not None:
                return bad
            return all(results) if query["operator"] == "AND" else any(results)
        field, op, value = query.get("field"), query.get("operator"), query.get("value")
        if field not in self.SEARCH_FIELDS:
            return _error(400, "parameter_invalid", f"FakeIntercom cannot search on {field!r}")
        have = conversation[field]
        if field in ("created_at", "updated_at"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                return _error(400, "parameter_invalid", f"{field} needs a timestamp")
        tests = {"=": lambda: have == value, "!=": lambda: have != value, ">": lambda: have > value,
                 "<": lambda: have < value, "IN": lambda: have in value, "NIN": lambda: have not in value}
        if op not in tests:
            return _error(400, "parameter_invalid", f"operator {op!r} is not supported")
        return tests[op]()

    def _search_conversations(self) -> Response:
        payload = self._payload()
        if isinstance(payload, Response):
            return payload
        if "query" not in payload:
            return _error(400, "parameter_not_found", "query is required")
        pagination = payload.get("pagination") or {}
        per_page = pagination.get("per_page", 20)
        if not isinstance(per_page, int) or not 1 <= per_page <= 150:
            return _error(400, "per_page_invalid", "per_page must be between 1 and 150")
        with self._lock:
            found = []
            for conversation in sorted(self._conversations.values(), key=lambda c: int(c["id"])):
                hit = self._matches(conversation, payload["query"])
                if isinstance(hit, Response):
                    return hit
                if hit:
                    found.append(conversation)
            start = 0
            if pagination.get("starting_after"):
                try:
                    start = int(base64.urlsafe_b64decode(pagination["starting_after"]).decode())
                except (ValueError, TypeError):
                    return _error(400, "parameter_invalid", "starting_after is not a cursor from this search")
            shown = [self._view(c, [])  for c in found[start:start + per_page]]
            for view in shown:
                view.pop("conversation_parts")  # search results carry no parts
        pages: dict[str, Any] = {"type": "pages", "page": start // per_page + 1, "per_page": per_page,
                                 "total_pages": max(1, math.ceil(len(found) / per_page))}
        if start + per_page < len(found):
            pages["next"] = {"per_page": per_page,
                             "starting_after": base64.urlsafe_b64encode(str(start + per_page).encode()).decode()}
        return _json({"type": "conversation.list", "pages": pages, "total_count": len(found), "conversations": shown})

    def _list_tags(self) -> Response:
        with self._lock:
            return _json({"type": "list", "data": copy.deepcopy(list(self._tags.values()))})

    def _create_tag(self) -> Response:
        payload = self._payload()
        if isinstance(payload, Response):
            return payload
        name = payload.get("name")
        if not isinstance(name, str) or not name.strip():
            return _error(400, "parameter_invalid", "invalid tag parameters")
        if {"companies", "users"} & set(payload):
            return _error(400, "parameter_invalid", "FakeIntercom does not tag companies or users")
        with self._lock:
            if payload.get("id") is not None:  # update: rename the tag with that id
                tag = self._tags.get(str(payload["id"]))
                if tag is None:
                    return _error(404, "tag_not_found", "Tag not found")
                tag["name"] = name
            else:  # "create or update": an existing name answers with the existing tag
                tag = next((t for t in self._tags.values() if t["name"] == name), None)
                if tag is None:
                    tag = {"type": "tag", "id": self._new_id(), "name": name}
                    self._tags[tag["id"]] = tag
            self._record_write(payload)
            return _json(copy.deepcopy(tag))

    def _tag_conversation(self, conversation_id: str) -> Response:
        payload = self._payload()
        if isinstance(payload, Response):
            return payload
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                return _error(404, "not_found", "Conversation not found")
            if "id" not in payload:
                return _error(400, "parameter_not_found", "id not specified")
            admin_id = self._acting_admin(payload)
            if isinstance(admin_id, Response):
                return admin_id
            tag = self._tags.get(str(payload["id"]))
            if tag is None:
                return _error(404, "tag_not_found", "Tag not found")
            applied = {**tag, "applied_at": int(self._clock()), "applied_by": {"type": "admin", "id": admin_id}}
            tags = conversation["tags"]["tags"]
            if all(t["id"] != tag["id"] for t in tags):
                tags.append(applied)
            self._record_write(payload)
            return _json(applied)


# ----- webhooks (inbound to us) ------------------------------------------------------------------------------------

def sign_intercom(secret: str, body: bytes) -> dict[str, str]:
    """Headers of a signed Intercom notification: sha1= + hex HMAC-SHA1(client secret, raw body)."""
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def intercom_notification(topic: str, conversation_id: str | int, *, notification_id: str | None = None,
                          author_type: str = "user", body: str = "Hi, my order #1234 has not arrived yet.",
                          author_id: str | None = None, contact_id: str = "6762f1261bb69f9f2193bba7",
                          app_id: str = "abc123def", created_at: int | None = None) -> dict[str, Any]:
    """A `notification_event` in the current conversation model (as conversation_operator_replied.json, 2026).

    `*.created` topics carry the message as `source` and no parts; other conversation topics carry the one new part
    (a `note` for `conversation.admin.noted`), as Intercom's deliveries do. `ping` gets Intercom's ping item.
    """
    now = int(created_at if created_at is not None else time.time())
    envelope = {"type": "notification_event", "app_id": app_id, "links": {},
                "id": notification_id or f"notif_{uuid.uuid4()}", "topic": topic, "delivery_status": "pending",
                "delivery_attempts": 1, "delivered_at": 0, "first_sent_at": now, "created_at": now, "self": None}
    if topic == "ping":
        return {**envelope, "id": None, "delivery_status": None,
                "data": {"type": "notification_event_data", "item": {"type": "ping", "message": "something"}}}
    customer = {"type": "user", "id": contact_id, "name": "Casey Customer", "email": "casey@example.test"}
    if author_type in CONTACT_ROLES:
        author = {**customer, "type": author_type, "id": author_id or contact_id}
    elif author_type == "bot":
        author = {"type": "bot", "id": author_id or "9608808", "name": "Fin", "email": f"operator+{app_id}@intercom.io",
                  "from_ai_agent": True, "is_ai_answer": True}
    else:
        author = {"type": author_type, "id": author_id or "991", "name": "Avery Agent", "email": "avery@acme.test"}
    created = topic.endswith(".created")
    parts = [] if created else [{
        "type": "conversation_part", "id": str(37_358_121_213 + now % 1000),
        "part_type": "note" if topic.endswith(".noted") else "comment", "body": f"<p>{html.escape(body)}</p>",
        "created_at": now, "updated_at": now, "notified_at": now, "assigned_to": None, "author": author,
        "attachments": [], "external_id": None, "redacted": False, "metadata": {}, "email_message_metadata": None,
        "state": "open", "tags": [], "event_details": {}, "app_package_code": None}]
    item = {
        "type": "conversation", "id": str(conversation_id), "created_at": now, "updated_at": now,
        "waiting_since": now, "snoozed_until": None,
        "source": {"type": "conversation", "id": "3381828792", "delivered_as": "customer_initiated", "subject": "",
                   "body": f"<p>{html.escape(body)}</p>" if created else "<p>Hello</p>",
                   "author": author if created else customer, "attachments": [], "url": None, "redacted": False},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": contact_id, "external_id": None}]},
        "admin_assignee_id": None, "team_assignee_id": None, "open": True, "state": "open", "read": False,
        "tags": {"type": "tag.list", "tags": []}, "priority": "not_priority", "ai_agent_participated": False,
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": parts,
                               "total_count": len(parts)},
    }
    return {**envelope, "data": {"type": "notification_event_data", "item": item}}
