"""URLs shown in output and logs with their secrets replaced."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def mask_url(url: str | None) -> str | None:
    """The URL with any password (and a token given as the user) replaced by ***, for output and logs."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "***"  # unparseable: show nothing of it rather than risk a secret
    if "@" not in parts.netloc:
        return url
    user = parts.username or ""
    # redis://:password@host and a lone token as the user are both secrets; a named user with a password is not
    shown = f"{user}:***" if user and parts.password is not None else "***"
    netloc = f"{shown}@{host or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
