"""config.yaml → a frozen Config, validated with marshmallow so every bad field is named at once.

Secrets never live in the file: it names the environment variables that hold them.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from deskdraft import ops_settings as ops

log = logging.getLogger("deskdraft.config")
CONFIG_ENV = "DESKDRAFT_CONFIG"
HELPDESK_TYPES = ("zendesk", "intercom", "freshdesk")
INTERCOM_REGIONS = {"us": "https://api.intercom.io", "eu": "https://api.eu.intercom.io",
                    "au": "https://api.au.intercom.io"}
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
ENV_NAME_ERROR = "must name an environment variable (like ZENDESK_API_TOKEN); the secret itself never goes here"
SECTIONS = ("knowledge", "queue", "webhooks", "drafting", "state", "defaults", "intents", "routing", "autonomy",
            "savings", "brand", "console", "metrics", "logging", "retention_days")


BROKER_SCHEMES = r"^(redis|rediss|amqp|amqps|pyamqp|filesystem)://"
REDIS_SCHEMES = r"^rediss?://"
STATE_SCHEMES = r"^(sqlite|postgresql)(\+\w+)?://"


class ConfigError(Exception):
    """config.yaml is missing, unreadable or invalid; the message names every bad field."""


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


def _check_url_env(data: dict, url_key: str, env_key: str, scheme: str | None = None) -> None:
    """A URL that can carry a password may come from an environment variable instead of the file."""
    env = data.get(env_key)
    if not env:
        return
    if data.get(url_key):
        raise ValidationError({env_key: [f"give {url_key} or {env_key}, not both"]})
    value = os.environ.get(env)
    if not value:
        raise ValidationError({env_key: [f"environment variable {env} is not set"]})
    if scheme and not re.match(scheme, value):
        # The value is a secret: name the variable, never echo what it holds.
        raise ValidationError({env_key: [f"environment variable {env} does not hold a URL of a supported kind"]})


def _resolve_url_env(data: dict, url_key: str, env_key: str) -> dict:
    env = data.pop(env_key, None)
    if env:
        data[url_key] = os.environ[env]
    return data


@dataclass(frozen=True)
class HelpdeskAccount:
    name: str
    type: str
    base_url: str
    email: str | None
    api_token_env: str
    webhook_secret_env: str
    agent_user_id: str | None
    timeout_seconds: float
    max_attempts: int
    # Intercom: the admin notes are posted as, the API version header, the data-hosting region.
    admin_id: str | None = None
    api_version: str | None = None
    region: str = "us"
    # Freshdesk signs nothing: the automation rule sends our secret in a header (or as basic auth).
    webhook_auth: str = "signature"  # signature (Zendesk, Intercom) | header | basic
    webhook_header: str = "X-Deskdraft-Secret"
    requests_per_minute: int | None = None  # client-side budget (Freshdesk's webhooks share the API's)
    knowledge_scope: str | None = None  # retrieval restricted to documents ingested with this scope

    @property
    def api_token(self) -> str:
        return os.environ.get(self.api_token_env, "")

    @property
    def webhook_secret(self) -> str:
        return os.environ.get(self.webhook_secret_env, "")


@dataclass(frozen=True)
class AnthropicSettings:
    model: str
    api_key_env: str
    base_url: str | None
    max_retries: int
    max_tokens: int
    timeout_seconds: float

    @property
    def api_key(self) -> str:
        return os.environ.get(self.api_key_env, "")


@dataclass(frozen=True)
class KnowledgeSource:
    type: str  # folder | helpcenter | past_tickets
    kind: str  # article | policy | past_ticket
    path: str | None = None  # folder
    base_url: str | None = None  # folder: public URL prefix for files without a url in their front matter
    account: str | None = None  # helpcenter, past_tickets: which helpdesk account
    locales: tuple[str, ...] = ()  # helpcenter: empty = every locale
    since_days: int = 180  # past_tickets: how far back
    max_items: int = 5000  # past_tickets: at most this many per sync
    scope: str | None = None  # documents visible only to accounts with this knowledge_scope; None = everyone

    @property
    def name(self) -> str:
        return f"{self.type}:{self.account or self.path}"


@dataclass(frozen=True)
class KnowledgeSettings:
    path: str
    url: str | None = field(repr=False)  # may carry credentials: never in a repr or a log line
    collection: str
    embedding: str
    threads: int
    top_k: int
    min_score: float
    sources: tuple[KnowledgeSource, ...] = ()
    sync_interval_minutes: int = 0  # 0: sync only when an admin runs `knowledge sync`
    hybrid: bool = False  # add a small BM25 term to the ranking; neutral on StackFAQ (benchmarks/retrieval.py)


@dataclass(frozen=True)
class QueueSettings:
    broker_url: str | None = field(repr=False)  # may carry a password: never in a repr or a log line
    name: str
    concurrency: int
    task_max_retries: int
    retry_backoff_seconds: int
    sweep_after_seconds: int
    sweep_interval_seconds: float
    claim_timeout_seconds: int
    publish_timeout_seconds: float = 0.03  # the webhook waits this long for the broker, then leaves it to the sweep
    # Redis shared by every process for helpdesk request budgets (connectors/budget.py); None: the broker's Redis.
    budget_url: str | None = field(default=None, repr=False)
    peak_per_second: float = 0.0  # busiest expected webhook rate; check-config warns when threads cannot keep up


# Tickets a second one worker thread drafts with a ~2 s model call (fetch, route, retrieve, draft, post):
# 32 threads drafted 10.4/s in the load run of issue #19 (4 threads: 1.8/s). Sizing check only.
TICKETS_PER_THREAD_SECOND = 0.32


def capacity_warning(queue: "QueueSettings") -> str | None:
    """check-config's warning when queue.concurrency cannot reach queue.peak_per_second."""
    reach = queue.concurrency * TICKETS_PER_THREAD_SECOND
    if not queue.peak_per_second or reach >= queue.peak_per_second:
        return None
    need = -(-queue.peak_per_second // TICKETS_PER_THREAD_SECOND)
    return (f"queue.concurrency {queue.concurrency} drafts about {reach:.1f} tickets/s "
            f"({TICKETS_PER_THREAD_SECOND}/s per thread with a ~2 s model), under queue.peak_per_second "
            f"{queue.peak_per_second:g}: set concurrency to {int(need)} or more (max 64 per worker)")


@dataclass(frozen=True)
class WebhookSettings:
    max_body_bytes: int
    timestamp_tolerance_seconds: int


@dataclass(frozen=True)
class DraftingSettings:
    needs_human_below: float  # confidence under this marks the note "needs a human"
    assistant_name: str
    # Links a public reply may carry besides the URLs of the passages it cites (drafting/output_guard.py).
    public_link_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntentSettings:
    name: str
    description: str
    examples: tuple[str, ...]
    risky: bool
    autonomy: str  # manual | draft | auto_send
    override_threshold: float
    min_reviewed: int
    min_confidence: float
    group: str | None  # who owns it on escalation (helpdesk group/team id)
    tags: tuple[str, ...]


UNKNOWN_INTENT = IntentSettings(name="unknown", description="not one of the configured intents", examples=(),
                                risky=False, autonomy="manual", override_threshold=0.05, min_reviewed=200,
                                min_confidence=0.8, group=None, tags=())


@dataclass(frozen=True)
class RoutingSettings:
    min_probability: float  # under this the intent is "unknown" (a human's)
    frustration: str  # soften (draft stays private, tone softens) | escalate (hand it to a human)
    escalation_tags: tuple[str, ...]
    escalation_group: str | None
    risk_patterns: Mapping[str, tuple[str, ...]]  # flag -> extra regexes for the safety net
    burst_seconds: int  # customer messages this close together are answered as one


@dataclass(frozen=True)
class AutonomySettings:
    paused: bool  # one switch that keeps every intent on notes
    window_days: int  # the override rate is measured over reviews this recent
    restart_on: tuple[str, ...]  # prompt | model | knowledge: a change restarts the measurement
    knowledge_snapshot: str  # bump it when the knowledge base changes materially
    review_interval_seconds: float  # how often the worker re-reads tickets whose drafts agents may have answered
    # A public reply with no answer from anyone counts as accepted once its ticket is solved and stays so this long.
    accept_after_days: float = 7


@dataclass(frozen=True)
class SavingsSettings:
    tickets_per_month: int
    handle_minutes: float
    loaded_hourly_cost: float
    currency: str


@dataclass(frozen=True)
class RetentionSettings:
    """Days each kind of record is kept; the worker's hourly purge deletes what is older."""
    inbox: int  # accepted webhook events (finished ones; a pending event is never purged)
    audit: int  # the per-ticket audit trail, and the claims that keep a draft from being posted twice
    drafts: int  # the drafted text kept to compare with the agent's reply (blanked after this)
    reviews: int  # the draft rows themselves, with the agents' verdicts the autonomy gate counts


@dataclass(frozen=True)
class BrandSettings:
    name: str
    voice: str  # a sentence or two on tone, given to the model


@dataclass(frozen=True)
class Config:
    data_dir: str
    helpdesks: Mapping[str, HelpdeskAccount]
    anthropic: AnthropicSettings
    knowledge: KnowledgeSettings
    queue: QueueSettings
    webhooks: WebhookSettings
    drafting: DraftingSettings
    state_url: str | None = field(default=None, repr=False)  # may carry a password
    retention: RetentionSettings | None = None
    intents: Mapping[str, IntentSettings] = field(default_factory=dict)
    routing: RoutingSettings | None = None
    autonomy: AutonomySettings | None = None
    savings: SavingsSettings | None = None
    brand: BrandSettings | None = None
    console: ops.ConsoleSettings = field(default_factory=ops.console_settings)
    metrics: ops.MetricsSettings = field(default_factory=ops.metrics_settings)
    logging: ops.LoggingSettings = field(default_factory=ops.logging_settings)
    source: str = field(default="", compare=False)

    def intent(self, name: str) -> IntentSettings:
        """The policy for an intent; "unknown" and anything not configured belong to humans."""
        return self.intents.get(name) or UNKNOWN_INTENT

    @property
    def database_url(self) -> str:
        return self.state_url or f"sqlite:///{Path(self.data_dir).resolve() / 'deskdraft.db'}"

    @property
    def chroma_path(self) -> str:
        return str(Path(self.data_dir, self.knowledge.path).resolve()) if not Path(self.knowledge.path).is_absolute() \
            else self.knowledge.path


class _Strict(Schema):
    class Meta:
        unknown = RAISE  # a typo in config.yaml is an error, not a silent default


class HelpdeskSchema(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(HELPDESK_TYPES))
    subdomain = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$"))
    base_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    email = fields.String(load_default=None)
    api_token_env = fields.String(required=True, validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))
    webhook_secret_env = fields.String(required=True, validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))
    agent_user_id = fields.String(load_default=None)
    timeout_seconds = fields.Float(load_default=15.0, validate=validate.Range(min=1, max=120))
    max_attempts = fields.Integer(load_default=4, validate=validate.Range(min=1, max=10))
    admin_id = fields.String(load_default=None)
    api_version = fields.String(load_default=None)
    region = fields.String(load_default="us", validate=validate.OneOf(sorted(INTERCOM_REGIONS)))
    webhook_auth = fields.String(load_default=None, validate=validate.OneOf(["signature", "header", "basic"]))
    webhook_header = fields.String(load_default="X-Deskdraft-Secret",
                                   validate=validate.Regexp(r"^[A-Za-z0-9-]{1,64}$"))
    requests_per_minute = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100_000))
    knowledge_scope = fields.String(load_default=None, validate=validate.Regexp(r"^[a-zA-Z0-9._-]{1,64}$"))

    @validates_schema
    def where_to_reach_it(self, data: dict, **kwargs: Any) -> None:
        errors = {}
        if not data.get("subdomain") and not data.get("base_url") and data.get("type") != "intercom":
            errors["base_url"] = ["give subdomain or base_url"]
        if data.get("type") == "intercom" and not data.get("admin_id"):
            errors["admin_id"] = ["Intercom notes are posted as an admin: give the admin's id"]
        if data.get("type") == "freshdesk" and data.get("webhook_auth") == "signature":
            errors["webhook_auth"] = ["Freshdesk signs nothing: use header or basic"]
        if data.get("type") == "zendesk" and not data.get("email"):
            errors["email"] = ["Zendesk API tokens authenticate as {email}/token: give the agent's email"]
        if errors:
            raise ValidationError(errors)


