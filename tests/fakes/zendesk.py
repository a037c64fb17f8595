"""An in-memory Zendesk Support API served over real HTTP, plus helpers to build signed webhook deliveries.

Shapes follow the go-zendesk fixtures (connectors/fixtures/zendesk/go-zendesk) and developer.zendesk.com; test_fakes.py
checks them against the fixtures. Quirks the fake reproduces on purpose, because real code has tripped on them:

- `comment.public` defaults to TRUE: a PUT that forgets the flag emails the customer.
- Comments are only created through `PUT /api/v2/tickets/{id}`; the note is authored by the token's user, via "api".
- Without `page[size]` the comments endpoint answers with OFFSET pagination (`next_page`/`count`, no `meta`);
  cursor pagination (`meta.has_more`, `links.next`) only starts when `page[size]` is sent. `page[size]` > 100 is a 400.
- `tags` overwrites the list; `additional_tags`/`remove_tags` edit it. A closed ticket refuses updates (422).
- Every answer carries `X-Rate-Limit`/`X-Rate-Limit-Remaining`; a 429 carries `Retry-After` in whole seconds.

Help Center (Guide), checked against Zendesk's Help Center OpenAPI in
tests/connectors/test_zendesk_helpcenter_openapi.py:
- Articles are stored per translation (id, locale); /api/v2/help_center/{locale}/articles lists the translations in
  that locale, /api/v2/help_center/articles those in the default locale. Agents see DRAFTS in these lists
  (`draft: true`). A locale that is not enabled is a 404.
- Offset pagination (`page`, `per_page` default 30, `next_page`, `count`) unless `page[size]` (at most 100) asks for
  cursor pagination (`meta.has_more`, `meta.after_cursor`, `links.next`).
- The cursor-based incremental ticket export (/api/v2/incremental/tickets/cursor) needs `start_time` or `cursor`,
  returns tickets ordered by updated_at with `after_cursor`/`end_of_stream`, never the last minute's changes, and
  refuses a start_time less than a minute old. It allows 10 requests a minute (Zendesk's incremental export limit,
  on the fake's clock; `export_limit=None` lifts it): the 11th is a 429 with Retry-After.
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
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from flask import Flask, Response, g, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from tests.fakes.faults import Faults

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
# Each standard status maps to a system custom status whose id is per account; these ids are made up.
CUSTOM_STATUS_IDS = {status: 9_000 + n for n, status in enumerate(STATUSES)}
ROLES = ("end-user", "agent", "admin")
MAX_PAGE_SIZE = 100
EXPORT_LIMIT = 10  # incremental export requests a minute

ERROR_BODIES: dict[int, dict[str, Any]] = {
    400: {"error": "InvalidEndpoint", "description": "Bad request"},
    401: {"error": "Couldn't authenticate you"},
    403: {"error": "Forbidden", "description": "You do not have access to this page."},
    404: {"error": "RecordNotFound", "description": "Not found"},
    409: {"error": "RecordNotUnique", "description": "Conflict: the ticket was updated concurrently"},
    422: {"error": "RecordInvalid", "description": "Record validation errors", "details": {}},
    429: {"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"},
    500: {"error": "InternalError", "description": "Something went wrong"},
    502: {"error": "BadGateway", "description": "Bad gateway"},
    503: {"error": "ServiceUnavailable", "description": "Zendesk is temporarily unavailable"},
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, content_type="application/json; charset=utf-8")


def _error(status: int, description: str | None = None, **extra: Any) -> Response:
    body = dict(ERROR_BODIES.get(status, {"error": "Error", "description": f"HTTP {status}"}))
    if description is not None:
        body["description"] = description
    body.update(extra)
    return _json(body, status)


def _invalid(field: str, message: str) -> Response:
    """Zendesk's 422 names the attribute that failed validation under `details`."""
    return _error(422, details={field: [{"description": message, "error": "InvalidValue"}]})


