"""`flask --app webhooks console ...`: make the password hash and the session key, show the console's address."""
from __future__ import annotations

import secrets

import click
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

console_cli = AppGroup("console", help="The operator console.")


@console_cli.command("hash-password")
@click.password_option()
def hash_password(password: str) -> None:
    """Print the hash to put in DESKDRAFT_CONSOLE_PASSWORD_HASH (the password itself is stored nowhere)."""
    click.echo(generate_password_hash(password))


@console_cli.command("new-secret")
def new_secret() -> None:
    """Print a random key for DESKDRAFT_CONSOLE_SECRET (signs sessions and CSRF tokens)."""
    click.echo(secrets.token_urlsafe(32))


@console_cli.command("bind")
def show_bind() -> None:
    """Print console.bind (empty when the console is served with the webhooks); scripts/run reads it."""
    from deskdraft.commands.cli import config_or_exit

    click.echo(config_or_exit().console.bind or "")