class AnthropicSchema(_Strict):
    model = fields.String(required=True, validate=validate.Length(min=1))
    api_key_env = fields.String(load_default="ANTHROPIC_API_KEY", validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))
    base_url = fields.Url(load_default=None, require_tld=False)
    max_retries = fields.Integer(load_default=2, validate=validate.Range(min=0, max=5))
    max_tokens = fields.Integer(load_default=1500, validate=validate.Range(min=200, max=8000))
    timeout_seconds = fields.Float(load_default=60.0, validate=validate.Range(min=5, max=600))


class KnowledgeSourceSchema(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(["folder", "helpcenter", "past_tickets"]))
    kind = fields.String(load_default=None, validate=validate.OneOf(["article", "policy", "past_ticket"]))
    path = fields.String(load_default=None)
    base_url = fields.Url(load_default=None, require_tld=False)
    account = fields.String(load_default=None)
    locales = fields.List(fields.String(), load_default=list)
    since_days = fields.Integer(load_default=180, validate=validate.Range(min=1, max=3650))
    max_items = fields.Integer(load_default=5000, validate=validate.Range(min=1, max=1_000_000))
    scope = fields.String(load_default=None, validate=validate.Regexp(r"^[a-zA-Z0-9._-]{1,64}$"))

    @validates_schema
    def what_it_needs(self, data: dict, **kwargs: Any) -> None:
        if data["type"] == "folder" and not data.get("path"):
            raise ValidationError({"path": ["a folder source needs a path"]})
        if data["type"] != "folder" and not data.get("account"):
            raise ValidationError({"account": [f"a {data['type']} source needs a helpdesk account"]})

    @post_load
    def build(self, data: dict, **kwargs: Any) -> KnowledgeSource:
        kind = data.pop("kind") or ("past_ticket" if data["type"] == "past_tickets" else "article")
        return KnowledgeSource(kind=kind, **{**data, "locales": tuple(data["locales"])})


