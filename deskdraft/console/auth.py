"""Who may see the console: a password whose hash is in an environment variable, or a user named by a header
that an authenticating reverse proxy sets. Sessions are signed cookies scoped to /console that expire."""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from flask import Flask, current_app, request, session
from werkzeug.security import check_password_hash


def settings() -> Any:
    return current_app.extensions["deskdraft.console"]()


def _password_tag(password_hash: str) -> str:
    # Changing the password ends every session signed in under the old one.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def check_password(password: str) -> bool:
    stored = settings().password_hash
    return bool(stored and password) and check_password_hash(stored, password)


def sign_in(user: str) -> None:
    s = settings()
    session.clear()
    session.permanent = True
    session.update(user=user, expires=time.time() + s.session_minutes * 60, tag=_password_tag(s.password_hash))


def current_user() -> str | None:
    s = settings()
    if s.proxy_user_header:
        user = request.headers.get(s.proxy_user_header, "").strip()
        return user[:100] or None
    signed_in, expires, tag = session.get("user"), session.get("expires", 0), session.get("tag")
    if not signed_in or time.time() >= float(expires) or not hmac.compare_digest(str(tag),
                                                                                 _password_tag(s.password_hash)):
        return None
    return str(signed_in)


def configure_app(app: Flask, console: Any) -> None:
    """Cookie and CSRF settings; the session cookie never leaves /console and is never readable by scripts."""
    app.secret_key = console.secret_key
    app.config.update(SESSION_COOKIE_NAME="deskdraft_console", SESSION_COOKIE_PATH="/console",
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=console.secure_cookie,
                      PERMANENT_SESSION_LIFETIME=console.session_minutes * 60,
                      WTF_CSRF_CHECK_DEFAULT=False,  # only the console's forms: webhooks are signed, not sessions
                      WTF_CSRF_TIME_LIMIT=console.session_minutes * 60)
