"""deskdraft.settings: each setting declared once, as a typed field with its default; the same derived defaults
whether a section comes from config.yaml or is built in code; rules that only config.yaml must satisfy."""
from __future__ import annotations

import dataclasses

import pytest

from deskdraft.settings import ConfigError, HelpdeskAccount, QueueSettings, parse_config
from tests.conftest import dedent

MINIMAL = dedent("""
    helpdesks:
      fd: {type: freshdesk, subdomain: acme, api_token_env: FD_TOKEN, webhook_secret_env: FD_SECRET}
      ic: {type: intercom, region: eu, admin_id: "7", api_token_env: IC_TOKEN, webhook_secret_env: IC_SECRET}
    anthropic: {model: m}
""")


def test_a_section_left_empty_gets_the_declared_defaults():
    config = parse_config(MINIMAL + "queue:\nautonomy:\n")
    assert config.queue == QueueSettings()
    assert config.queue.concurrency == next(f.default for f in dataclasses.fields(QueueSettings)
                                             if f.name == "concurrency") == 32


def test_derived_defaults_are_the_same_from_the_file_and_from_code():
    config = parse_config(MINIMAL)
    fd, ic = config.helpdesks["fd"], config.helpdesks["ic"]
    assert (fd.base_url, fd.webhook_auth) == ("https://acme.freshdesk.com", "header")  # Freshdesk signs nothing
    assert (ic.base_url, ic.webhook_auth) == ("https://api.eu.intercom.io", "signature")
    built = HelpdeskAccount(name="fd", type="freshdesk", subdomain="acme", api_token_env="FD_TOKEN",
                            webhook_secret_env="FD_SECRET")
    assert (built.base_url, built.webhook_auth) == (fd.base_url, fd.webhook_auth)


def test_rules_for_the_file_name_every_account_at_once():
    text = MINIMAL.replace('admin_id: "7", ', "").replace("subdomain: acme, ", "webhook_auth: signature, ")
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert "helpdesks.ic.admin_id: Intercom notes are posted as an admin" in str(error.value)
    assert "helpdesks.fd.base_url: give subdomain or base_url" in str(error.value)
    assert "helpdesks.fd.webhook_auth: Freshdesk signs nothing" in str(error.value)


def test_the_file_cannot_set_where_it_was_read_from():
    with pytest.raises(ConfigError, match="source: Unknown field"):
        parse_config(MINIMAL + "source: elsewhere.yaml\n")
    assert parse_config(MINIMAL, "mine.yaml").source == "mine.yaml"


def test_sections_are_frozen():
    config = parse_config(MINIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.queue.concurrency = 1  # type: ignore[misc]