class KnowledgeSchema(_Strict):
    path = fields.String(load_default="chroma")
    url = fields.Url(load_default=None, require_tld=False)
    collection = fields.String(load_default="deskdraft-kb", validate=validate.Regexp(r"^[a-zA-Z0-9._-]{3,512}$"))
    embedding = fields.String(load_default="multilingual-e5-small",
                              validate=validate.OneOf(["multilingual-e5-small", "minilm-int8", "hash"]))
    threads = fields.Integer(load_default=0, validate=validate.Range(min=0, max=64))
    top_k = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))
    min_score = fields.Float(load_default=0.3, validate=validate.Range(min=-1, max=1))
    sources = fields.List(fields.Nested(KnowledgeSourceSchema), load_default=list)
    sync_interval_minutes = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10080))
    hybrid = fields.Boolean(load_default=False)
    url_env = fields.String(load_default=None, validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))

    @validates_schema
    def url_from_env(self, data: dict, **kwargs: Any) -> None:
        _check_url_env(data, "url", "url_env", r"^https?://")

    @post_load
    def resolve(self, data: dict, **kwargs: Any) -> dict:
        return _resolve_url_env(data, "url", "url_env")


class QueueSchema(_Strict):
    broker_url = fields.String(load_default=None, validate=validate.Regexp(BROKER_SCHEMES))
    name = fields.String(load_default="deskdraft", validate=validate.Regexp(r"^[a-zA-Z0-9._-]{1,100}$"))
    # 32: 10.4 tickets/s with a 2 s model, memory flat at ~700 MB (4 gave 1.8/s and a 267 s p99 at 10/s).
    concurrency = fields.Integer(load_default=32, validate=validate.Range(min=1, max=64))
    peak_per_second = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=1000))
    task_max_retries = fields.Integer(load_default=5, validate=validate.Range(min=0, max=20))
    retry_backoff_seconds = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3600))
    sweep_after_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1, max=86400))
    sweep_interval_seconds = fields.Float(load_default=60, validate=validate.Range(min=0.5, max=3600))
    # The claim's lease: renewed every third of it while its run lives (deskdraft/leases.py), so a dead worker's
    # ticket is free again within this, however long a live job takes.
    claim_timeout_seconds = fields.Integer(load_default=90, validate=validate.Range(min=1, max=86400))
    broker_url_env = fields.String(load_default=None, validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))
    budget_url = fields.String(load_default=None, validate=validate.Regexp(REDIS_SCHEMES))
    budget_url_env = fields.String(load_default=None, validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))

    @validates_schema
    def url_from_env(self, data: dict, **kwargs: Any) -> None:
        _check_url_env(data, "broker_url", "broker_url_env", BROKER_SCHEMES)
        _check_url_env(data, "budget_url", "budget_url_env", REDIS_SCHEMES)

    @post_load
    def resolve(self, data: dict, **kwargs: Any) -> dict:
        return _resolve_url_env(_resolve_url_env(data, "broker_url", "broker_url_env"), "budget_url", "budget_url_env")
    publish_timeout_seconds = fields.Float(load_default=0.03, validate=validate.Range(min=0.005, max=5))


