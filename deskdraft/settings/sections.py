"""The sections of config.yaml that shape drafting and the queue, each setting declared once: its type, its
range, its default. Validation comes from these declarations (pydantic dataclasses)."""
from __future__ import annotations

import os
from dataclasses import field
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

from deskdraft.settings.helpdesk import STRICT
from deskdraft.settings.values import (
    BROKER_SCHEMES,
    REDIS_SCHEMES,
    STATE_SCHEMES,
    Autonomy,
    EnvName,
    HttpUrl,
    Regex,
    ScopeName,
    SettingError,
    Tag,
    matching,
    on_given,
    url_from_env,
)

# help.acme.com: lower-case ASCII only, so a look-alike letter cannot smuggle in another domain.
LinkDomain = Annotated[str, matching(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "a lower-case ASCII domain such as help.acme.com (no scheme, no path, no look-alike letters)")]


@dataclass(frozen=True, config=STRICT)
class AnthropicSettings:
    model: Annotated[str, Field(min_length=1)]  # the model id from your Anthropic account; never hard-coded
    api_key_env: EnvName = "ANTHROPIC_API_KEY"
    base_url: HttpUrl | None = None
    max_retries: Annotated[int, Field(ge=0, le=5)] = 2
    max_tokens: Annotated[int, Field(ge=200, le=8000)] = 1500
    timeout_seconds: Annotated[float, Field(ge=5, le=600)] = 60.0

    @property
    def api_key(self) -> str:
        return os.environ.get(self.api_key_env, "")


@dataclass(frozen=True, config=STRICT)
class KnowledgeSource:
    type: Literal["folder", "helpcenter", "past_tickets"]
    kind: Literal["article", "policy", "past_ticket"]  # default: past_ticket for past_tickets, else article
    path: str | None = None  # folder
    base_url: HttpUrl | None = None  # folder: public URL prefix for files without a url in their front matter
    account: str | None = None  # helpcenter, past_tickets: which helpdesk account
    locales: tuple[str, ...] = ()  # helpcenter: empty = every locale
    since_days: Annotated[int, Field(ge=1, le=3650)] = 180  # past_tickets: how far back
    max_items: Annotated[int, Field(ge=1, le=1_000_000)] = 5000  # past_tickets: at most this many per sync
    scope: ScopeName | None = None  # documents visible only to accounts with this knowledge_scope; None = everyone

    @property
    def name(self) -> str:
        return f"{self.type}:{self.account or self.path}"

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        return on_given(data, lambda given: given if given.get("kind") is not None else {
            **given, "kind": "past_ticket" if given.get("type") == "past_tickets" else "article"})

    @model_validator(mode="after")
    def _what_it_needs(self) -> KnowledgeSource:
        if self.type == "folder" and not self.path:
            raise SettingError({"path": "a folder source needs a path"})
        if self.type != "folder" and not self.account:
            raise SettingError({"account": f"a {self.type} source needs a helpdesk account"})
        return self


@dataclass(frozen=True, config=STRICT)
class KnowledgeSettings:
    path: str = "chroma"  # under data_dir; ignored when url is set
    url: HttpUrl | None = field(default=None, repr=False)  # may carry credentials: never in a repr or a log line
    url_env: EnvName | None = None  # ...or the variable holding it
    collection: Annotated[str, matching(r"^[a-zA-Z0-9._-]{3,512}$")] = "deskdraft-kb"
    embedding: Literal["multilingual-e5-small", "minilm-int8", "hash"] = "multilingual-e5-small"
    threads: Annotated[int, Field(ge=0, le=64)] = 0  # embedding batches side by side; 0: one per core
    top_k: Annotated[int, Field(ge=1, le=50)] = 5
    min_score: Annotated[float, Field(ge=-1, le=1)] = 0.3
    sources: tuple[KnowledgeSource, ...] = ()
    sync_interval_minutes: Annotated[int, Field(ge=0, le=10080)] = 0  # 0: only when an admin runs `knowledge sync`
    hybrid: bool = False  # add a small BM25 term to the ranking; neutral on StackFAQ (benchmarks/retrieval.py)

    _url_from_env = url_from_env("url", "url_env", r"^https?://")