def _encode_cursor(comment_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": comment_id}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    return int(json.loads(base64.urlsafe_b64decode(padded))["o"])


def _as_bool(value: Any) -> bool | None:
    """Rails coerces form-ish booleans, so "false" and 0 work against the real API; anything else is rejected."""
    if value in (True, "true", "1", 1):
        return True
    if value in (False, "false", "0", 0):
        return False
    return None


def _text_to_html(text: str) -> str:
    paragraphs = (html.escape(p).replace("\n", "<br>") for p in text.split("\n\n"))
    return '<div class="zd-comment" dir="auto">' + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div>"


def _html_to_text(markup: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>", "\n", markup)
    text = re.sub(r"(?i)</p\s*>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


class FakeZendesk:
    """One Zendesk account: users, tickets, comments, and a Flask `.app` serving the Support API over them."""

    def __init__(self, email: str = "bot@acme.test", token: str = "tok", *, agent_user_id: int = 90_001,
                 agent_name: str = "Deskdraft Assistant", rate_limit: int = 700,
                 clock: Callable[[], datetime] | None = None, export_limit: int | None = EXPORT_LIMIT) -> None:
        self.email = email
        self.token = token
        self.agent_user_id = agent_user_id
        self.rate_limit = rate_limit
        self.export_limit = export_limit
        self._exports: list[float] = []  # when each incremental export request of the last minute came
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._users: dict[int, dict[str, Any]] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._comments: dict[int, list[dict[str, Any]]] = {}
        self._articles: dict[tuple[int, str], dict[str, Any]] = {}  # (article id, locale) -> translation
        self.help_center_locales = ["en-us"]
        self.default_locale = "en-us"
        self._next_id = 100_000
        self._served = 0
        self._faults = Faults()
        self.requests: list[tuple[str, str]] = []  # every request seen: (method, path with query string)
        # Writes that changed state: {"method", "path", "json", "headers"}; headers look up case-insensitively.
        self.writes: list[dict[str, Any]] = []
        self.auth_failures: list[dict[str, Any]] = []  # {"method", "path", "authorization"} per 401 answered
        self.errors: list[BaseException] = []  # bugs inside the fake itself; a test should assert this is empty
        self.add_user(agent_user_id, agent_name, "agent", email=email)
        self.app = self._build_app()

    # ----- state helpers for tests -------------------------------------------------------------------------------

    def add_user(self, id: int, name: str, role: str, *, email: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create a user; `role` is "end-user", "agent" or "admin"."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        now = self._now()
        user = {
            "id": id, "name": name, "email": email or f"user{id}@example.test", "created_at": now, "updated_at": now,
            "time_zone": "UTC", "iana_time_zone": "Etc/UTC", "phone": None, "shared_phone_number": None,
            "photo": None, "locale_id": 1, "locale": "en-US", "organization_id": None, "role": role,
            "verified": role != "end-user", "external_id": None, "tags": [], "alias": None, "active": True,
            "shared": False, "shared_agent": False, "last_login_at": None, "two_factor_auth_enabled": False,
            "signature": None, "details": None, "notes": None, "role_type": None, "custom_role_id": None,
            "moderator": role == "admin", "ticket_restriction": "requested" if role == "end-user" else None,
            "only_private_comments": False, "restricted_agent": role == "end-user", "suspended": False,
            "chat_only": False, "default_group_id": None, "report_csv": role == "admin", "user_fields": {},
        }
        self._override(user, fields, "user")
        with self._lock:
            self._users[id] = user
        return copy.deepcopy(user)

    def add_ticket(self, id: int, subject: str, requester_id: int, status: str = "open", tags: Iterable[str] = (),
                   description: str | None = None, *, via: str = "web", **fields: Any) -> dict[str, Any]:
        """Create a ticket whose first comment, by the requester, is its description (as in Zendesk)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        description = subject if description is None else description
        with self._lock:
            requester = self._user(requester_id)
            now = self._now()
            ticket = {
                "id": id, "external_id": None, "via": self._via(via, requester), "created_at": now,
                "updated_at": now, "type": None, "subject": subject, "raw_subject": subject,
                "description": description, "priority": None, "status": status,
                "custom_status_id": CUSTOM_STATUS_IDS[status], "recipient": None, "requester_id": requester_id,
                "submitter_id": requester_id, "assignee_id": None, "organization_id": None, "group_id": None,
                "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [], "forum_topic_id": None,
                "problem_id": None, "has_incidents": False, "is_public": True, "due_at": None,
                "tags": list(tags), "custom_fields": [], "satisfaction_rating": None, "sharing_agreement_ids": [],
                "fields": [], "followup_ids": [], "ticket_form_id": None, "brand_id": None,
                "satisfaction_probability": None, "allow_channelback": False, "allow_attachments": True,
                "from_messaging_channel": False,
            }
            self._override(ticket, fields, "ticket")
            self._tickets[id] = ticket
            self._comments[id] = []
            self._append_comment(ticket, requester_id, description, None, True, via, self._new_id())
            return copy.deepcopy(ticket)

    def add_comment(self, ticket_id: int, author_id: int, body: str, public: bool = True, via: str = "web", *,
                    html_body: str | None = None) -> dict[str, Any]:
        """Append a comment as if typed in Zendesk (not through our API); ids grow across the account."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            self._user(author_id)
            comment = self._append_comment(ticket, author_id, body, html_body, public, via, self._new_id())
            ticket["updated_at"] = comment["created_at"]
            return copy.deepcopy(comment)

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._comments[ticket_id])

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._tickets[ticket_id])

    def update_ticket(self, ticket_id: int, **fields: Any) -> dict[str, Any]:
        """Change ticket fields as an agent in Zendesk would (status="solved", ...); updated_at moves."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            self._override(ticket, fields, "ticket")
            if "status" in fields:
                ticket["custom_status_id"] = CUSTOM_STATUS_IDS[fields["status"]]
            if "updated_at" not in fields:
                ticket["updated_at"] = self._now()
            return copy.deepcopy(ticket)

    def add_article(self, id: int, title: str, body: str, *, locale: str = "en-us", draft: bool = False,
                    section_id: int = 360_001, **fields: Any) -> dict[str, Any]:
        """One article translation (HTML body) in `locale`, which must be among help_center_locales."""
        if locale not in self.help_center_locales:
            raise ValueError(f"locale {locale!r} is not enabled: add it to help_center_locales")
        now = self._now()
        article = {
            "id": id, "url": "", "html_url": "", "author_id": self.agent_user_id, "comments_disabled": False,
            "draft": draft, "promoted": False, "position": 0, "vote_sum": 0, "vote_count": 0,
            "section_id": section_id, "created_at": now, "updated_at": now, "edited_at": now, "title": title,
            "source_locale": self.default_locale, "locale": locale, "outdated": False, "outdated_locales": [],
            "permission_group_id": 1_001, "user_segment_id": None, "user_segment_ids": [], "label_names": [],
            "content_tag_ids": [], "body": body,
        }
        self._override(article, fields, "article")
        with self._lock:
            self._articles[(id, locale)] = article
        return copy.deepcopy(article)

    def edit_article(self, id: int, locale: str = "en-us", **fields: Any) -> dict[str, Any]:
        """Edit a translation (title=, body=, draft=...); updated_at and edited_at move."""
        with self._lock:
            article = self._articles[(id, locale)]
            self._override(article, fields, "article")
            article["updated_at"] = article["edited_at"] = self._now()
            return copy.deepcopy(article)

    def remove_article(self, id: int, locale: str | None = None) -> None:
        """Archive an article (every translation) or delete one translation."""
        with self._lock:
            for key in [k for k in self._articles if k[0] == id and locale in (None, k[1])]:
                del self._articles[key]

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None,
                  path_contains: str | None = None, body: dict[str, Any] | None = None,
                  method: str | None = None) -> None:
        """Answer the next `times` matching requests (of `method`, if given) with `status` before any auth or
        handling. A 429 always carries Retry-After (1 second unless given), as Zendesk's does.
        """
        self._faults.fail(status, times, retry_after, path_contains, body, method)

    def lose_answer_next(self, path_contains: str | None = None, times: int = 1) -> None:
        """Carry out the next `times` matching writes, then answer 500 (a timeout or a crash after the write)."""
        self._faults.lose(path_contains, times)

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
        if user_id not in self._users:
            raise KeyError(f"no user {user_id}: call add_user({user_id}, name, role) first")
        return self._users[user_id]

    @staticmethod
    def _override(record: dict[str, Any], fields: dict[str, Any], kind: str) -> None:
        unknown = set(fields) - set(record)
        if unknown:
            raise TypeError(f"unknown {kind} fields {sorted(unknown)}")
        record.update(fields)

    def _via(self, channel: str, author: dict[str, Any]) -> dict[str, Any]:
        if channel == "email":
            source = {"from": {"address": author["email"], "name": author["name"]},
                      "to": {"address": "support@acme.zendesk.com", "name": "Acme Support"}, "rel": None}
        else:
            source = {"from": {}, "to": {}, "rel": None}
        return {"channel": channel, "source": source}

    def _append_comment(self, ticket: dict[str, Any], author_id: int, body: str | None, html_body: str | None,
                        public: bool, via: str, audit_id: int, client: str = "") -> dict[str, Any]:
        if html_body is not None:
            body = _html_to_text(html_body)
        else:
            html_body = _text_to_html(body or "")
        comment = {
            "id": self._new_id(), "type": "Comment", "author_id": author_id, "body": body, "html_body": html_body,
            "plain_body": body, "public": public, "attachments": [], "audit_id": audit_id,
            "via": self._via(via, self._users[author_id]),
            "metadata": {"system": {"client": client, "ip_address": "127.0.0.1", "location": "Localhost"},
                         "custom": {}},
            "created_at": self._now(),
        }
        self._comments[ticket["id"]].append(comment)
        return comment

    def _ticket_json(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{request.host_url}api/v2/tickets/{ticket['id']}.json", **copy.deepcopy(ticket)}

    def _user_json(self, user: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{request.host_url}api/v2/users/{user['id']}.json", **copy.deepcopy(user)}

    def _authorized(self) -> bool:
        expected = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        return hmac.compare_digest(request.headers.get("Authorization", ""), f"Basic {expected}")

    @staticmethod
    def _path() -> str:
        """Path plus decoded query string, so tests can look for "page[size]=100" as written."""
        query = unquote(request.query_string.decode())
        return f"{request.path}?{query}" if query else request.path

    # ----- HTTP ----------------------------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(f"fake_zendesk_{id(self)}")

        def route(rule: str, view: Callable[..., Response], methods: tuple[str, ...] = ("GET",)) -> None:
            # Zendesk accepts every path with and without the .json suffix.
            for suffix in ("", ".json"):
                app.add_url_rule(rule + suffix, f"{view.__name__}{suffix}", view, methods=list(methods))

        route("/api/v2/tickets/<int:ticket_id>", self._get_ticket)
        route("/api/v2/tickets/<int:ticket_id>", self._put_ticket, ("PUT",))
        route("/api/v2/tickets/<int:ticket_id>/comments", self._list_comments)
        route("/api/v2/users/me", self._get_me)
        route("/api/v2/users/show_many", self._show_many)
        route("/api/v2/users/<int:user_id>", self._get_user)
        route("/api/v2/help_center/locales", self._hc_locales)
        route("/api/v2/help_center/articles", self._hc_articles)
        route("/api/v2/help_center/<locale>/articles", self._hc_articles)
        route("/api/v2/incremental/tickets/cursor", self._incremental_tickets)
        app.before_request(self._before)
        app.after_request(self._after)
        app.register_error_handler(404, lambda e: _error(404, error="InvalidEndpoint"))
        app.register_error_handler(405, lambda e: _error(404, error="InvalidEndpoint"))
        app.register_error_handler(Exception, self._crash)
        return app

    def _before(self) -> Response | None:
        path = self._path()
        with self._lock:
            self.requests.append((request.method, path))
            self._served += 1
            g.remaining = self.rate_limit - 1 - (self._served - 1) % self.rate_limit  # the window "resets"
        fault = self._faults.before(path, request.method)
        if fault:
            response = _json(fault.body, fault.status) if fault.body is not None else _error(fault.status)
            if fault.wait is not None:
                response.headers["Retry-After"] = str(fault.wait)
            return response
        if not self._authorized():
            with self._lock:
                self.auth_failures.append({"method": request.method, "path": path,
                                           "authorization": request.headers.get("Authorization")})
            response = _error(401)
            response.headers["WWW-Authenticate"] = 'Basic realm="Web Password"'
            return response
        return None

    def _after(self, response: Response) -> Response:
        if response.status_code < 400 and self._faults.lost(request.method, self._path()):
            return _error(500)
        response.headers["X-Rate-Limit"] = str(self.rate_limit)
        response.headers["X-Rate-Limit-Remaining"] = str(g.get("remaining", self.rate_limit))
        return response

    def _crash(self, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # e.g. a malformed request werkzeug already refused
            return _error(exc.code or 500)
        with self._lock:
            self.errors.append(exc)
        return _json({"error": "FakeZendeskBug", "description": repr(exc)}, 500)

    def _get_ticket(self, ticket_id: int) -> Response:
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            return _json({"ticket": self._ticket_json(ticket)}) if ticket else _error(404)

    def _list_comments(self, ticket_id: int) -> Response:
        args = request.args
        with self._lock:
            if ticket_id not in self._tickets:
                return _error(404)
            descending = args.get("sort_order") == "desc"
            items = sorted(copy.deepcopy(self._comments[ticket_id]), key=lambda c: c["id"], reverse=descending)
        if {"page[size]", "page[after]", "page[before]"} & set(args):
            return self._cursor_page(items, descending)
        return self._offset_page(items)

    def _cursor_page(self, items: list[dict[str, Any]], descending: bool) -> Response:
        args = request.args
        try:
            size = int(args.get("page[size]", MAX_PAGE_SIZE))
            after = _decode_cursor(args["page[after]"]) if "page[after]" in args else None
            before = _decode_cursor(args["page[before]"]) if "page[before]" in args else None
        except (ValueError, KeyError, TypeError):
            return _error(400, "Invalid page[size] or cursor", error="InvalidPaginationParameter")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return _error(400, f"page[size] must be between 1 and {MAX_PAGE_SIZE}", error="InvalidPaginationParameter")

        def beyond(comment_id: int, mark: int) -> bool:  # later than `mark` in the requested order
            return comment_id < mark if descending else comment_id > mark

        if before is not None:
            earlier = [c for c in items if beyond(before, c["id"])]
            page, has_more = earlier[-size:], len(earlier) > size
        else:
            rest = [c for c in items if after is None or beyond(c["id"], after)]
            page, has_more = rest[:size], len(rest) > size
        after_cursor = _encode_cursor(page[-1]["id"]) if page else None
        before_cursor = _encode_cursor(page[0]["id"]) if page else None

        def link(key: str, cursor: str | None) -> str | None:
            if cursor is None:
                return None
            query = {"page[size]": size, key: cursor}
            if "sort_order" in args:
                query["sort_order"] = args["sort_order"]
            return f"{request.base_url}?{urlencode(query, safe='[]')}"

        meta = {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor}
        links = {"prev": link("page[before]", before_cursor), "next": link("page[after]", after_cursor)}
        return _json({"comments": page, "meta": meta, "links": links})

    def _offset_page(self, items: list[dict[str, Any]]) -> Response:
        try:
            number = max(int(request.args.get("page", 1)), 1)
            per_page = min(max(int(request.args.get("per_page", MAX_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
        except ValueError:
            return _error(400, "Invalid page or per_page", error="InvalidPaginationParameter")
        start = (number - 1) * per_page

        def link(n: int) -> str:
            return f"{request.base_url}?{urlencode({'page': n, 'per_page': per_page})}"

        return _json({"comments": items[start:start + per_page],
                      "next_page": link(number + 1) if start + per_page < len(items) else None,
                      "previous_page": link(number - 1) if number > 1 else None, "count": len(items)})

    def _put_ticket(self, ticket_id: int) -> Response:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("ticket"), dict):
            return _error(400, "The request body must be a JSON object with a 'ticket' object")
        update = payload["ticket"]
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return _error(404)
            if ticket["status"] == "closed":
                return _invalid("status", "Status: closed prevents ticket update")
            if "status" in update and update["status"] not in STATUSES:
                return _invalid("status", f"Status: {update['status']!r} is not a valid status")
            comment = update.get("comment")
            if comment is not None:
                if not isinstance(comment, dict):
                    return _invalid("comment", "Comment: must be an object")
                text = comment.get("html_body") or comment.get("body")
                if not isinstance(text, str) or not text.strip():
                    return _invalid("comment", "Comment: cannot be blank")
                public = _as_bool(comment.get("public", True))  # absent means PUBLIC, Zendesk's default
                if public is None:
                    return _invalid("comment", "Comment: public must be true or false")
                author_id = comment.get("author_id", self.agent_user_id)
                if author_id not in self._users:
                    return _invalid("comment", "Comment: author is invalid")

            # Validated: apply everything under one audit, as Zendesk does.
            audit_id, events = self._new_id(), []
            if comment is not None:
                stored = self._append_comment(ticket, author_id, comment.get("body"), comment.get("html_body"),
                                              public, "api", audit_id, request.headers.get("User-Agent", ""))
                events.append({k: stored[k] for k in ("id", "type", "author_id", "body", "html_body", "plain_body",
                                                      "public", "attachments", "audit_id")})
            changes = {k: update[k] for k in ("status", "priority", "group_id", "assignee_id", "subject", "type")
                       if k in update and update[k] != ticket[k]}
            # `tags` replaces the list; additional_tags/remove_tags edit it (duplicates collapse, order kept).
            tags = list(update["tags"]) if "tags" in update else list(ticket["tags"])
            tags += update.get("additional_tags", [])
            removed = set(update.get("remove_tags", []))
            tags = [t for t in dict.fromkeys(tags) if t not in removed]
            if tags != ticket["tags"]:
                changes["tags"] = tags
            for field, value in changes.items():
                events.append({"id": self._new_id(), "type": "Change", "field_name": field, "value": value,
                               "previous_value": ticket[field]})
                ticket[field] = value
            if "status" in changes:
                ticket["custom_status_id"] = CUSTOM_STATUS_IDS[changes["status"]]
            if "custom_fields" in update:
                merged = {f["id"]: f for f in ticket["custom_fields"]}
                merged.update({f["id"]: f for f in update["custom_fields"]})
                ticket["custom_fields"] = ticket["fields"] = list(merged.values())
            now = self._now()
            ticket["updated_at"] = now
            audit = {"id": audit_id, "ticket_id": ticket_id, "created_at": now, "author_id": self.agent_user_id,
                     "metadata": {"system": {"client": request.headers.get("User-Agent", ""),
                                             "ip_address": "127.0.0.1", "location": "Localhost"}, "custom": {}},
                     "events": events, "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}}
            self.writes.append({"method": request.method, "path": self._path(), "json": payload,
                                "headers": Headers(request.headers)})
            return _json({"ticket": self._ticket_json(ticket), "audit": audit})

    def _get_user(self, user_id: int) -> Response:
        with self._lock:
            user = self._users.get(user_id)
            return _json({"user": self._user_json(user)}) if user else _error(404)

    def _get_me(self) -> Response:
        with self._lock:
            return _json({"user": self._user_json(self._users[self.agent_user_id])})

    def _show_many(self) -> Response:
        ids = [int(part) for part in request.args.get("ids", "").split(",") if part.strip().isdigit()]
        if len(ids) > 100:
            return _error(400, "show_many accepts at most 100 ids", error="InvalidParameter")
        with self._lock:
            # Unknown ids are silently left out, as Zendesk does.
            users = [self._user_json(self._users[i]) for i in ids if i in self._users]
        return _json({"users": users, "next_page": None, "previous_page": None, "count": len(users)})


    # ----- Help Center ---------------------------------------------------------------------------------------------

    def _hc_locales(self) -> Response:
        return _json({"locales": list(self.help_center_locales), "default_locale": self.default_locale})

    def _article_json(self, article: dict[str, Any]) -> dict[str, Any]:
        base, locale, id_ = request.host_url, article["locale"], article["id"]
        slug = re.sub(r"[^a-z0-9]+", "-", article["title"].lower()).strip("-")
        return {**copy.deepcopy(article), "url": f"{base}api/v2/help_center/{locale}/articles/{id_}.json",
                "html_url": f"{base}hc/{locale}/articles/{id_}-{slug}"}

    def _hc_articles(self, locale: str | None = None) -> Response:
        locale = (locale or self.default_locale).lower()
        if locale not in self.help_center_locales:
            return _error(404, "Locale not enabled", error="RecordNotFound")
        args = request.args
        with self._lock:
            items = [self._article_json(a) for (_, loc), a in sorted(self._articles.items()) if loc == locale]
        if "page[size]" not in args and "page[after]" not in args:
            try:
                number = max(int(args.get("page", 1)), 1)
                per_page = min(max(int(args.get("per_page", 30)), 1), MAX_PAGE_SIZE)
            except ValueError:
                return _error(400, "Invalid page or per_page", error="InvalidPaginationParameter")
            start = (number - 1) * per_page
            nxt = f"{request.base_url}?{urlencode({'page': number + 1, 'per_page': per_page})}"
            return _json({"articles": items[start:start + per_page], "page": number, "per_page": per_page,
                          "page_count": max(1, -(-len(items) // per_page)), "count": len(items),
                          "next_page": nxt if start + per_page < len(items) else None,
                          "previous_page": None, "sort_by": "position", "sort_order": "asc"})
        try:
            size = int(args.get("page[size]", 30))
            after = _decode_cursor(args["page[after]"]) if "page[after]" in args else None
        except (ValueError, KeyError, TypeError):
            return _error(400, "Invalid page[size] or cursor", error="InvalidPaginationParameter")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return _error(400, f"page[size] must be between 1 and {MAX_PAGE_SIZE}", error="InvalidPaginationParameter")
        rest = [a for a in items if after is None or a["id"] > after]
        page, has_more = rest[:size], len(rest) > size
        after_cursor = _encode_cursor(page[-1]["id"]) if page else None
        before_cursor = _encode_cursor(page[0]["id"]) if page else None
        nxt = f"{request.base_url}?{urlencode({'page[size]': size, 'page[after]': after_cursor}, safe='[]')}"
        return _json({"articles": page,
                      "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
                      "links": {"next": nxt if has_more else None, "prev": None}})

    # ----- incremental export --------------------------------------------------------------------------------------

    def _incremental_tickets(self) -> Response:
        args = request.args
        now = self._clock().timestamp()
        if self.export_limit is not None:
            with self._lock:
                self._exports = [t for t in self._exports if t > now - 60]
                if len(self._exports) >= self.export_limit:
                    limited = _error(429)
                    limited.headers["Retry-After"] = str(max(1, math.ceil(self._exports[0] + 60 - now)))
                    return limited
                self._exports.append(now)
        try:
            per_page = min(max(int(args.get("per_page", 1000)), 1), 1000)
            if "cursor" in args:
                mark = json.loads(base64.urlsafe_b64decode(args["cursor"] + "=" * (-len(args["cursor"]) % 4)))
                after: tuple[float, int] = (float(mark["t"]), int(mark["i"]))
            elif "start_time" in args:
                start = int(args["start_time"])
                if start > now - 60:
                    return _error(400, "Too recent start_time. Use a start_time older than 1 minute",
                                  error="InvalidValue")
                after = (start - 0.5, -1)
            else:
                return _error(400, "start_time or cursor is required", error="InvalidPaginationParameter")
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _error(400, "Invalid start_time or cursor", error="InvalidPaginationParameter")

        def stamp(ticket: dict[str, Any]) -> float:
            return datetime.fromisoformat(ticket["updated_at"].replace("Z", "+00:00")).timestamp()

        with self._lock:
            # Changes of the last minute are left for the next poll, as Zendesk does.
            ready = sorted(((stamp(t), t["id"], t) for t in self._tickets.values() if stamp(t) <= now - 60),
                           key=lambda row: row[:2])
            rest = [row for row in ready if row[:2] > after]
            page = [self._ticket_json(t) for _, _, t in rest[:per_page]]
        last = rest[:per_page][-1][:2] if page else after

        def cursor(mark: tuple[float, int]) -> str:
            return base64.urlsafe_b64encode(json.dumps({"t": mark[0], "i": mark[1]}).encode()).decode().rstrip("=")

        after_cursor = cursor(last)
        return _json({"tickets": page, "after_cursor": after_cursor,
                      "after_url": f"{request.base_url}?cursor={after_cursor}", "before_cursor": None,
                      "before_url": None, "end_of_stream": len(rest) <= per_page})


# ----- webhooks (inbound to us) ------------------------------------------------------------------------------------

def sign_zendesk(secret: str, body: bytes, timestamp: str, invocation_id: str | None = None) -> dict[str, str]:
    """Headers of a signed Zendesk webhook: base64(HMAC-SHA256(secret, timestamp + body)), no separator."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    headers = {"X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
               "X-Zendesk-Webhook-Signature-Timestamp": timestamp}
    if invocation_id is not None:
        headers["x-zendesk-webhook-invocation-id"] = invocation_id
    return headers


def zendesk_event(ticket_id: int | str, type: str = "zen:event-type:ticket.comment_added",
                  event_id: str | None = None, author_is_staff: bool = False, is_public: bool = True,
                  body: str = "Hi, my order #1234 has not arrived yet. Can you help?", *,
                  requester_id: int | str = 20_001, author_id: int | str | None = None,
                  author_name: str | None = None, comment_id: int | str | None = None, status: str = "OPEN",
                  subject: str = "Where is my order?", account_id: int = 12_514_403, time: str | None = None,
                  event_version: str = "2022-11-06", event: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event-subscribed webhook body (`zen:event-type:ticket.*`), in Zendesk's documented envelope.

    Sources: the envelope and `detail` fields are on developer.zendesk.com (webhook-event-types, ticket-events);
    `event.meta.sequence` is documented there as common to ticket events. The `event.comment` shape of
    `ticket.comment_added` and the conventions that ids in `detail`/`event` are strings and `status`/`priority`
    are upper case come from a third-party example (dust-tt/dust zendesk schemas), as does zendesk_event_version
    "2022-11-06" for ticket events (user events show "2022-06-20"). Any other `type` gets just `meta`
    unless `event` is given.
    """
    author_id = author_id if author_id is not None else (90_001 if author_is_staff else requester_id)
    now = time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body_event: dict[str, Any] = {"meta": {"sequence": {"id": uuid.uuid4().hex.upper(), "position": 1}}}
    if type == "zen:event-type:ticket.comment_added":
        body_event["comment"] = {
            "id": str(comment_id if comment_id is not None else 100_000 + uuid.uuid4().int % 900_000),
            "body": body, "is_public": is_public,
            "author": {"id": str(author_id), "is_staff": author_is_staff,
                       "name": author_name or ("Support Agent" if author_is_staff else "Customer")},
        }
    if event is not None:
        body_event = event
    return {
        "type": type, "account_id": account_id, "id": event_id or str(uuid.uuid4()), "time": now,
        "zendesk_event_version": event_version, "subject": f"zen:ticket:{ticket_id}",
        "detail": {
            "actor_id": str(author_id), "assignee_id": None, "brand_id": "360002256672", "created_at": now,
            "custom_status": str(CUSTOM_STATUS_IDS.get(status.lower(), 9_001)), "description": body,
            "external_id": None, "form_id": "360000389592", "group_id": None, "id": str(ticket_id),
            "is_public": True, "organization_id": None, "priority": None, "requester_id": str(requester_id),
            "status": status, "subject": subject, "submitter_id": str(requester_id), "tags": [], "type": None,
            "updated_at": now, "via": {"channel": "web"},
        },
        "event": body_event,
    }
