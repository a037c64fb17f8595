"""An in-memory Freshdesk API v2 served over real HTTP, plus helpers to build automation-rule webhook deliveries.

Shapes follow python-freshdesk's sample responses (connectors/fixtures/freshdesk/python-freshdesk); the connector
tests check the key sets against them. Quirks the fake reproduces on purpose:

- Basic auth with the API key as the user name and ANY password (docs use "X"); anything else is a 401 with
  `{"code": "invalid_credentials", ...}`.
- `POST /tickets/{id}/notes` makes a PRIVATE note unless `private: false` is sent (Freshdesk's default is true);
  `POST /tickets/{id}/reply` is always public and emails the requester. Both are authored by the key's agent.
- Strict request validation, as Freshdesk's: an unknown field is 400 `invalid_field`, a wrong JSON type is 400
  `datatype_mismatch`, a body without `Content-Type: application/json` is 415.
- `PUT /tickets/{id}` with `tags` REPLACES the list (there is no add-tags field).
- Conversations page with `page`/`per_page` (default 30, max 100; more is a 400) and carry a `Link: <...>; rel="next"`
  header while more pages exist. The ticket's description is not a conversation.
- Every answer carries `X-RateLimit-Total`, `X-RateLimit-Remaining`, `X-RateLimit-Used-CurrentRequest`
  (each `include=` costs one more credit); a 429 carries `Retry-After` in seconds.
- Solutions: categories → folders → articles (`status` 1 draft, 2 published), shaped like python-freshdesk's
  solution_*.json; a folder's articles in another language are `/articles/{language_code}`.
- GET /tickets lists without the description, newest `created_at` first by default, only the last 30 days unless
  `updated_since` is given; `order_by`/`order_type` sort. It answers at most `max_list_pages` (300) pages: a later
  page is a 400 (Freshworks' community answer: "a maximum of 300 pages (30000 tickets) will be returned").
  /search/tickets?query="..." answers {"total", "results"}, 30 a page, pages 1-10, and understands `status:N`,
  `updated_at:>'YYYY-MM-DD'` (and <), AND, OR and parentheses.
- A missing record is a 404 with an empty body (UNCONFIRMED; Freshdesk's error bodies are only documented for
  validation errors).
"""
from __future__ import annotations

import base64
import binascii
import copy
import html
import json
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode

from flask import Flask, Response, g, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from tests.fakes.faults import Faults

DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 100
STATUSES = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
PRIORITIES = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}
# Conversation `source`: 0 reply/email, 2 note (python-freshdesk samples); the rest per Freshdesk's old open source.
REPLY, NOTE = 0, 2
NOTE_FIELDS = {"body", "private", "incoming", "notify_emails", "user_id", "attachments"}
REPLY_FIELDS = {"body", "from_email", "user_id", "cc_emails", "bcc_emails", "attachments"}
TICKET_FIELDS = {"subject", "description", "status", "priority", "type", "source", "tags", "group_id",
                 "responder_id", "custom_fields", "due_by", "fr_due_by", "email_config_id", "product_id",
                 "company_id", "cc_emails"}
INCLUDES = {"requester", "stats", "conversations", "company", "description"}
WEBHOOK_HEADER = "X-Deskdraft-Secret"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, content_type="application/json; charset=utf-8")


def _validation(field: str, message: str, code: str = "invalid_value") -> Response:
    return _json({"description": "Validation failed",
                  "errors": [{"field": field, "message": message, "code": code}]}, 400)


def _not_found() -> Response:
    return Response(b"", 404, content_type="application/json; charset=utf-8")