@dataclass(frozen=True, config=STRICT)
class QueueSettings:
    # May carry a password: never in a repr or a log line.
    broker_url: Annotated[str, matching(BROKER_SCHEMES)] | None = field(default=None, repr=False)
    broker_url_env: EnvName | None = None  # ...or the variable holding it
    name: Annotated[str, matching(r"^[a-zA-Z0-9._-]{1,100}$")] = "deskdraft"
    # 32: 10.4 tickets/s with a 2 s model, memory flat at ~700 MB (4 gave 1.8/s and a 267 s p99 at 10/s).
    concurrency: Annotated[int, Field(ge=1, le=64)] = 32
    peak_per_second: Annotated[float, Field(ge=0, le=1000)] = 0.0  # check-config warns when threads cannot keep up
    task_max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    retry_backoff_seconds: Annotated[int, Field(ge=1, le=3600)] = 30
    sweep_after_seconds: Annotated[int, Field(ge=1, le=86400)] = 300
    sweep_interval_seconds: Annotated[float, Field(ge=0.5, le=3600)] = 60
    # The claim's lease: renewed every third of it while its run lives (deskdraft/leases.py), so a dead worker's
    # ticket is free again within this, however long a live job takes.
    claim_timeout_seconds: Annotated[int, Field(ge=1, le=86400)] = 90
    # Redis shared by every process for helpdesk request budgets (connectors/budget.py); None: the broker's Redis.
    budget_url: Annotated[str, matching(REDIS_SCHEMES)] | None = field(default=None, repr=False)
    budget_url_env: EnvName | None = None  # ...or the variable holding it
    # The web process's publishing thread: its producer's socket timeouts are 4x this (at least 0.2 s); past
    # them the broker counts as down and events are left to the sweep for a second (deskdraft/publisher.py).
    publish_timeout_seconds: Annotated[float, Field(ge=0.005, le=5)] = 0.03

    _url_from_env = url_from_env("broker_url", "broker_url_env", BROKER_SCHEMES)
    _budget_url_from_env = url_from_env("budget_url", "budget_url_env", REDIS_SCHEMES)


@dataclass(frozen=True, config=STRICT)
class StateSettings:
    url: Annotated[str, matching(STATE_SCHEMES)] | None = field(default=None, repr=False)  # default: SQLite
    url_env: EnvName | None = None  # ...or the variable holding it

    _url_from_env = url_from_env("url", "url_env", STATE_SCHEMES)


@dataclass(frozen=True, config=STRICT)
class WebhookSettings:
    max_body_bytes: Annotated[int, Field(ge=1024, le=20_000_000)] = 1_048_576
    timestamp_tolerance_seconds: Annotated[int, Field(ge=10, le=3600)] = 300  # older or future-dated: replays


@dataclass(frozen=True, config=STRICT)
class DraftingSettings:
    needs_human_below: Annotated[float, Field(ge=0, le=1)] = 0.6  # confidence under this: "needs a human"
    assistant_name: str = "Deskdraft Assistant"
    # Links a public reply may carry besides the URLs of the passages it cites (drafting/output_guard.py).
    public_link_domains: tuple[LinkDomain, ...] = ()


@dataclass(frozen=True, config=STRICT)
class DefaultPolicy:
    """`defaults:`: what an intent that does not say otherwise inherits."""
    autonomy: Autonomy = "draft"
    override_threshold: Annotated[float, Field(ge=0.001, le=0.5)] = 0.05
    min_reviewed: Annotated[int, Field(ge=1, le=100_000)] = 200
    min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.8


