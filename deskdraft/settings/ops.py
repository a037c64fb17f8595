"""The `console:`, `metrics:` and `logging:` sections of config.yaml: who may see the operator console,
how /metrics is protected, and how logs are written. Secrets are named by environment variable, as elsewhere."""
from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field
from pydantic.dataclasses import dataclass

from deskdraft.settings.helpdesk import STRICT
from deskdraft.settings.values import EnvName, HeaderName, matching


@dataclass(frozen=True, config=STRICT)
class ConsoleSettings:
    enabled: bool = True
    # Holds a werkzeug password hash (`flask --app webhooks console hash-password`).
    password_hash_env: EnvName = "DESKDRAFT_CONSOLE_PASSWORD_HASH"
    secret_key_env: EnvName = "DESKDRAFT_CONSOLE_SECRET"  # signs the session cookie and the CSRF tokens
    # Set only behind a proxy that authenticates and strips this header itself.
    proxy_user_header: HeaderName | None = None
    session_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 480
    secure_cookie: bool = False
    # A separate address for the console (scripts/run starts a second server on it).
    bind: Annotated[str, matching(r"^[\w.:\[\]-]+:\d{1,5}$")] | None = None

    @property
    def password_hash(self) -> str:
        return os.environ.get(self.password_hash_env, "")

    @property
    def secret_key(self) -> str:
        return os.environ.get(self.secret_key_env, "")


@dataclass(frozen=True, config=STRICT)
class MetricsSettings:
    token_env: EnvName = "DESKDRAFT_METRICS_TOKEN"  # /metrics wants `Authorization: Bearer <token>`; unset: 404

    @property
    def token(self) -> str:
        return os.environ.get(self.token_env, "")


@dataclass(frozen=True, config=STRICT)
class LoggingSettings:
    json: bool = False
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
