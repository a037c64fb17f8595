"""`register` sets up the webhook and trigger in Zendesk through the API; running it twice changes nothing."""
from __future__ import annotations

import json

import pytest

from connectors.zendesk import ZendeskConnector
from connectors.zendesk_setup import TRIGGER_TITLE, register, signing_secret
from tests.conftest import AGENT_EMAIL, FIXTURES, ZENDESK_TOKEN
from tests.fakes.server import serve
from tests.fakes.zendesk import FakeZendesk
from tests.fakes.zendesk_admin import ZendeskAdmin

GO = FIXTURES / "zendesk" / "go-zendesk"


@pytest.fixture
def setup(make_config):
    fake = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN)
    admin = ZendeskAdmin(fake)
    with serve(fake.app) as srv:
        config = make_config(zendesk_url=srv.url)
        connector = ZendeskConnector(config.helpdesks["zendesk"], config.webhooks)
        yield connector, admin, fake
        connector.close()


def test_register_creates_the_webhook_and_a_trigger_that_excludes_agents_and_the_api(setup):
    connector, admin, _ = setup
    changes = register(connector, "https://deskdraft.acme.test/")
    assert len(changes) == 2
    [webhook] = admin.webhooks.values()
    assert webhook["endpoint"] == "https://deskdraft.acme.test/webhooks/zendesk"
    assert webhook["subscriptions"] == ["conditional_ticket_events"]
    [trigger] = admin.triggers.values()
    conditions = trigger["conditions"]["all"]
    assert {"field": "role", "operator": "is", "value": "end_user"} in conditions
    assert {"field": "current_via_id", "operator": "is_not", "value": "5"} in conditions  # not via the API
    [action] = trigger["actions"]
    assert action["field"] == "notification_webhook" and action["value"][0] == webhook["id"]
    assert json.loads(action["value"][1]) == {"ticket_id": "{{ticket.id}}", "title": "{{ticket.title}}"}


def test_running_it_twice_changes_nothing(setup):
    connector, admin, fake = setup
    register(connector, "https://deskdraft.acme.test")
    writes = len(fake.writes)
    assert register(connector, "https://deskdraft.acme.test") == []
    assert len(fake.writes) == writes and len(admin.webhooks) == 1 and len(admin.triggers) == 1


def test_a_moved_endpoint_or_an_edited_trigger_is_put_back(setup):
    connector, admin, _ = setup
    register(connector, "https://old.acme.test")
    [trigger] = admin.triggers.values()
    trigger["conditions"]["all"] = []  # someone loosened it in the admin UI
    changes = register(connector, "https://new.acme.test")
    assert any("updated webhook" in c for c in changes) and any("updated trigger" in c for c in changes)
    assert next(iter(admin.webhooks.values()))["endpoint"] == "https://new.acme.test/webhooks/zendesk"
    assert len(next(iter(admin.triggers.values()))["conditions"]["all"]) == 3


def test_finds_our_trigger_past_the_first_page(setup):
    connector, admin, _ = setup
    for n in range(120):  # the account already has many triggers
        admin.triggers[n + 1] = {"id": n + 1, "title": f"other {n}", "actions": [], "conditions": {}}
    register(connector, "https://deskdraft.acme.test")
    assert register(connector, "https://deskdraft.acme.test") == []
    assert sum(t["title"] == TRIGGER_TITLE for t in admin.triggers.values()) == 1


def test_signing_secret_is_read_back(setup):
    connector, admin, _ = setup
    with pytest.raises(LookupError):
        signing_secret(connector)
    register(connector, "https://deskdraft.acme.test")
    assert signing_secret(connector) == next(iter(admin.secrets.values()))


def test_fake_admin_shapes_match_zendesk_fixtures(setup):
    connector, admin, _ = setup
    register(connector, "https://deskdraft.acme.test")
    webhook = next(iter(admin.webhooks.values()))
    expected = set(json.loads((GO / "POST" / "webhooks.json").read_text())["webhook"]) - {"authentication"}
    assert expected <= set(webhook)
    trigger = next(iter(admin.triggers.values()))
    assert set(json.loads((GO / "POST" / "triggers.json").read_text())["trigger"]) <= set(trigger)
    listing = connector.call("GET", "/api/v2/triggers.json").json()
    assert set(json.loads((GO / "GET" / "triggers.json").read_text())) <= set(listing)


def test_register_command_sets_up_zendesk_and_prints_steps_for_the_others(make_config, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tests.conftest import config_text
    from webhooks import create_app

    fake = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN)
    admin = ZendeskAdmin(fake)
    with serve(fake.app) as srv:
        path = tmp_path / "config.yaml"
        path.write_text(config_text(tmp_path / "var", zendesk_url=srv.url, helpdesks={
            "support-intercom": {"type": "intercom", "admin_id": "991", "api_token_env": "IC_TOKEN",
                                 "webhook_secret_env": "IC_SECRET"},
            "support-freshdesk": {"type": "freshdesk", "subdomain": "acme", "api_token_env": "FD_KEY",
                                  "webhook_secret_env": "FD_SECRET"}}))
        monkeypatch.setenv("DESKDRAFT_CONFIG", str(path))
        app = create_app(make_config(zendesk_url=srv.url))
        runner = CliRunner()
        first = runner.invoke(app.cli, ["register", "--public-url", "https://dd.acme.test", "--show-secret"])
        assert first.exit_code == 0, first.output
        assert "created webhook" in first.output and "created trigger" in first.output
        assert "https://dd.acme.test/webhooks/support-intercom" in first.output
        assert "conversation.user.replied" in first.output
        assert "X-Deskdraft-Secret: <the value of FD_SECRET>" in first.output
        assert f"export TEST_ZENDESK_SECRET={next(iter(admin.secrets.values()))}" in first.output
        second = runner.invoke(app.cli, ["register", "--public-url", "https://dd.acme.test", "--account", "zendesk"])
        assert second.exit_code == 0 and "already set up, nothing changed" in second.output