class WebhookSchema(_Strict):
    max_body_bytes = fields.Integer(load_default=1_048_576, validate=validate.Range(min=1024, max=20_000_000))
    timestamp_tolerance_seconds = fields.Integer(load_default=300, validate=validate.Range(min=10, max=3600))


class DraftingSchema(_Strict):
    needs_human_below = fields.Float(load_default=0.6, validate=validate.Range(min=0, max=1))
    assistant_name = fields.String(load_default="Deskdraft Assistant")
    public_link_domains = fields.List(fields.String(validate=validate.Regexp(
        r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        error="a lower-case ASCII domain such as help.acme.com (no scheme, no path, no look-alike letters)")),
        load_default=list)


AUTONOMY = ["manual", "draft", "auto_send"]  # not "off": YAML reads off as false


class AutonomyField(fields.String):
    """A string from AUTONOMY; YAML's off/on/yes/no arrive as booleans and get an error that says why."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise ValidationError("YAML read this as true/false (off, on, yes and no are booleans in YAML): "
                                  "write manual, draft or auto_send")
        return super()._deserialize(value, attr, data, **kwargs)


class IntentSchema(_Strict):
    description = fields.String(load_default="")
    examples = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    risky = fields.Boolean(load_default=False)
    autonomy = AutonomyField(load_default=None, validate=validate.OneOf(AUTONOMY))
    override_threshold = fields.Float(load_default=None, validate=validate.Range(min=0.001, max=0.5))
    min_reviewed = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100_000))
    min_confidence = fields.Float(load_default=None, validate=validate.Range(min=0, max=1))
    group = fields.String(load_default=None)
    tags = fields.List(fields.String(validate=validate.Regexp(r"^[a-z0-9_-]{1,80}$")), load_default=list)


class DefaultPolicySchema(_Strict):
    autonomy = AutonomyField(load_default="draft", validate=validate.OneOf(AUTONOMY))
    override_threshold = fields.Float(load_default=0.05, validate=validate.Range(min=0.001, max=0.5))
    min_reviewed = fields.Integer(load_default=200, validate=validate.Range(min=1, max=100_000))
    min_confidence = fields.Float(load_default=0.8, validate=validate.Range(min=0, max=1))


class RoutingSchema(_Strict):
    min_probability = fields.Float(load_default=0.7, validate=validate.Range(min=0, max=1))
    frustration = fields.String(load_default="soften", validate=validate.OneOf(["soften", "escalate"]))
    escalation_tags = fields.List(fields.String(validate=validate.Regexp(r"^[a-z0-9_-]{1,80}$")),
                                  load_default=lambda: ["deskdraft_handoff"])
    escalation_group = fields.String(load_default=None)
    risk_patterns = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), load_default=dict)
    burst_seconds = fields.Integer(load_default=120, validate=validate.Range(min=0, max=3600))

    @validates_schema
    def patterns_compile(self, data: dict, **kwargs: Any) -> None:
        import re
        for flag, patterns in data.get("risk_patterns", {}).items():
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValidationError({"risk_patterns": {flag: [f"{pattern!r} is not a valid regex: {exc}"]}})


class AutonomySchema(_Strict):
    paused = fields.Boolean(load_default=False)
    window_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365))
    restart_on = fields.List(fields.String(validate=validate.OneOf(["prompt", "model", "knowledge"])),
                             load_default=lambda: ["prompt", "model", "knowledge"])
    knowledge_snapshot = fields.String(load_default="")
    review_interval_seconds = fields.Float(load_default=300, validate=validate.Range(min=0.5, max=86400))
    accept_after_days = fields.Float(load_default=7, validate=validate.Range(min=0, max=90))


class SavingsSchema(_Strict):
    tickets_per_month = fields.Integer(load_default=0, validate=validate.Range(min=0))
    handle_minutes = fields.Float(load_default=11.0, validate=validate.Range(min=0))
    loaded_hourly_cost = fields.Float(load_default=40.0, validate=validate.Range(min=0))
    currency = fields.String(load_default="USD")


class BrandSchema(_Strict):
    name = fields.String(load_default="our company")
    voice = fields.String(load_default="Warm, plain and brief. No jargon. Acknowledge frustration before facts.")


class StateSchema(_Strict):
    url = fields.String(load_default=None, validate=validate.Regexp(STATE_SCHEMES))
    url_env = fields.String(load_default=None, validate=validate.Regexp(ENV_NAME, error=ENV_NAME_ERROR))

    @validates_schema
    def url_from_env(self, data: dict, **kwargs: Any) -> None:
        _check_url_env(data, "url", "url_env", STATE_SCHEMES)

    @post_load
    def resolve(self, data: dict, **kwargs: Any) -> dict:
        return _resolve_url_env(data, "url", "url_env")


class RetentionSchema(_Strict):
    # A year of audit by default; drafts and reviews must outlive autonomy.window_days (checked below).
    inbox = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650))
    audit = fields.Integer(load_default=365, validate=validate.Range(min=1, max=3650))
    drafts = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3650))
    reviews = fields.Integer(load_default=365, validate=validate.Range(min=1, max=3650))


class ConfigSchema(_Strict):
    data_dir = fields.String(load_default="var")
    helpdesks = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,62}$")),
                            values=fields.Nested(HelpdeskSchema), required=True,
                            validate=validate.Length(min=1))
    anthropic = fields.Nested(AnthropicSchema, required=True)
    knowledge = fields.Nested(KnowledgeSchema, load_default=lambda: KnowledgeSchema().load({}))
    queue = fields.Nested(QueueSchema, load_default=lambda: QueueSchema().load({}))
    webhooks = fields.Nested(WebhookSchema, load_default=lambda: WebhookSchema().load({}))
    drafting = fields.Nested(DraftingSchema, load_default=lambda: DraftingSchema().load({}))
    state = fields.Nested(StateSchema, load_default=lambda: StateSchema().load({}))
    defaults = fields.Nested(DefaultPolicySchema, load_default=lambda: DefaultPolicySchema().load({}))
    intents = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,62}$", error=(
        "intent names are lower_snake_case"))), values=fields.Nested(IntentSchema), load_default=dict)
    routing = fields.Nested(RoutingSchema, load_default=lambda: RoutingSchema().load({}))
    autonomy = fields.Nested(AutonomySchema, load_default=lambda: AutonomySchema().load({}))
    savings = fields.Nested(SavingsSchema, load_default=lambda: SavingsSchema().load({}))
    brand = fields.Nested(BrandSchema, load_default=lambda: BrandSchema().load({}))
    console = fields.Nested(ops.ConsoleSchema, load_default=lambda: ops.ConsoleSchema().load({}))
    metrics = fields.Nested(ops.MetricsSchema, load_default=lambda: ops.MetricsSchema().load({}))
    logging = fields.Nested(ops.LoggingSchema, load_default=lambda: ops.LoggingSchema().load({}))
    retention_days = fields.Nested(RetentionSchema, load_default=lambda: RetentionSchema().load({}))

    @validates_schema
    def retention_outlives_the_gate_window(self, data: dict, **kwargs: Any) -> None:
        # The gate counts reviews over window_days, and a review compares the agent's reply with the kept draft.
        window = (data.get("autonomy") or {}).get("window_days", 30)
        kept = data.get("retention_days") or {}
        errors = {key: [f"must be at least autonomy.window_days ({window}): the gate measures over that window"]
                  for key in ("drafts", "reviews") if kept.get(key, window) < window}
        if errors:
            raise ValidationError({"retention_days": errors})

    @validates_schema
    def auto_send_needs_a_high_bar(self, data: dict, **kwargs: Any) -> None:
        defaults = data.get("defaults") or {}
        for name, raw in (data.get("intents") or {}).items():
            if name == "unknown":
                raise ValidationError({"intents": {name: ["'unknown' is reserved: it always belongs to humans"]}})
            autonomy = raw.get("autonomy") or defaults.get("autonomy")
            floor = raw.get("min_confidence") if raw.get("min_confidence") is not None else defaults.get(
                "min_confidence", 0.8)
            # A risky intent that only inherits defaults.autonomy: auto_send is simply never public (it is
            # manual); asking for auto_send on the intent itself is the contradiction worth refusing.
            if raw.get("autonomy") == "auto_send" and raw.get("risky"):
                raise ValidationError({"intents": {name: ["a risky intent cannot be auto_send"]}})
            if autonomy == "auto_send" and not raw.get("risky") and floor < 0.5:
                raise ValidationError({"intents": {name: ["auto_send needs min_confidence of 0.5 or more"]}})

    @validates_schema
    def sources_name_known_accounts(self, data: dict, **kwargs: Any) -> None:
        accounts = set(data.get("helpdesks") or {})
        for n, source in enumerate((data.get("knowledge") or {}).get("sources", [])):
            if source.account and source.account not in accounts:
                raise ValidationError({"knowledge": {"sources": {n: {"account": [
                    f"no helpdesk account named {source.account!r}"]}}}})

    @pre_load
    def empty_sections_mean_defaults(self, data: Any, **kwargs: Any) -> Any:
        # A section left with only commented-out lines arrives from YAML as None.
        if isinstance(data, dict):
            return {k: ({} if v is None and k in SECTIONS else v) for k, v in data.items()}
        return data

    @post_load
    def build(self, data: dict, **kwargs: Any) -> Config:
        accounts = {name: _account(name, raw) for name, raw in data["helpdesks"].items()}
        return Config(
            data_dir=data["data_dir"], helpdesks=accounts,
            anthropic=AnthropicSettings(**data["anthropic"]),
            knowledge=KnowledgeSettings(**{**data["knowledge"], "sources": tuple(data["knowledge"]["sources"])}),
            queue=QueueSettings(**data["queue"]), webhooks=WebhookSettings(**data["webhooks"]),
            drafting=DraftingSettings(**{**data["drafting"],
                                         "public_link_domains": tuple(data["drafting"]["public_link_domains"])}),
            state_url=data["state"]["url"],
            intents={name: _intent(name, raw, data["defaults"]) for name, raw in data["intents"].items()},
            routing=RoutingSettings(**{**data["routing"], "escalation_tags": tuple(data["routing"]["escalation_tags"]),
                                       "risk_patterns": {k: tuple(v) for k, v in data["routing"]["risk_patterns"].items()}}),
            autonomy=AutonomySettings(**{**data["autonomy"], "restart_on": tuple(data["autonomy"]["restart_on"])}),
            savings=SavingsSettings(**data["savings"]), brand=BrandSettings(**data["brand"]),
            console=ops.console_settings(data["console"]), metrics=ops.metrics_settings(data["metrics"]),
            logging=ops.logging_settings(data["logging"]),
            retention=RetentionSettings(**data["retention_days"]),
        )


def _intent(name: str, raw: dict, defaults: dict) -> IntentSettings:
    def pick(key: str) -> Any:
        return raw[key] if raw.get(key) is not None else defaults[key]

    return IntentSettings(name=name, description=raw["description"], examples=tuple(raw["examples"]),
                          risky=raw["risky"], autonomy="manual" if raw["risky"] else pick("autonomy"),
                          override_threshold=pick("override_threshold"), min_reviewed=pick("min_reviewed"),
                          min_confidence=pick("min_confidence"), group=raw["group"], tags=tuple(raw["tags"]))


def _account(name: str, raw: dict) -> HelpdeskAccount:
    base_url = raw["base_url"] or _default_base_url(raw["type"], raw["subdomain"], raw["region"])
    auth = raw["webhook_auth"] or ("header" if raw["type"] == "freshdesk" else "signature")
    return HelpdeskAccount(name=name, type=raw["type"], base_url=base_url.rstrip("/"), email=raw["email"],
                           api_token_env=raw["api_token_env"], webhook_secret_env=raw["webhook_secret_env"],
                           agent_user_id=raw["agent_user_id"], timeout_seconds=raw["timeout_seconds"],
                           max_attempts=raw["max_attempts"], admin_id=raw["admin_id"],
                           api_version=raw["api_version"], region=raw["region"], webhook_auth=auth,
                           webhook_header=raw["webhook_header"], requests_per_minute=raw["requests_per_minute"],
                           knowledge_scope=raw["knowledge_scope"])


def _default_base_url(kind: str, subdomain: str | None, region: str) -> str:
    if kind == "intercom":
        return INTERCOM_REGIONS[region]
    return f"https://{subdomain}.{kind}.com"


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or "config.yaml")


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict → ["helpdesks.zendesk.email: Missing data ...", ...]."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            name = prefix if key in ("_schema", "value") else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(_flatten(value, name))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix or '(top level)'}: {' '.join(messages)}"]
    if isinstance(messages, list):
        return [line for item in messages for line in _flatten(item, prefix)]
    return [f"{prefix or '(top level)'}: {messages}"]


def parse_config(text: str, source: str = "config.yaml") -> Config:
    """Validate YAML text; raises ConfigError naming every bad field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must be a mapping of settings, got {type(raw).__name__}")
    try:
        config = ConfigSchema().load(raw)
    except ValidationError as exc:
        lines = "\n".join(f"  - {line}" for line in sorted(_flatten(exc.messages)))
        raise ConfigError(f"{source} has invalid settings:\n{lines}") from exc
    return replace(config, source=source)


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config file named by DESKDRAFT_CONFIG (default ./config.yaml)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}. "
                          f"Copy config.yaml from the repository or set {CONFIG_ENV}.") from exc
    return parse_config(text, str(path))


