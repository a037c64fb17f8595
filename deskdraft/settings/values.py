"""The kinds of value config.yaml holds, each with the error an admin reads when one is wrong.

Used in the section declarations as `Annotated` types, so a setting's type, range and message are written once.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, ValidationInfo, model_validator
from pydantic_core import ArgsKwargs

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
ENV_NAME_ERROR = "must name an environment variable (like ZENDESK_API_TOKEN); the secret itself never goes here"
BROKER_SCHEMES = r"^(redis|rediss|amqp|amqps|pyamqp|filesystem)://"
REDIS_SCHEMES = r"^rediss?://"
STATE_SCHEMES = r"^(sqlite|postgresql)(\+\w+)?://"


class SettingError(ValueError):
    """A rule over several settings broke; `problems` maps each setting's path (relative to the section the
    rule belongs to, dotted) to what is wrong with it, so every one is named in the error."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems.items()))
        self.problems = dict(problems)


def matching(pattern: str, error: str = "String does not match expected pattern.") -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(error)
        return value

    return AfterValidator(check)


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError("Not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("Not a valid URL.")
    return value


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regex: {exc}") from None
    return value


def _not_a_yaml_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("YAML read this as true/false (off, on, yes and no are booleans in YAML): "
                         "write manual, draft or auto_send")
    return value


EnvName = Annotated[str, matching(ENV_NAME, ENV_NAME_ERROR)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Regex = Annotated[str, AfterValidator(_compiles)]
Tag = Annotated[str, matching(r"^[a-z0-9_-]{1,80}$")]
ScopeName = Annotated[str, matching(r"^[a-zA-Z0-9._-]{1,64}$")]
HeaderName = Annotated[str, matching(r"^[A-Za-z0-9-]{1,64}$")]
# Not "off": YAML reads off as false, which gets an error saying so.
Autonomy = Annotated[Literal["manual", "draft", "auto_send"], BeforeValidator(_not_a_yaml_boolean)]


def url_from_env(url_key: str, env_key: str, scheme: str) -> Any:
    """A section's validator: a URL that can carry a password may come from an environment variable instead of
    the file; `url_key` is filled from the variable `env_key` names."""
    def resolve(data: Any) -> Any:
        return _url_from_env(data, url_key, env_key, scheme)
    return model_validator(mode="before")(resolve)


def _url_from_env(data: Any, url_key: str, env_key: str, scheme: str) -> Any:
    if not isinstance(data, dict) or not data.get(env_key) or not isinstance(data[env_key], str):
        return data
    env = data[env_key]
    if not re.match(ENV_NAME, env):
        return data  # the field's own check names it
    if data.get(url_key):
        raise SettingError({env_key: f"give {url_key} or {env_key}, not both"})
    value = os.environ.get(env)
    if not value:
        raise SettingError({env_key: f"environment variable {env} is not set"})
    if not re.match(scheme, value):
        # The value is a secret: name the variable, never echo what it holds.
        raise SettingError({env_key: f"environment variable {env} does not hold a URL of a supported kind"})
    return {**data, url_key: value}


def on_given(data: Any, complete: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Run a before-validator's `complete` on the settings given, whether they come from config.yaml (a dict)
    or from keywords in code, so both get the same derived defaults."""
    if isinstance(data, dict):
        return complete(dict(data))
    if isinstance(data, ArgsKwargs) and not data.args:
        return ArgsKwargs((), complete(dict(data.kwargs or {})))
    return data


FROM_FILE = {"config.yaml": True}  # the validation context of loading.parse_config


def read_from_file(info: ValidationInfo) -> bool:
    """Whether config.yaml is being validated, rather than a section built in code."""
    return bool(info.context and info.context.get("config.yaml"))
