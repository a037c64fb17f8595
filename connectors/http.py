"""The one place a connector talks HTTP: retries for seconds-scale blips, typed errors for the rest.

Longer outages are the Celery task's to retry (worker.py), so attempts here stay few and short.
"""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

log = logging.getLogger(__name__)

TRANSIENT_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0  # longer waits are handed to the Celery retry, not slept in a worker thread
# Reads only: Zendesk's PUT appends a comment, so no write is safe to resend blindly.
IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}


class HelpdeskError(Exception):
    """A helpdesk call failed; status is None for network failures."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TransientHelpdeskError(HelpdeskError):
    """Worth trying again later: 429, 5xx, timeouts, connection errors."""


class PermanentHelpdeskError(HelpdeskError):
    """Retrying will not help (401, 403, 404, 422, ...): recorded with the helpdesk's own words."""


def make_client(account: Any, **kwargs: Any) -> httpx.Client:
    """An account's HTTP client: base URL, timeout and our identifying headers; auth and hooks per vendor."""
    headers = {"User-Agent": "deskdraft/0.1", "Accept": "application/json", **kwargs.pop("headers", {})}
    return httpx.Client(base_url=account.base_url, timeout=account.timeout_seconds, headers=headers, **kwargs)


class LazyClient:
    """A connector's HTTP client, made on first use (the webhook process verifies and parses without ever
    calling out) and shared by the worker's threads. Subclasses say how to build it."""

    _http: httpx.Client | None = None
    _client_lock = threading.Lock()
    budget: Any = None  # connectors/budget.py: every request, retries included, waits for a slot

    def _build_client(self) -> httpx.Client:
        raise NotImplementedError

    @property
    def http(self) -> httpx.Client:
        with self._client_lock:
            if self._http is None:
                self._http = self._build_client()
                if self.budget is not None:
                    budget = self.budget
                    self._http.event_hooks["request"] = [*self._http.event_hooks["request"],
                                                         lambda request: budget.acquire()]
            return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds (both forms), or Intercom's X-RateLimit-Reset epoch."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                return None
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) - datetime.now(UTC).timestamp())
    return None


def error_from_response(method: str, path: str, response: httpx.Response) -> HelpdeskError:
    """A status code becomes a typed error carrying the helpdesk's explanation."""
    detail = response.text[:300].strip()
    message = f"{method} {path} answered {response.status_code}: {detail}"
    if response.status_code in TRANSIENT_STATUS:
        return TransientHelpdeskError(message, response.status_code, retry_after_seconds(response))
    return PermanentHelpdeskError(message, response.status_code)


def _worth_waiting_for(exc: BaseException) -> bool:
    # A long Retry-After leaves at once: the Celery retry waits that long without holding a thread.
    return isinstance(exc, TransientHelpdeskError) and (exc.retry_after or 0) <= MAX_RETRY_AFTER


def _surely_not_processed(exc: BaseException) -> bool:
    """A write is resent here only when the helpdesk cannot have acted on it: the connection never opened,
    or it answered 429/503 (refused before work). After a timeout or a 500 the post may exist; the task
    retry re-reads the ticket (and finds our ref) before posting again."""
    if not _worth_waiting_for(exc):
        return False
    cause = exc.__cause__
    return isinstance(cause, httpx.ConnectError) or getattr(exc, "status", None) in (429, 503)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, HelpdeskError) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER)
    return wait_random_exponential(multiplier=0.5, max=8)(state)


def send(client: httpx.Client, method: str, path: str, *, attempts: int = 4, **kwargs: Any) -> httpx.Response:
    """Send one request, retrying transient failures with backoff (honouring Retry-After)."""
    predicate = _worth_waiting_for if method in IDEMPOTENT else _surely_not_processed
    retrying = Retrying(stop=stop_after_attempt(attempts), wait=_wait, retry=retry_if_exception(predicate),
                        before_sleep=before_sleep_log(log, logging.WARNING), reraise=True)
    for attempt in retrying:
        with attempt:
            try:
                response = client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise TransientHelpdeskError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
            if response.is_error:
                raise error_from_response(method, path, response)
    return response