def missing_secrets(config: Config) -> list[str]:
    """Environment variables the config names that are not set (warnings, not errors)."""
    missing = []
    for account in config.helpdesks.values():
        for env in (account.api_token_env, account.webhook_secret_env):
            if not os.environ.get(env):
                missing.append(f"{env} (helpdesks.{account.name})")
    return missing


# Settings a running process cannot switch safely: the database and broker both processes share (the web server
# on the old database while the worker reads the new one drops events), what Celery, gunicorn and the scheduler
# read once at start. An edit that changes one of them is refused as a whole until a restart.
RESTART_ONLY: dict[str, Any] = {
    "data_dir": lambda c: str(Path(c.data_dir).resolve()),
    "state.url": lambda c: c.database_url,
    "queue.broker_url": lambda c: c.queue.broker_url,
    "queue.name": lambda c: c.queue.name,
    "queue.concurrency": lambda c: c.queue.concurrency,
    "queue.sweep_interval_seconds": lambda c: c.queue.sweep_interval_seconds,
    "webhooks.max_body_bytes": lambda c: c.webhooks.max_body_bytes,
    "autonomy.review_interval_seconds": lambda c: c.autonomy.review_interval_seconds if c.autonomy else None,
    "knowledge.sync_interval_minutes": lambda c: c.knowledge.sync_interval_minutes,
}