def text_to_html(text: str) -> str:
    return "<div>" + "<br>".join(html.escape(line) for line in text.split("\n")) + "</div>"


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>", "\n", markup)
    text = re.sub(r"(?i)</(p|div|li|h\d)\s*>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _type_name(value: Any) -> str:
    return {bool: "Boolean", int: "Integer", str: "String", list: "Array", dict: "key/value pair"}.get(
        type(value), type(value).__name__)


class FakeFreshdesk:
    """One Freshdesk account: contacts, agents, tickets, conversations, and a Flask `.app` serving API v2."""

    def __init__(self, api_key: str = "key", agent_id: int = 77, *, agent_name: str = "Deskdraft Assistant",
                 domain: str = "acme", rate_limit: int = 200, clock: Callable[[], datetime] | None = None) -> None:
        self.api_key = api_key
        self.agent_id = agent_id
        self.domain = domain
        self.rate_limit = rate_limit
        self.max_list_pages = 300  # GET /tickets
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._contacts: dict[int, dict[str, Any]] = {}
        self._agents: dict[int, dict[str, Any]] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._conversations: dict[int, list[dict[str, Any]]] = {}
        self._categories: dict[int, dict[str, Any]] = {}
        self._folders: dict[int, dict[str, Any]] = {}
        self._articles: dict[tuple[int, str], dict[str, Any]] = {}  # (id, language) -> article
        self.primary_language = "en"
        self._next_id = 5_000
        self._served = 0
        self._faults = Faults()
        self.requests: list[tuple[str, str]] = []  # every request seen: (method, path with query string)
        self.writes: list[dict[str, Any]] = []  # {"method", "path", "json", "headers"} per successful write
        self.auth_failures: list[dict[str, Any]] = []  # {"method", "path", "authorization"} per 401 answered
        self.errors: list[BaseException] = []  # bugs inside the fake itself; a test should assert this is empty
        self.add_agent(agent_id, agent_name, email=f"assistant@{domain}.test")
        self.app = self._build_app()

    # ----- state helpers for tests -------------------------------------------------------------------------------

    def add_contact(self, id: int, name: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
        """A customer (Freshdesk "contact"), shaped like python-freshdesk's contact.json."""
        now = self._now()
        contact = {
            "active": True, "address": None, "company_id": None, "created_at": now, "custom_field": {},
            "customer_id": None, "deleted": False, "description": None, "email": email or f"contact{id}@example.test",
            "external_id": None, "fb_profile_id": None, "helpdesk_agent": False, "id": id, "job_title": None,
            "language": "en", "mobile": None, "name": name, "phone": None, "time_zone": "UTC", "twitter_id": None,
            "updated_at": now, "other_emails": [], "tags": [], "view_all_tickets": False,
        }
        self._override(contact, fields, "contact")
        with self._lock:
            self._contacts[id] = contact
        return copy.deepcopy(contact)

    def add_agent(self, id: int, name: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
        """An agent; Freshdesk agent ids are user ids, the ones conversations carry in `user_id`."""
        now = self._now()
        agent = {
            "available": True, "occasional": False, "signature": None, "id": id, "ticket_scope": 1,
            "created_at": now, "updated_at": now, "available_since": None, "type": "support_agent",
            "group_ids": [], "role_ids": [], "last_active_at": None,
            "contact": {"active": True, "email": email or f"agent{id}@acme.test", "job_title": None,
                        "language": "en", "last_login_at": None, "mobile": None, "name": name, "phone": None,
                        "time_zone": "UTC", "created_at": now, "updated_at": now},
        }
        self._override(agent, fields, "agent")
        with self._lock:
            self._agents[id] = agent
        return copy.deepcopy(agent)

    def add_ticket(self, id: int, subject: str, requester_id: int, description: str, status: int = 2,
                   tags: Iterable[str] = (), **fields: Any) -> dict[str, Any]:
        """A ticket; `description` is plain text (stored as HTML too), written by the requester."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, got {status!r}")
        with self._lock:
            self._user(requester_id)
            now = self._now()
            ticket = {
                "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [],
                "email_config_id": None, "fr_escalated": False, "group_id": None, "priority": 1,
                "priority_name": PRIORITIES[1], "requester_id": requester_id, "responder_id": None, "source": 2,
                "spam": False, "status": status, "subject": subject, "type": None, "company_id": None, "id": id,
                "to_emails": None, "product_id": None, "created_at": now, "updated_at": now, "due_by": now,
                "fr_due_by": now, "is_escalated": False, "description_text": description,
                "description": text_to_html(description), "custom_fields": {}, "tags": list(tags),
                "attachments": [],
            }
            self._override(ticket, fields, "ticket")
            self._tickets[id] = ticket
            self._conversations[id] = []
            return copy.deepcopy(ticket)

    def add_conversation(self, ticket_id: int, user_id: int, body: str, *, incoming: bool | None = None,
                         private: bool = False, source: int | None = None) -> dict[str, Any]:
        """Append a reply or note as if made in Freshdesk (not through our API).

        Defaults: `incoming` is true for contacts, `source` is 2 (note) when private, else 0 (reply).
        """
        with self._lock:
            ticket = self._tickets[ticket_id]
            self._user(user_id)
            if incoming is None:
                incoming = user_id in self._contacts and user_id not in self._agents
            if source is None:
                source = NOTE if private else REPLY
            return copy.deepcopy(self._append(ticket, user_id, text_to_html(body), private=private,
                                              incoming=incoming, source=source))

    def update_ticket(self, ticket_id: int, **fields: Any) -> dict[str, Any]:
        """Change ticket fields as an agent would in Freshdesk (status=4 resolves); updated_at moves."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            self._override(ticket, fields, "ticket")
            if "updated_at" not in fields:
                ticket["updated_at"] = self._now()
            return copy.deepcopy(ticket)

    def add_solution_category(self, id: int, name: str) -> dict[str, Any]:
        now = self._now()
        category = {"id": id, "name": name, "description": None, "created_at": now, "updated_at": now}
        with self._lock:
            self._categories[id] = category
        return copy.deepcopy(category)

    def add_solution_folder(self, id: int, category_id: int, name: str) -> dict[str, Any]:
        now = self._now()
        folder = {"id": id, "name": name, "description": None, "created_at": now, "updated_at": now,
                  "category_id": category_id, "visibility": 1}
        with self._lock:
            self._categories[category_id]  # KeyError for an unknown category
            self._folders[id] = folder
        return copy.deepcopy(folder)

    def add_solution_article(self, id: int, folder_id: int, title: str, description: str, status: int = 2, *,
                             language: str | None = None, **fields: Any) -> dict[str, Any]:
        """An article (HTML description) in a folder; status 1 draft, 2 published; language: a translation."""
        if status not in (1, 2):
            raise ValueError("status must be 1 (draft) or 2 (published)")
        now = self._now()
        with self._lock:
            folder = self._folders[folder_id]
            article = {"id": id, "type": 1, "status": status, "agent_id": self.agent_id, "created_at": now,
                       "category_id": folder["category_id"], "folder_id": folder_id, "title": title,
                       "updated_at": now, "description": description, "description_text": html_to_text(description),
                       "seo_data": {"meta_title": "", "meta_description": ""}, "tags": [], "attachments": [],
                       "cloud_files": [], "thumbs_up": 0, "thumbs_down": 0, "hits": 0, "suggested": 0,
                       "feedback_count": 0}
            self._override(article, fields, "article")
            self._articles[(id, language or self.primary_language)] = article
            return copy.deepcopy(article)

    def edit_solution_article(self, id: int, *, language: str | None = None, **fields: Any) -> None:
        with self._lock:
            article = self._articles[(id, language or self.primary_language)]
            self._override(article, fields, "article")
            if "description" in fields:
                article["description_text"] = html_to_text(fields["description"])
            article["updated_at"] = self._now()

    def remove_solution_article(self, id: int) -> None:
        with self._lock:
            for key in [k for k in self._articles if k[0] == id]:
                del self._articles[key]

    def conversations(self, ticket_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._conversations[ticket_id])

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._tickets[ticket_id])

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None,
                  path_contains: str | None = None, body: Any = None) -> None:
        """Answer the next `times` matching requests with `status`, before auth; a 429 always has Retry-After."""
        self._faults.fail(status, times, retry_after, path_contains, body)

    def delay_next(self, seconds: float, path_contains: str | None = None, times: int = 1) -> None:
        """Make the next `times` matching requests wait `seconds` before being answered."""
        self._faults.delay(seconds, path_contains, times)

    # ----- internals -----------------------------------------------------------------------------------------------

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _user(self, user_id: int) -> dict[str, Any]:
        user = self._agents.get(user_id) or self._contacts.get(user_id)
        if user is None:
            raise KeyError(f"no user {user_id}: call add_contact() or add_agent() first")
        return user

    def _email(self, user_id: int) -> str:
        user = self._user(user_id)
        return user["contact"]["email"] if user_id in self._agents else user["email"]

    @staticmethod
    def _override(record: dict[str, Any], fields: dict[str, Any], kind: str) -> None:
        unknown = set(fields) - set(record)
        if unknown:
            raise TypeError(f"unknown {kind} fields {sorted(unknown)}")
        record.update(fields)

    def _append(self, ticket: dict[str, Any], user_id: int, body_html: str, *, private: bool, incoming: bool,
                source: int, to_emails: list[str] | None = None, from_email: str | None = None) -> dict[str, Any]:
        now = self._now()
        conversation = {
            "body": body_html, "body_text": html_to_text(body_html), "id": self._new_id(), "incoming": incoming,
            "private": private, "user_id": user_id, "support_email": None, "source": source,
            "ticket_id": ticket["id"], "to_emails": to_emails or [], "from_email": from_email, "cc_emails": None,
            "bcc_emails": None, "created_at": now, "updated_at": now, "attachments": [], "category": 2,
            "last_edited_at": None, "last_edited_user_id": None,
        }
        self._conversations[ticket["id"]].append(conversation)
        ticket["updated_at"] = now
        return conversation

    def _authorized(self) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, _password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.api_key  # the password is ignored, as Freshdesk does

    @staticmethod
    def _path() -> str:
        query = unquote(request.query_string.decode())
        return f"{request.path}?{query}" if query else request.path

    def _record_write(self, payload: Any) -> None:
        self.writes.append({"method": request.method, "path": self._path(), "json": payload,
                            "headers": Headers(request.headers)})

    # ----- HTTP ----------------------------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(f"fake_freshdesk_{id(self)}")
        rules = [
            ("/api/v2/tickets/<int:ticket_id>", self._get_ticket, "GET"),
            ("/api/v2/tickets/<int:ticket_id>", self._put_ticket, "PUT"),
            ("/api/v2/tickets/<int:ticket_id>/conversations", self._list_conversations, "GET"),
            ("/api/v2/tickets/<int:ticket_id>/notes", self._post_note, "POST"),
            ("/api/v2/tickets/<int:ticket_id>/reply", self._post_reply, "POST"),
            ("/api/v2/agents/me", self._get_me, "GET"),
            ("/api/v2/agents/<int:agent_id>", self._get_agent, "GET"),
            ("/api/v2/contacts/<int:contact_id>", self._get_contact, "GET"),
            ("/api/v2/tickets", self._list_tickets, "GET"),
            ("/api/v2/search/tickets", self._search_tickets, "GET"),
            ("/api/v2/solutions/categories", self._list_categories, "GET"),
            ("/api/v2/solutions/categories/<int:category_id>/folders", self._list_folders, "GET"),
            ("/api/v2/solutions/folders/<int:folder_id>/articles", self._list_articles, "GET"),
            ("/api/v2/solutions/folders/<int:folder_id>/articles/<language>", self._list_articles, "GET"),
        ]
        for rule, view, method in rules:
            app.add_url_rule(rule, f"{view.__name__}_{method}", view, methods=[method])
        app.before_request(self._before)
        app.after_request(self._after)
        app.register_error_handler(404, lambda e: _not_found())
        app.register_error_handler(405, lambda e: _json({"code": "method_not_allowed",
                                                         "message": "Method not allowed"}, 405))
        app.register_error_handler(Exception, self._crash)
        return app

    def _before(self) -> Response | None:
        path = self._path()
        with self._lock:
            self.requests.append((request.method, path))
            self._served += 1
            g.served = self._served
        fault = self._faults.before(path)
        if fault:
            body = fault.body if fault.body is not None else (
                {"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"}
                if fault.status == 429 else {"code": "error", "message": f"HTTP {fault.status}"})
            response = _json(body, fault.status)
            if fault.wait is not None:
                response.headers["Retry-After"] = str(fault.wait)
            return response
        if not self._authorized():
            with self._lock:
                self.auth_failures.append({"method": request.method, "path": path,
                                           "authorization": request.headers.get("Authorization")})
            return _json({"code": "invalid_credentials",
                          "message": "You have to be logged in to perform this action."}, 401)
        if request.method in ("POST", "PUT") and request.mimetype != "application/json":
            return _json({"code": "invalid_content_type",
                          "message": "Content-Type header should have application/json"}, 415)
        return None

    def _after(self, response: Response) -> Response:
        includes = [part for part in request.args.get("include", "").split(",") if part]
        cost = 1 + len(includes)
        used = (g.get("served", 1) - 1) % self.rate_limit  # the per-minute window "resets" every rate_limit calls
        response.headers["X-RateLimit-Total"] = str(self.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(max(self.rate_limit - used - cost, 0))
        response.headers["X-RateLimit-Used-CurrentRequest"] = str(cost)
        return response

    def _crash(self, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _json({"code": "error", "message": exc.description}, exc.code or 500)
        with self._lock:
            self.errors.append(exc)
        return _json({"code": "fake_freshdesk_bug", "message": repr(exc)}, 500)

    def _payload(self, allowed: set[str]) -> dict[str, Any] | Response:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return _validation("body", "Request body must be a JSON object", "invalid_json")
        for field in payload:
            if field not in allowed:
                return _validation(field, "Unexpected/invalid field in request", "invalid_field")
        return payload

    def _ticket_json(self, ticket: dict[str, Any], includes: Iterable[str] = ()) -> dict[str, Any]:
        body = copy.deepcopy(ticket)
        if "requester" in includes:
            requester = self._user(ticket["requester_id"])
            body["requester"] = {"id": ticket["requester_id"], "name": requester.get("name") or
                                 requester["contact"]["name"], "email": self._email(ticket["requester_id"]),
                                 "mobile": None, "phone": None}
        if "stats" in includes:
            body["stats"] = {"agent_responded_at": None, "requester_responded_at": None,
                             "first_responded_at": None, "status_updated_at": ticket["updated_at"],
                             "reopened_at": None, "resolved_at": None, "closed_at": None, "pending_since": None}
        if "conversations" in includes:  # Freshdesk embeds only the first few; clients must page the endpoint
            body["conversations"] = copy.deepcopy(self._conversations[ticket["id"]][:10])
        return body

    def _get_ticket(self, ticket_id: int) -> Response:
        includes = [part for part in request.args.get("include", "").split(",") if part]
        bad = [part for part in includes if part not in INCLUDES]
        if bad:
            return _validation("include", f"It should be one/more of: {','.join(sorted(INCLUDES))}")
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            return _json(self._ticket_json(ticket, includes)) if ticket else _not_found()

    def _list_conversations(self, ticket_id: int) -> Response:
        with self._lock:
            if ticket_id not in self._tickets:
                return _not_found()
            items = copy.deepcopy(self._conversations[ticket_id])
        return self._paged(items)

    def _paged(self, items: list[Any], render: Callable[[Any], Any] = lambda item: item) -> Response:
        """Freshdesk's page/per_page (default 30, max 100) with a Link rel=next header while more remain; `render`
        makes the answer's copy of the items on the page only (a list of 10,000 tickets is not copied per page)."""
        try:
            page = int(request.args.get("page", 1))
            per_page = int(request.args.get("per_page", DEFAULT_PER_PAGE))
        except ValueError:
            return _validation("page", "It should be a Positive Integer", "datatype_mismatch")
        if page < 1:
            return _validation("page", "It should be a Positive Integer")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _validation("per_page", f"It should be a Positive Integer less than or equal to {MAX_PER_PAGE}")
        start = (page - 1) * per_page
        headers = {}
        if start + per_page < len(items):
            query = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
            link = f"{request.base_url}?{urlencode({**query, 'page': page + 1, 'per_page': per_page})}"
            headers["Link"] = f'<{link}>; rel="next"'
        return _json([render(item) for item in items[start:start + per_page]], headers=headers)

    @staticmethod
    def _listed(ticket: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in ticket.items() if k not in ("description", "description_text")}

    def _list_tickets(self) -> Response:
        args = request.args
        order_by, order_type = args.get("order_by", "created_at"), args.get("order_type", "desc")
        if order_by not in ("created_at", "due_by", "updated_at", "status"):
            return _validation("order_by", "It should be one of these values: 'created_at,due_by,updated_at,status'")
        if order_type not in ("asc", "desc"):
            return _validation("order_type", "It should be one of these values: 'asc,desc'")
        with self._lock:
            tickets = list(self._tickets.values())
            if "updated_since" in args:
                since = args["updated_since"]
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", since):
                    return _validation("updated_since", "It should be in the 'valid date' format", "invalid_date")
                tickets = [t for t in tickets if t["updated_at"] >= since]
            else:  # Freshdesk: without updated_since, only tickets created in the past 30 days
                cutoff = (self._clock() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
                tickets = [t for t in tickets if t["created_at"] >= cutoff]
            tickets.sort(key=lambda t: (t[order_by], t["id"]), reverse=order_type == "desc")
            page = request.args.get("page", "1")
            if page.isdigit() and int(page) > self.max_list_pages:
                limit = self.max_list_pages
                return _validation("page", f"It should be a Positive Integer less than or equal to {limit}")
            return self._paged(tickets, self._listed)

    _SEARCH_TOKEN = re.compile(r"\s*(\(|\)|AND\b|OR\b|(\w+):([<>]?)'?([\w:-]+)'?)")

    def _search_tickets(self) -> Response:
        query = request.args.get("query", "")
        if len(query) < 2 or query[0] != '"' or query[-1] != '"':
            return _validation("query", "Query should be wrapped in double quotes", "invalid_value")
        if len(query) > 512:
            return _validation("query", "Query length should not exceed 512 characters", "invalid_value")
        try:
            page = int(request.args.get("page", 1))
        except ValueError:
            return _validation("page", "It should be a Positive Integer", "datatype_mismatch")
        if not 1 <= page <= 10:
            return _validation("page", "It should be a Positive Integer less than or equal to 10")
        tokens, text = [], query[1:-1]
        while text.strip():
            match = self._SEARCH_TOKEN.match(text)
            if not match:
                return _validation("query", f"Unsupported query near {text.strip()[:20]!r}", "invalid_value")
            tokens.append(match.groups()[1:] if match.group(2) else match.group(1))
            text = text[match.end():]
        with self._lock:
            try:
                hits = [t for t in sorted(self._tickets.values(), key=lambda t: t["updated_at"], reverse=True)
                        if _evaluate(list(tokens), t)]
            except ValueError as exc:
                return _validation("query", str(exc), "invalid_value")
            return _json({"total": len(hits), "results": [self._listed(t) for t in hits[(page - 1) * 30:page * 30]]})

    def _list_categories(self) -> Response:
        with self._lock:
            return _json([copy.deepcopy(c) for _, c in sorted(self._categories.items())])

    def _list_folders(self, category_id: int) -> Response:
        with self._lock:
            if category_id not in self._categories:
                return _not_found()
            return _json([{k: copy.deepcopy(v) for k, v in f.items() if k != "category_id"}
                          for _, f in sorted(self._folders.items()) if f["category_id"] == category_id])

    def _list_articles(self, folder_id: int, language: str | None = None) -> Response:
        language = language or self.primary_language
        with self._lock:
            if folder_id not in self._folders:
                return _not_found()
            items = [copy.deepcopy(a) for (_, lang), a in sorted(self._articles.items())
                     if lang == language and a["folder_id"] == folder_id]
        return self._paged(items)

    def _post_note(self, ticket_id: int) -> Response:
        payload = self._payload(NOTE_FIELDS)
        if isinstance(payload, Response):
            return payload
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return _not_found()
            error = self._check_body(payload)
            for field in ("private", "incoming"):
                if field in payload and not isinstance(payload[field], bool):
                    error = error or _validation(field, f"Value set is of type {_type_name(payload[field])}."
                                                        "It should be a/an Boolean", "datatype_mismatch")
            author = payload.get("user_id", self.agent_id)
            if author not in self._agents and author not in self._contacts:
                error = error or _validation("user_id", "There is no contact/agent matching the given user_id")
            if error:
                return error
            note = self._append(ticket, author, payload["body"], private=payload.get("private", True),
                                incoming=payload.get("incoming", False), source=NOTE,
                                to_emails=list(payload.get("notify_emails", [])))
            self._record_write(payload)
            return _json(copy.deepcopy(note), 201)

    def _post_reply(self, ticket_id: int) -> Response:
        payload = self._payload(REPLY_FIELDS)
        if isinstance(payload, Response):
            return payload
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return _not_found()
            error = self._check_body(payload)
            if error:
                return error
            author = payload.get("user_id", self.agent_id)
            agent_name = self._agents[self.agent_id]["contact"]["name"]
            reply = self._append(ticket, author, payload["body"], private=False, incoming=False, source=REPLY,
                                 to_emails=[self._email(ticket["requester_id"])],
                                 from_email=payload.get("from_email") or f"{agent_name} <support@{self.domain}.test>")
            self._record_write(payload)
            return _json(copy.deepcopy(reply), 201)

    @staticmethod
    def _check_body(payload: dict[str, Any]) -> Response | None:
        if "body" not in payload:
            return _validation("body", "It should be a/an String", "missing_field")
        if not isinstance(payload["body"], str):
            return _validation("body", f"Value set is of type {_type_name(payload['body'])}.It should be a/an String",
                               "datatype_mismatch")
        if not payload["body"].strip():
            return _validation("body", "It should not be blank as this is a mandatory field")
        return None

    def _put_ticket(self, ticket_id: int) -> Response:
        payload = self._payload(TICKET_FIELDS)
        if isinstance(payload, Response):
            return payload
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return _not_found()
            tags = payload.get("tags", ticket["tags"])
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                return _validation("tags", f"Value set is of type {_type_name(tags)}.It should be a/an Array",
                                   "datatype_mismatch")
            group = payload.get("group_id", ticket["group_id"])
            if group is not None and (isinstance(group, bool) or not isinstance(group, int) or group < 1):
                return _validation("group_id", f"Value set is of type {_type_name(group)}."
                                               "It should be a/an Positive Integer", "datatype_mismatch")
            if "status" in payload and payload["status"] not in STATUSES:
                return _validation("status", f"It should be one of these values: {','.join(map(str, STATUSES))}")
            for field, value in payload.items():
                if field == "tags":
                    value = list(dict.fromkeys(value))  # replaces the list, never merges
                elif field == "custom_fields":
                    value = {**ticket["custom_fields"], **value}
                ticket[field] = value
            if "priority" in payload:
                ticket["priority_name"] = PRIORITIES.get(payload["priority"], str(payload["priority"]))
            ticket["updated_at"] = self._now()
            self._record_write(payload)
            return _json(self._ticket_json(ticket))

    def _get_me(self) -> Response:
        with self._lock:
            return _json(copy.deepcopy(self._agents[self.agent_id]))

    def _get_agent(self, agent_id: int) -> Response:
        with self._lock:
            agent = self._agents.get(agent_id)
            return _json(copy.deepcopy(agent)) if agent else _not_found()

    def _get_contact(self, contact_id: int) -> Response:
        with self._lock:
            contact = self._contacts.get(contact_id)
            return _json(copy.deepcopy(contact)) if contact else _not_found()


def _evaluate(tokens: list[Any], ticket: dict[str, Any]) -> bool:
    """Evaluate the tokens of a filter query (left to right, AND binding tighter than OR) against a ticket."""

    def term() -> bool:
        token = tokens.pop(0)
        if token == "(":
            value = disjunction()
            if not tokens or tokens.pop(0) != ")":
                raise ValueError("unbalanced parentheses")
            return value
        if not isinstance(token, tuple):
            raise ValueError(f"unexpected {token!r}")
        field, op, value = token
        if field not in ticket:
            raise ValueError(f"{field} is not a field Freshdesk can filter on")
        have = ticket[field]
        if isinstance(have, int):
            return {"": have == int(value), ">": have >= int(value), "<": have <= int(value)}[op]
        have = str(have)[:len(value)]  # dates compare at the query's precision
        return {"": have == value, ">": have >= value, "<": have <= value}[op]

    def conjunction() -> bool:
        value = term()
        while tokens and tokens[0] == "AND":
            tokens.pop(0)
            value = term() and value
        return value

    def disjunction() -> bool:
        value = conjunction()
        while tokens and tokens[0] == "OR":
            tokens.pop(0)
            value = conjunction() or value
        return value

    result = disjunction()
    if tokens:
        raise ValueError(f"unexpected {tokens[0]!r}")
    return result


# ----- webhooks (inbound to us) ------------------------------------------------------------------------------------

def freshdesk_webhook(ticket_id: int | str, triggered_event: str = "{reply_sent:sent}", *,
                      updated_at: str | None = "2026-11-22T12:00:00Z", domain: str = "acme",
                      **extra: str) -> dict[str, Any]:
    """A body as our shipped template (docs/freshdesk-webhook-body.json) renders it.

    `triggered_event` is what Freshdesk's `{{triggered_event}}` placeholder gives: `{ticket_action:created}`,
    `{reply_sent:sent}`, `{note_type:private}`, `{status:{from:2,to:3}}`, ... Pass updated_at=None to leave it out.
    """
    body = {"ticket_id": str(ticket_id), "triggered_event": triggered_event,
            "ticket_url": f"https://{domain}.freshdesk.com/a/tickets/{ticket_id}"}
    if updated_at is not None:
        body["updated_at"] = updated_at
    body.update(extra)
    return {"freshdesk_webhook": body}


def freshdesk_webhook_headers(secret: str, auth: str = "header", header: str = WEBHOOK_HEADER,
                              user: str = "freshdesk") -> dict[str, str]:
    """Headers Freshdesk sends for our rule: the custom secret header, or basic auth with the secret as password."""
    headers = {"Content-Type": "application/json"}
    if auth == "header":
        headers[header] = secret
    elif auth == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
    else:
        raise ValueError(f"auth must be 'header' or 'basic', got {auth!r}")
    return headers
