"""Untrusted webhook input made safe before any connector looks at it: bounded JSON and validated ids.

A request that is not a valid delivery must get a 4xx with a reason, never a 500: helpdesks retry 5xx forever.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from connectors.base import MalformedPayload

# Real deliveries nest under ten levels (Intercom's conversation parts are the deepest); orjson stops at 1024
# on its own, this keeps the walk in the connectors short and the error message ours.
MAX_DEPTH = 32
# Ids land in String(64)/String(200) columns and in URL paths: ASCII only, no NUL, bounded length.
DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)  # Zendesk and Freshdesk ids are 64-bit integers
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}", re.ASCII)  # delivery ids: UUIDs, notif_<uuid>, digits
INTERCOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)  # the spec says string; seen: "1295", "conv_123"


def load_json(body: bytes) -> Mapping[str, Any]:
    """The body as a JSON object, or MalformedPayload. The size is bounded before (max_body_bytes), the depth and
    number length here: orjson refuses nesting past 1024, NaN/Infinity, lone surrogates and numbers that overflow a
    double, reads integers past 64 bits as floats (so a 5,000-digit integer costs nothing), and never recurses in
    Python."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("body must be a JSON object")
    _check_depth(payload)
    return payload


def _check_depth(root: Any) -> None:
    stack = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedPayload(f"body is nested more than {MAX_DEPTH} levels deep")
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def obj(value: Any) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one: vendor fields are read as what they should be."""
    return value if isinstance(value, dict) else {}


def last(value: Any) -> Any:
    return value[-1] if isinstance(value, list) and value else None


def numeric_id(value: Any, field: str) -> str:
    """A positive integer id as ASCII digits ("٣" is a digit to str.isdigit, not to Zendesk or Freshdesk)."""
    text = _text(value, field)
    if not DIGITS.fullmatch(text) or int(text) >= 2 ** 63:
        raise MalformedPayload(f"`{field}` must be a ticket number (at most 19 ASCII digits), got {text[:40]!r}")
    return text


def token_id(value: Any, field: str, pattern: re.Pattern[str] = TOKEN) -> str:
    text = _text(value, field)
    if not pattern.fullmatch(text):
        raise MalformedPayload(f"`{field}` has characters or a length no helpdesk id has: {text[:40]!r}")
    return text


def _text(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedPayload(f"`{field}` must be a string or an integer, got {type(value).__name__}")
    return str(value).strip()


def path_segment(value: str) -> str:
    """An id as one URL path segment: ids are validated at the edge, and quoted again where they meet a path."""
    return quote(str(value), safe="")


def ascii_header(value: str | None) -> str:
    """A signature header as received, or "" when it is not ASCII: hmac.compare_digest raises on non-ASCII str."""
    return value if value and value.isascii() else ""
