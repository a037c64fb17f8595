"""Config: the whole of config.yaml, typed and validated, and the rules that span sections."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from deskdraft.settings.helpdesk import STRICT, HelpdeskAccount
from deskdraft.settings.ops import ConsoleSettings, LoggingSettings, MetricsSettings
from deskdraft.settings.sections import (
    UNKNOWN_INTENT,
    AnthropicSettings,
    AutonomySettings,
    BrandSettings,
    DefaultPolicy,
    DraftingSettings,
    IntentSettings,
    KnowledgeSettings,
    QueueSettings,
    RetentionSettings,
    RoutingSettings,
    SavingsSettings,
    StateSettings,
    WebhookSettings,
)
from deskdraft.settings.values import SettingError, matching

AccountName = Annotated[str, matching(r"^[a-z0-9][a-z0-9_-]{0,62}$")]


def _not_reserved(name: str) -> str:
    if name == "unknown":
        raise ValueError("'unknown' is reserved: it always belongs to humans")
    return name


IntentName = Annotated[str, matching(r"^[a-z][a-z0-9_]{0,62}$", "intent names are lower_snake_case"),
                       AfterValidator(_not_reserved)]
POLICY_KEYS = tuple(f.name for f in dataclasses.fields(DefaultPolicy))


@dataclass(frozen=True, config=STRICT)
class Config:
    helpdesks: Annotated[Mapping[AccountName, HelpdeskAccount], Field(min_length=1)]
    anthropic: AnthropicSettings
    data_dir: str = "var"  # SQLite state, the embedded broker's folders and the Chroma store live here
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    drafting: DraftingSettings = field(default_factory=DraftingSettings)
    state: StateSettings = field(default_factory=StateSettings)
    defaults: DefaultPolicy = field(default_factory=DefaultPolicy)
    intents: Mapping[IntentName, IntentSettings] = field(default_factory=dict)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    autonomy: AutonomySettings = field(default_factory=AutonomySettings)
    savings: SavingsSettings = field(default_factory=SavingsSettings)
    brand: BrandSettings = field(default_factory=BrandSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    retention_days: RetentionSettings = field(default_factory=RetentionSettings)
    source: str = field(default="", compare=False)  # the file it was read from

    def intent(self, name: str) -> IntentSettings:
        """The policy for an intent; "unknown" and anything not configured belong to humans."""
        return self.intents.get(name) or UNKNOWN_INTENT

    @property
    def state_url(self) -> str | None:
        return self.state.url

    @property
    def retention(self) -> RetentionSettings:
        return self.retention_days

    @property
    def database_url(self) -> str:
        return self.state.url or f"sqlite:///{Path(self.data_dir).resolve() / 'deskdraft.db'}"

    @property
    def chroma_path(self) -> str:
        path = Path(self.knowledge.path)
        return self.knowledge.path if path.is_absolute() else str(Path(self.data_dir, path).resolve())

    @model_validator(mode="before")
    @classmethod
    def _complete_raw_sections(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # A section left with only commented-out lines arrives from YAML as None.
        data = {key: ({} if value is None and key in SECTIONS else value) for key, value in data.items()}
        if isinstance(data.get("helpdesks"), dict):
            data["helpdesks"] = {name: ({**raw, "name": name} if isinstance(raw, dict) else raw)
                                 for name, raw in data["helpdesks"].items()}
        if isinstance(data.get("intents"), dict):
            data["intents"] = _intents_with_defaults(data["intents"], data.get("defaults"))
        return data

    @model_validator(mode="after")
    def _rules_across_sections(self) -> Config:
        problems = {}
        # The gate counts reviews over window_days, and a review compares the agent's reply with the kept draft.
        window = self.autonomy.window_days
        for key in ("drafts", "reviews"):
            if getattr(self.retention_days, key) < window:
                problems[f"retention_days.{key}"] = (
                    f"must be at least autonomy.window_days ({window}): the gate measures over that window")
        for n, source in enumerate(self.knowledge.sources):
            if source.account and source.account not in self.helpdesks:
                problems[f"knowledge.sources.{n}.account"] = f"no helpdesk account named {source.account!r}"
        if problems:
            raise SettingError(problems)
        return self


SECTIONS = tuple(f.name for f in dataclasses.fields(Config) if f.default_factory is not dataclasses.MISSING)


def _intents_with_defaults(intents: dict[Any, Any], defaults: Any) -> dict[Any, Any]:
    """Each raw intent named by its key, with the policy it leaves out taken from `defaults:`. A risky intent
    belongs to humans (manual) unless it asks for auto_send itself: that contradiction is refused by name, while
    a risky intent that merely inherits defaults.autonomy: auto_send is simply manual."""
    inherited = {f.name: f.default for f in dataclasses.fields(DefaultPolicy)}
    if isinstance(defaults, dict):
        inherited |= {k: v for k, v in defaults.items() if k in POLICY_KEYS and v is not None}
    out = {}
    for name, raw in intents.items():
        if not isinstance(raw, dict):
            out[name] = raw
            continue
        merged = {**raw, "name": name}
        for key in POLICY_KEYS:
            if merged.get(key) is None:
                merged[key] = inherited[key]
        if _is_true(raw.get("risky", False)) and raw.get("autonomy") in (None, "manual", "draft"):
            merged["autonomy"] = "manual"
        out[name] = merged
    return out


def _is_true(value: Any) -> bool:
    """YAML's and pydantic's reading of a boolean (yes, on, 1...); anything else is left to the type check."""
    try:
        return TypeAdapter(bool).validate_python(value)
    except ValidationError:
        return False
