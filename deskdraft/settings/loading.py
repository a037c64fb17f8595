"""config.yaml → a frozen Config, with every bad field named at once in words an admin can act on.

Secrets never live in the file: it names the environment variables that hold them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from deskdraft.settings.model import Config
from deskdraft.settings.values import FROM_FILE, SettingError

CONFIG_ENV = "DESKDRAFT_CONFIG"
_CONFIG = TypeAdapter(Config)

# pydantic's wording where the admin-facing one says more; the rest of its messages are kept as they are.
_MESSAGES = {
    "extra_forbidden": "Unknown field.",
    "unexpected_keyword_argument": "Unknown field.",  # what extra_forbidden is called on a dataclass
    "missing": "Missing data for required field.",
}


class ConfigError(Exception):
    """config.yaml is missing, unreadable or invalid; the message names every bad field."""


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or "config.yaml")


def _problems(exc: ValidationError) -> list[str]:
    """["helpdesks.zendesk.email: Missing data for required field.", ...]; never the offending value, which may
    be a secret."""
    lines = []
    for error in exc.errors():
        where = [str(part) for part in error["loc"] if part != "[key]"]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SettingError):
            for path, message in cause.problems.items():
                lines.append(f"{'.'.join(where + ([path] if path else [])) or '(top level)'}: {message}")
            continue
        if error["type"] == "literal_error":
            message = f"Must be one of: {error['ctx']['expected'].replace(' or ', ', ').replace(chr(39), '')}."
        elif error["type"] == "value_error":
            message = str(cause) if cause else error["msg"]
        else:
            message = _MESSAGES.get(error["type"], error["msg"])
        lines.append(f"{'.'.join(where) or '(top level)'}: {message}")
    return lines


def parse_config(text: str, source: str = "config.yaml") -> Config:
    """Validate YAML text; raises ConfigError naming every bad field."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must be a mapping of settings, got {type(raw).__name__}")
    if "source" in raw:
        raise ConfigError(f"{source} has invalid settings:\n  - source: Unknown field.")
    try:
        return _CONFIG.validate_python({**raw, "source": source}, context=FROM_FILE)
    except ValidationError as exc:
        lines = "\n".join(f"  - {line}" for line in sorted(set(_problems(exc))))
        # `from None`: pydantic's own text quotes the input, and a URL from the environment may carry a password.
        raise ConfigError(f"{source} has invalid settings:\n{lines}") from None


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config file named by DESKDRAFT_CONFIG (default ./config.yaml)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}. "
                          f"Copy config.yaml from the repository or set {CONFIG_ENV}.") from exc
    return parse_config(text, str(path))
