"""deskdraft's configuration: config.yaml as a typed, validated, frozen Config.

- `values`: the kinds of value (environment variable names, URLs, regexes, autonomy levels) and their errors
- `helpdesk`, `sections`, `ops`: the sections, each setting declared once with its type, range and default
- `model`: `Config`, the whole file, and the rules that span sections
- `loading`: reading and validating the file (`load_config`, `parse_config`, `ConfigError`)
- `reload`: `LiveConfig`, which keeps the last good config when an edit is bad or needs a restart
- `advice`, `masking`: check-config's warnings, URLs with their passwords hidden
"""
from deskdraft.settings.advice import TICKETS_PER_THREAD_SECOND, capacity_warning, missing_secrets
from deskdraft.settings.helpdesk import HELPDESK_TYPES, INTERCOM_REGIONS, HelpdeskAccount
from deskdraft.settings.loading import CONFIG_ENV, ConfigError, config_path, load_config, parse_config
from deskdraft.settings.masking import mask_url
from deskdraft.settings.model import Config
from deskdraft.settings.ops import ConsoleSettings, LoggingSettings, MetricsSettings
from deskdraft.settings.reload import RESTART_ONLY, LiveConfig, needs_restart
from deskdraft.settings.sections import (
    UNKNOWN_INTENT,
    AnthropicSettings,
    AutonomySettings,
    BrandSettings,
    DefaultPolicy,
    DraftingSettings,
    IntentSettings,
    KnowledgeSettings,
    KnowledgeSource,
    QueueSettings,
    RetentionSettings,
    RoutingSettings,
    SavingsSettings,
    StateSettings,
    WebhookSettings,
)

__all__ = [
    "CONFIG_ENV", "HELPDESK_TYPES", "INTERCOM_REGIONS", "RESTART_ONLY", "TICKETS_PER_THREAD_SECOND",
    "UNKNOWN_INTENT", "AnthropicSettings", "AutonomySettings", "BrandSettings", "Config", "ConfigError",
    "ConsoleSettings", "DefaultPolicy", "DraftingSettings", "HelpdeskAccount", "IntentSettings",
    "KnowledgeSettings", "KnowledgeSource", "LiveConfig", "LoggingSettings", "MetricsSettings", "QueueSettings",
    "RetentionSettings", "RoutingSettings", "SavingsSettings", "StateSettings", "WebhookSettings",
    "capacity_warning", "config_path", "load_config", "mask_url", "missing_secrets", "needs_restart",
    "parse_config",
]
