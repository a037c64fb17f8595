"""The `console:`, `metrics:` and `logging:` sections of config.yaml: who may see the operator console,
how /metrics is protected, and how logs are written. Secrets are named by environment variable, as elsewhere."""
from __future__ import annotations

import os
from dataclasses import dataclass

from marshmallow import RAISE, Schema, fields, validate

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
ENV_NAME_ERROR = "must name an environment variable; the secret itself never goes here"
HEADER_NAME = r"^[A-Za-z0-9-]{1,64}$"


@dataclass(frozen=True)
class ConsoleSettings:
    enabled: bool
    password_hash_env: str  # holds a werkzeug password hash (`flask --app webhooks console hash-password`)
    secret_key_env: str  # signs the session cookie and the CSRF tokens
    proxy_user_header: str | None  # set only behind a proxy that authenticates and strips this header itself
    session_minutes: int
    secure_cookie: bool
    bind: str | None  # a separate address for the console (scripts/run starts a second server on it)

    @property
    def password_hash(self) -> str:
        return os.environ.get(self.password_hash_env, "")

    @property
    def secret_key(self) -> str:
        return os.environ.get(self.secret_key_env, "")


@dataclass(frozen=True)
class MetricsSettings:
    token_env: str  # /metrics wants `Authorization: Bearer <token>`; unset token: /metrics answers 404

    @property
    def token(self) -> str:
        return os.environ.get(self.token_env, "")


@dataclass(frozen=True)
class LoggingSettings:
    json: bool
    level: str


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _env_field(default: str) -> fields.String:
    return fields.String(load_default=default, validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))


class ConsoleSchema(_Strict):
    enabled = fields.Boolean(load_default=True)
    password_hash_env = _env_field("DESKDRAFT_CONSOLE_PASSWORD_HASH")
    secret_key_env = _env_field("DESKDRAFT_CONSOLE_SECRET")
    proxy_user_header = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(HEADER_NAME))
    session_minutes = fields.Integer(load_default=480, validate=validate.Range(min=1, max=7 * 24 * 60))
    secure_cookie = fields.Boolean(load_default=False)
    bind = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[\w.:\[\]-]+:\d{1,5}$"))


class MetricsSchema(_Strict):
    token_env = _env_field("DESKDRAFT_METRICS_TOKEN")


class LoggingSchema(_Strict):
    json = fields.Boolean(load_default=False)
    level = fields.String(load_default="INFO", validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))


def console_settings(raw: dict | None = None) -> ConsoleSettings:
    return ConsoleSettings(**(raw if raw is not None else ConsoleSchema().load({})))


def metrics_settings(raw: dict | None = None) -> MetricsSettings:
    return MetricsSettings(**(raw if raw is not None else MetricsSchema().load({})))


def logging_settings(raw: dict | None = None) -> LoggingSettings:
    return LoggingSettings(**(raw if raw is not None else LoggingSchema().load({})))
