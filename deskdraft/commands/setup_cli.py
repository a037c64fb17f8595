"""`flask --app webhooks register`: connect each helpdesk account to this deployment.

Zendesk is set up through its API (idempotent); Intercom and Freshdesk do not let an API create their
webhooks, so the exact manual steps are printed instead.
"""
from __future__ import annotations

import click
from flask import Flask

from deskdraft.settings import HelpdeskAccount

INTERCOM_STEPS = """\
Intercom ({name}): Developer Hub > your app > Webhooks
  1. Endpoint URL: {endpoint}  (Intercom checks it with a HEAD request; deskdraft answers 200)
  2. Topics: conversation.user.created, conversation.user.replied  (nothing else: admin topics would be ignored)
  3. Basic information > App credentials > Client secret: export it as {secret_env}
     (deskdraft checks X-Hub-Signature, the HMAC-SHA1 of each body keyed by that secret)
  4. Authentication > access token: export it as {token_env}; admin_id in config.yaml is the teammate
     notes are posted as (Settings > Teammates, or GET /me)."""

FRESHDESK_STEPS = """\
Freshdesk ({name}): Admin > Workflows > Automations > Ticket updates (and Ticket creation) > New rule
  1. When: "Reply is sent" / "Ticket is created", performed by: **Requester** (never agents or the system)
  2. Action: Trigger webhook, POST {endpoint}, encoding JSON, custom headers:
       {header}: <the value of {secret_env}>
  3. Content: advanced, paste the body from docs/freshdesk-webhook-body.json
  Full walk-through: docs/freshdesk-automation-rule.md. API key (Profile settings): export it as {token_env}."""


def _manual_steps(account: HelpdeskAccount, endpoint: str) -> str:
    template = INTERCOM_STEPS if account.type == "intercom" else FRESHDESK_STEPS
    return template.format(name=account.name, endpoint=endpoint, secret_env=account.webhook_secret_env,
                           token_env=account.api_token_env, header=account.webhook_header)


@click.command("register")
@click.option("--public-url", required=True, help="The HTTPS address helpdesks reach this deployment at.")
@click.option("--account", "only", default=None, help="One helpdesk account (default: all of them).")
@click.option("--show-secret", is_flag=True, help="Print Zendesk's webhook signing secret to export.")
def register_command(public_url: str, only: str | None, show_secret: bool) -> None:
    """Create or update Zendesk's webhook and trigger; print the steps for Intercom and Freshdesk."""
    from connectors import build_connectors
    from connectors.zendesk import ZendeskConnector
    from connectors.zendesk_setup import register, signing_secret
    from deskdraft.commands.cli import config_or_exit

    config = config_or_exit()
    accounts = [a for a in config.helpdesks.values() if only in (None, a.name)]
    if not accounts:
        raise click.ClickException(f"no helpdesk account named {only!r}")
    connectors = build_connectors(config)
    for account in accounts:
        endpoint = f"{public_url.rstrip('/')}/webhooks/{account.name}"
        connector = connectors[account.name]
        if not isinstance(connector, ZendeskConnector):
            click.echo(_manual_steps(account, endpoint))
            continue
        changes = register(connector, public_url)
        done = "; ".join(changes) if changes else "already set up, nothing changed"
        click.echo(f"Zendesk ({account.name}): {done}")
        if show_secret:
            click.echo(f"  export {account.webhook_secret_env}={signing_secret(connector)}")


def register(app: Flask) -> None:
    app.cli.add_command(register_command)