def needs_restart(running: Config, edited: Config) -> list[str]:
    """The restart-only settings an edit changes, by their config.yaml names."""
    return [name for name, read in RESTART_ONLY.items() if read(running) != read(edited)]


class LiveConfig:
    """The config in force, re-read when the file changes; a bad edit is refused and the last good one kept.

    Checked at most every `interval` seconds (one stat call), so a running worker or web process picks up an
    admin's edit without a restart.
    """

    def __init__(self, path: Path, initial: Config, interval: float = 1.0, clock: Any = None) -> None:
        import threading
        import time

        self.path = path
        self._config = initial
        self._interval = interval
        self._clock = clock or time.monotonic
        self._checked = self._clock()
        self._mtime = self._stat()
        self._lock = threading.Lock()
        self.error: str | None = None  # why the file on disk is not in force, if it is not

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size  # two quick edits can share a timestamp on coarse clocks

    def current(self) -> Config:
        now = self._clock()
        with self._lock:
            if now - self._checked < self._interval:
                return self._config
            self._checked = now
            mtime = self._stat()
            if mtime == self._mtime:
                return self._config
            self._mtime = mtime
            try:
                loaded = load_config(self.path)
                restart = needs_restart(self._config, loaded)
                if restart:  # web and worker must never disagree on these: both keep the running values
                    raise ConfigError(f"{', '.join(restart)} changed: needs a restart of scripts/run")
                self._config = loaded
                self.error = None
                log.warning("config reloaded from %s", self.path)
            except ConfigError as exc:
                self.error = f"{exc} (the last good config stays in force)"
                log.error("config edit refused: %s", self.error)
            return self._config
