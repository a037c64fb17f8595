"""Logs with UTC timestamps and, for pipeline work, the account, ticket and inbox ids; JSON by a config switch."""
from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

IDS = ("account", "ticket", "inbox")
# Read-only default: log_context sets a new mapping rather than changing the one in force.
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "deskdraft_log_ids", default=MappingProxyType({}))
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(process)d]%(ids)s %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Tag every log line written inside (in this thread or task) with these ids."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ids = _context.get()
        for name in IDS:
            setattr(record, name, ids.get(name))
        record.ids = "".join(f" {name}={ids[name]}" for name in IDS if name in ids)
        return True


def _utc_time(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class _UTC(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)


class _JSON(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.pop("ids", None)
        for name in IDS:  # only the ids that apply: a line about a ticket carries them, a startup line does not
            if log_record.get(name) is None:
                log_record.pop(name, None)


def formatter(json: bool) -> logging.Formatter:
    if json:
        return _JSON(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    return _UTC(TEXT_FORMAT)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it), not the one at start-up."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure(settings: Any, stream: Any = None) -> logging.Handler:
    """Route the root logger (ours, Celery's, gunicorn's app lines) to one handler with ids and timestamps."""
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.addFilter(ContextFilter())
    handler.setFormatter(formatter(settings.json))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_deskdraft", False)]:
        root.removeHandler(old)
    handler._deskdraft = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.level)
    return handler
