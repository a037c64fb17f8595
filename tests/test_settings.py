from pathlib import Path

import pytest

from deskdraft.settings import ConfigError, load_config, parse_config
from tests.conftest import config_text, dedent

REPO = Path(__file__).resolve().parents[1]


def test_the_shipped_config_yaml_loads():
    config = load_config(REPO / "config.yaml")
    assert config.helpdesks["zendesk"].base_url == "https://yourcompany.zendesk.com"
    assert config.anthropic.api_key_env == "ANTHROPIC_API_KEY"
    assert config.queue.broker_url is None and config.state_url is None and config.knowledge.url is None


def test_every_bad_field_is_named_at_once():
    text = dedent("""
        helpdesks:
          zendesk: {type: zendsk, api_token_env: my-secret-token, webhook_secret_env: ZD_SECRET, subdomain: acme}
        anthropic: {max_retries: 9}
        queue: {broker_url: "mysql://x"}
        surprise: 1
    """)
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    message = str(err.value)
    for field in ("helpdesks.zendesk.type", "helpdesks.zendesk.api_token_env", "anthropic.model",
                  "anthropic.max_retries", "queue.broker_url", "surprise"):
        assert field in message, field
    assert "the secret itself never goes here" in message


def test_zendesk_needs_an_email_and_somewhere_to_reach_it():
    text = dedent("""
        helpdesks:
          zendesk: {type: zendesk, api_token_env: ZD_TOKEN, webhook_secret_env: ZD_SECRET}
        anthropic: {model: m}
    """)
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert "helpdesks.zendesk.base_url: give subdomain or base_url" in str(err.value)
    assert "helpdesks.zendesk.email" in str(err.value)


def test_secrets_come_from_the_environment(tmp_path, monkeypatch):
    config = parse_config(config_text(tmp_path))
    monkeypatch.setenv("TEST_ZENDESK_TOKEN", "from-env")
    assert config.helpdesks["zendesk"].api_token == "from-env"
    monkeypatch.delenv("TEST_ZENDESK_TOKEN")
    assert config.helpdesks["zendesk"].api_token == ""


def test_not_yaml_and_not_a_mapping_are_clear_errors():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("helpdesks: [unclosed")
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_config("- a list")


def test_missing_file_says_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKDRAFT_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="DESKDRAFT_CONFIG"):
        load_config()


def test_servers_are_switched_on_by_urls(tmp_path):
    config = parse_config(config_text(tmp_path, queue={"broker_url": "redis://127.0.0.1:6379/3"},
                                      state={"url": "postgresql+psycopg://u@127.0.0.1/db"},
                                      knowledge={"url": "http://127.0.0.1:8001"}))
    assert config.queue.broker_url.startswith("redis://")
    assert config.database_url.startswith("postgresql+psycopg://")
    assert config.knowledge.url == "http://127.0.0.1:8001"


def test_live_config_picks_up_edits_and_refuses_bad_ones(tmp_path):
    from deskdraft.settings import LiveConfig

    path = tmp_path / "config.yaml"
    path.write_text(config_text(tmp_path))
    now = [0.0]
    live = LiveConfig(path, load_config(path), interval=1.0, clock=lambda: now[0])
    assert live.current().anthropic.max_tokens == 1500

    path.write_text(config_text(tmp_path, anthropic={"max_tokens": 900}))
    now[0] += 2
    assert live.current().anthropic.max_tokens == 900 and live.error is None

    good = live.current()
    path.write_text(config_text(tmp_path, anthropic={"max_tokens": "lots"}))
    now[0] += 0.5
    assert live.current() is good  # not checked again before the interval
    now[0] += 2
    assert live.current() is good  # a bad edit: the last good config stays in force
    assert "anthropic.max_tokens" in live.error and "last good config" in live.error

    path.write_text(config_text(tmp_path, anthropic={"max_tokens": 700}))
    now[0] += 2
    assert live.current().anthropic.max_tokens == 700 and live.error is None


def _with_intents(tmp_path, intents: str) -> str:
    return config_text(tmp_path) + intents


def test_intents_inherit_defaults_and_risky_ones_belong_to_humans(tmp_path):
    config = parse_config(_with_intents(tmp_path, dedent("""
        defaults: {autonomy: draft, min_reviewed: 50}
        intents:
          order_status: {examples: [where is my order], autonomy: auto_send, min_confidence: 0.9}
          chargeback: {risky: true}
    """)))
    assert config.intent("order_status").autonomy == "auto_send"
    assert config.intent("order_status").min_reviewed == 50 and config.intent("order_status").min_confidence == 0.9
    assert config.intent("chargeback").autonomy == "manual"
    assert config.intent("never_configured").autonomy == "manual"  # unknown is a human's


@pytest.mark.parametrize("intents, message", [
    ("intents: {x: {autonomy: off}}", "off, on, yes and no are booleans in YAML"),
    ("intents: {x: {autonomy: sometimes}}", "Must be one of"),
    ("intents: {x: {risky: true, autonomy: auto_send}}", "a risky intent cannot be auto_send"),
    ("intents: {unknown: {}}", "'unknown' is reserved"),
    ("intents: {Bad-Name: {}}", "lower_snake_case"),
    ("routing: {risk_patterns: {legal: ['(unclosed']}}", "not a valid regex"),
])
def test_bad_intent_settings_are_named(tmp_path, intents, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config(_with_intents(tmp_path, intents + "\n"))


def test_check_config_warns_when_the_threads_cannot_reach_the_peak_rate(tmp_path, secrets):
    from click.testing import CliRunner

    from deskdraft.commands import cli
    from tests.conftest import config_text

    runner = CliRunner()
    for concurrency, warned in ((4, True), (32, False)):
        path = tmp_path / f"c{concurrency}.yaml"
        path.write_text(config_text(tmp_path / "var", queue={"concurrency": concurrency, "peak_per_second": 10}))
        result = runner.invoke(cli.check_config, env={"DESKDRAFT_CONFIG": str(path)})
        assert result.exit_code == 0, result.output
        assert ("queue.concurrency 4 drafts about 1.3 tickets/s" in result.output) is warned
        assert ("set concurrency to 32 or more" in result.output) is warned


def test_defaults_auto_send_is_allowed_next_to_risky_intents_which_stay_manual(tmp_path, secrets):
    from deskdraft.settings import parse_config
    from tests.conftest import config_text

    text = config_text(tmp_path / "var", defaults={"autonomy": "auto_send"},
                       intents={"order_status": {"description": "Where is my order", "examples": ["Where is it?"]},
                                "payment_dispute": {"risky": True, "examples": ["I dispute this charge"]}})
    config = parse_config(text, "test.yaml")
    assert config.intent("order_status").autonomy == "auto_send"
    assert config.intent("payment_dispute").autonomy == "manual"
