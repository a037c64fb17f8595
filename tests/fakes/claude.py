"""A fake Anthropic Messages API: `POST /v1/messages` answers from a queue and records every request.

Point the real SDK at it with `anthropic.Anthropic(api_key=..., base_url=server.url,
_strict_response_validation=True)`: strict validation makes a drift between this fake and the SDK's models fail
loudly instead of parsing to None. Things checked against anthropic 2.12.0 (see test_fakes.py):

- The SDK sends `Authorization: Bearer <key>`, not `x-api-key` (the API accepts both, so does this fake; the
  recorded headers show which one a client used), and `anthropic-version` on every request.
- The SDK picks its exception class from the status code: 400 BadRequestError, 401 AuthenticationError,
  429 RateLimitError, 500 InternalServerError, 529 OverloadedError (a subclass of InternalServerError).
  `error.details.error_code` refines it (429 + "enforced_spend_limit_reached" is a RateLimitError subclass).
- The SDK retries 408/409/429/5xx by itself unless `x-should-retry: false` is sent; it honours `retry-after-ms`.
- Structured output is `output_config={"format": {"type": "json_schema", "schema": {...}}}`; the answer is a
  single text block holding the JSON.
"""
from __future__ import annotations

import json
import math
import secrets
import string
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.datastructures import Headers

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
ERROR_MESSAGES = {400: "Invalid request", 401: "invalid x-api-key", 429: "Number of request tokens has exceeded your "
                  "per-minute rate limit", 500: "Internal server error", 503: "Service unavailable", 529: "Overloaded"}
_BASE62 = string.digits + string.ascii_letters


def _anthropic_id(prefix: str) -> str:
    """Ids shaped like the API's: msg_01 / req_01 followed by 22 base62 characters."""
    return f"{prefix}_01" + "".join(secrets.choice(_BASE62) for _ in range(22))


@dataclass
class _Reply:
    content: list[dict[str, Any]]
    stop_reason: str
    input_tokens: int
    output_tokens: int


@dataclass
class _Failure:
    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None


