"""`helpdesks.<account>` in config.yaml: where a helpdesk account is reached and how its webhooks are trusted."""
from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, model_validator
from pydantic.dataclasses import dataclass

from deskdraft.settings.values import (
    EnvName,
    HeaderName,
    HttpUrl,
    ScopeName,
    SettingError,
    matching,
    on_given,
    read_from_file,
)

STRICT = ConfigDict(extra="forbid")  # a typo in config.yaml is an error, not a silent default
HELPDESK_TYPES = ("zendesk", "intercom", "freshdesk")
INTERCOM_REGIONS = {"us": "https://api.intercom.io", "eu": "https://api.eu.intercom.io",
                    "au": "https://api.au.intercom.io"}


@dataclass(frozen=True, config=STRICT)
class HelpdeskAccount:
    name: str  # the key under helpdesks: and the webhook path /webhooks/<name>
    type: Literal["zendesk", "intercom", "freshdesk"]
    api_token_env: EnvName
    webhook_secret_env: EnvName
    # Given as base_url, or built from subdomain (Zendesk, Freshdesk) or region (Intercom).
    base_url: HttpUrl | Literal[""] = ""
    subdomain: Annotated[str, matching(r"^[a-z0-9][a-z0-9-]*$")] | None = None
    email: str | None = None  # Zendesk: the agent user API tokens authenticate as ({email}/token)
    agent_user_id: str | None = None  # otherwise read once from the helpdesk
    timeout_seconds: Annotated[float, Field(ge=1, le=120)] = 15.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    # Intercom: the admin notes are posted as, the API version header, the data-hosting region.
    admin_id: str | None = None
    api_version: str | None = None
    region: Literal["us", "eu", "au"] = "us"
    # Freshdesk signs nothing: the automation rule sends our secret in a header (or as basic auth).
    webhook_auth: Literal["signature", "header", "basic"] = "signature"
    webhook_header: HeaderName = "X-Deskdraft-Secret"
    requests_per_minute: Annotated[int, Field(ge=1, le=100_000)] | None = None  # Freshdesk's webhooks share it
    knowledge_scope: ScopeName | None = None  # retrieval restricted to documents ingested with this scope

    @property
    def api_token(self) -> str:
        return os.environ.get(self.api_token_env, "")

    @property
    def webhook_secret(self) -> str:
        return os.environ.get(self.webhook_secret_env, "")

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        return on_given(data, _derive_defaults)

    @model_validator(mode="after")
    def _reachable(self, info: ValidationInfo) -> HelpdeskAccount:
        if not read_from_file(info):
            return self  # built in code (tests, tools): the connector asks the helpdesk for what is left out
        problems = {}
        if not self.base_url:
            problems["base_url"] = "give subdomain or base_url"
        if self.type == "intercom" and not self.admin_id:
            problems["admin_id"] = "Intercom notes are posted as an admin: give the admin's id"
        if self.type == "freshdesk" and self.webhook_auth == "signature":
            problems["webhook_auth"] = "Freshdesk signs nothing: use header or basic"
        if self.type == "zendesk" and not self.email:
            problems["email"] = "Zendesk API tokens authenticate as {email}/token: give the agent's email"
        if problems:
            raise SettingError(problems)
        return self


def _derive_defaults(given: dict[str, Any]) -> dict[str, Any]:
    """webhook_auth by type; base_url from subdomain or region when not given."""
    kind = given.get("type")
    if given.get("webhook_auth") is None:
        given["webhook_auth"] = "header" if kind == "freshdesk" else "signature"
    if given.get("base_url"):
        given["base_url"] = str(given["base_url"]).rstrip("/")
    elif kind == "intercom":
        given["base_url"] = INTERCOM_REGIONS.get(str(given.get("region", "us")), "")
    elif given.get("subdomain") and kind in HELPDESK_TYPES:
        given["base_url"] = f"https://{given['subdomain']}.{kind}.com"
    return given