@dataclass(frozen=True, config=STRICT)
class IntentSettings:
    """`intents.<name>`; the policy fields left out come from `defaults:` (see model.Config)."""
    name: str
    autonomy: Autonomy  # a risky intent is always manual
    override_threshold: Annotated[float, Field(ge=0.001, le=0.5)]
    min_reviewed: Annotated[int, Field(ge=1, le=100_000)]
    min_confidence: Annotated[float, Field(ge=0, le=1)]
    description: str = ""
    examples: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    risky: bool = False
    group: str | None = None  # who owns it on escalation (helpdesk group/team id)
    tags: tuple[Tag, ...] = ()

    @model_validator(mode="after")
    def _auto_send_needs_a_high_bar(self) -> IntentSettings:
        if self.autonomy == "auto_send" and self.risky:
            raise SettingError({"": "a risky intent cannot be auto_send"})
        if self.autonomy == "auto_send" and self.min_confidence < 0.5:
            raise SettingError({"": "auto_send needs min_confidence of 0.5 or more"})
        return self


UNKNOWN_INTENT = IntentSettings(name="unknown", description="not one of the configured intents",
                                autonomy="manual", override_threshold=0.05, min_reviewed=200, min_confidence=0.8)


@dataclass(frozen=True, config=STRICT)
class RoutingSettings:
    min_probability: Annotated[float, Field(ge=0, le=1)] = 0.7  # under this the intent is "unknown" (a human's)
    frustration: Literal["soften", "escalate"] = "soften"  # soften: draft stays private, tone softens
    escalation_tags: tuple[Tag, ...] = ("deskdraft_handoff",)
    escalation_group: str | None = None
    risk_patterns: dict[str, tuple[Regex, ...]] = field(default_factory=dict)  # flag -> extra regexes
    burst_seconds: Annotated[int, Field(ge=0, le=3600)] = 120  # customer messages this close are answered as one


@dataclass(frozen=True, config=STRICT)
class AutonomySettings:
    paused: bool = False  # one switch that keeps every intent on notes
    window_days: Annotated[int, Field(ge=1, le=365)] = 30  # the override rate is measured over reviews this recent
    # A change of any of these restarts the measurement.
    restart_on: tuple[Literal["prompt", "model", "knowledge"], ...] = ("prompt", "model", "knowledge")
    knowledge_snapshot: str = ""  # bump it when the knowledge base changes materially
    # How often the worker re-reads tickets whose drafts agents may have answered.
    review_interval_seconds: Annotated[float, Field(ge=0.5, le=86400)] = 300
    # A public reply with no answer from anyone counts as accepted once its ticket is solved and stays so this long.
    accept_after_days: Annotated[float, Field(ge=0, le=90)] = 7


@dataclass(frozen=True, config=STRICT)
class SavingsSettings:
    tickets_per_month: Annotated[int, Field(ge=0)] = 0
    handle_minutes: Annotated[float, Field(ge=0)] = 11.0
    loaded_hourly_cost: Annotated[float, Field(ge=0)] = 40.0
    currency: str = "USD"


@dataclass(frozen=True, config=STRICT)
class RetentionSettings:
    """Days each kind of record is kept; the worker's hourly purge deletes what is older. Drafts and reviews
    must outlive autonomy.window_days (checked in model.Config)."""
    inbox: Annotated[int, Field(ge=1, le=3650)] = 30  # finished webhook events (a pending one is never purged)
    audit: Annotated[int, Field(ge=1, le=3650)] = 365  # the audit trail, and the claims that stop a second post
    drafts: Annotated[int, Field(ge=1, le=3650)] = 90  # the drafted text kept to compare with the agent's reply
    reviews: Annotated[int, Field(ge=1, le=3650)] = 365  # the draft rows, with the verdicts the gate counts


@dataclass(frozen=True, config=STRICT)
class BrandSettings:
    name: str = "our company"
    voice: str = "Warm, plain and brief. No jargon. Acknowledge frustration before facts."  # given to the model