class FakeClaude:
    """Queue replies with reply_json/reply_text/fail, serve `.app`, then read `.requests` (json + headers)."""

    def __init__(self, api_key: str = "test", *,
                 default: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.api_key = api_key
        # Called with the request JSON when the queue is empty: a str becomes a text reply, anything else a JSON
        # reply. Left as None, an empty queue answers 500 "no reply queued" (with x-should-retry: false).
        self.default = default
        self.requests: list[dict[str, Any]] = []  # {"json", "headers"} per POST, valid or not; headers ignore case
        self.errors: list[BaseException] = []  # bugs inside the fake itself; a test should assert this is empty
        self._queue: deque[_Reply | _Failure] = deque()
        self._holds: deque[float] = deque()
        self._held: set[threading.Event] = set()
        self._seen = threading.Condition()
        self.app = self._build_app()

    # ----- queue API -----------------------------------------------------------------------------------------------

    def reply_blocks(self, content: list[dict[str, Any]], stop_reason: str = "end_turn", *,
                     input_tokens: int = 100, output_tokens: int = 50) -> None:
        """Queue a message with these content blocks (e.g. a tool_use block)."""
        with self._seen:
            self._queue.append(_Reply(content, stop_reason, input_tokens, output_tokens))

    def reply_text(self, text: str, *, input_tokens: int = 100, output_tokens: int = 50,
                   stop_reason: str = "end_turn") -> None:
        self.reply_blocks([{"type": "text", "text": text}], stop_reason,
                          input_tokens=input_tokens, output_tokens=output_tokens)

    def reply_json(self, obj: Any, *, input_tokens: int = 100, output_tokens: int = 50) -> None:
        """Queue what structured output returns: one text block holding `json.dumps(obj)`."""
        self.reply_text(json.dumps(obj), input_tokens=input_tokens, output_tokens=output_tokens)

    def fail(self, status: int, times: int = 1, retry_after_ms: int | None = None, error_type: str | None = None,
             *, message: str | None = None, error_code: str | None = None,
             should_retry: bool | None = None) -> None:
        """Queue `times` error answers in Anthropic's shape; error.type follows the status unless given."""
        headers = {}
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
            headers["retry-after"] = str(math.ceil(retry_after_ms / 1000))
        if should_retry is not None:
            headers["x-should-retry"] = "true" if should_retry else "false"
        error_type = error_type or ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        message = message or ERROR_MESSAGES.get(status, f"{error_type} (FakeClaude.fail)")
        failure = _Failure(status, error_type, message, headers, error_code)
        with self._seen:
            self._queue.extend([failure] * times)

    def hold(self, seconds: float) -> None:
        """The next request waits `seconds` (or until release()) before it is answered; it is recorded at once."""
        with self._seen:
            self._holds.append(seconds)

    def release(self) -> None:
        """Let every request being held right now answer at once."""
        with self._seen:
            for held in self._held:
                held.set()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until `count` requests have arrived (held ones included); False on timeout."""
        with self._seen:
            return self._seen.wait_for(lambda: len(self.requests) >= count, timeout)

    def clear(self) -> None:
        """Drop every queued answer (replies and failures) not used yet."""
        with self._seen:
            self._queue.clear()

    @property
    def pending(self) -> int:
        """Queued answers not yet used."""
        with self._seen:
            return len(self._queue)

    # ----- HTTP ----------------------------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(f"fake_claude_{id(self)}")
        app.add_url_rule("/v1/messages", "messages", self._messages, methods=["POST"])
        app.register_error_handler(404, lambda e: self._error(404, "not_found_error", f"Not found: {request.path}"))
        app.register_error_handler(405, lambda e: self._error(405, "invalid_request_error", "Method not allowed"))
        app.register_error_handler(Exception, self._crash)
        return app

    def _crash(self, exc: Exception) -> Response:
        with self._seen:
            self.errors.append(exc)
        return self._error(500, "api_error", f"FakeClaude bug: {exc!r}", {"x-should-retry": "false"})

    @staticmethod
    def _error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None,
               error_code: str | None = None) -> Response:
        request_id = _anthropic_id("req")
        error: dict[str, Any] = {"type": error_type, "message": message}
        if error_code is not None:
            error["details"] = {"error_code": error_code}
        body = {"type": "error", "error": error, "request_id": request_id}
        return Response(json.dumps(body), status, headers={"request-id": request_id, **(headers or {})},
                        content_type="application/json")

    def _messages(self) -> Response:
        body = request.get_json(silent=True)
        with self._seen:
            self.requests.append({"json": body, "headers": Headers(request.headers)})
            self._seen.notify_all()
            hold = self._holds.popleft() if self._holds else None
        if hold is not None:
            held = threading.Event()
            with self._seen:
                self._held.add(held)
            held.wait(hold)
            with self._seen:
                self._held.discard(held)

        key = request.headers.get("x-api-key") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            # The real API answers 400, not 401, when only the version header is missing.
            return self._error(400, "invalid_request_error", "anthropic-version: header is required")
        problem = _validate(body)
        if problem:
            return self._error(400, "invalid_request_error", problem)

        with self._seen:
            answer = self._queue.popleft() if self._queue else None
        if answer is None and self.default is not None:
            produced = self.default(body)
            text = produced if isinstance(produced, str) else json.dumps(produced)
            answer = _Reply([{"type": "text", "text": text}], "end_turn", 100, 50)
        if answer is None:
            return self._error(500, "api_error", "FakeClaude: no reply queued for this request; call reply_json(), "
                               "reply_text() or fail() first, or set .default", {"x-should-retry": "false"})
        if isinstance(answer, _Failure):
            return self._error(answer.status, answer.error_type, answer.message, answer.headers, answer.error_code)
        message = {"id": _anthropic_id("msg"), "type": "message", "role": "assistant", "model": body["model"],
                   "content": answer.content, "stop_reason": answer.stop_reason, "stop_sequence": None,
                   "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                             "service_tier": "standard"}}
        return Response(json.dumps(message), 200, headers={"request-id": _anthropic_id("req")},
                        content_type="application/json")


def _validate(body: Any) -> str | None:
    """The basic checks the real API makes, worded like its messages; None when the request is acceptable."""
    if not isinstance(body, dict):
        return "The request body is not valid JSON."
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a valid string"
    if isinstance(body["max_tokens"], bool) or not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{n}.role: Input should be 'user' or 'assistant'"
        if not isinstance(message.get("content"), (str, list)):
            return f"messages.{n}.content: Field required"
    if body.get("stream"):
        return "FakeClaude does not implement streaming; call messages.create without stream=True"
    output_config = body.get("output_config")
    if output_config is not None:
        if not isinstance(output_config, dict):
            return "output_config: Input should be a valid dictionary"
        fmt = output_config.get("format")
        if fmt is not None:
            if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
                return "output_config.format.type: Input should be 'json_schema'"
            if not isinstance(fmt.get("schema"), dict):
                return "output_config.format.schema: Field required"
    return None
