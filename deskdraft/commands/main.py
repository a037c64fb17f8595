"""The `deskdraft` console script: the same admin commands as `flask --app webhooks <command>`, shorter.

`deskdraft check-config` is `flask --app webhooks check-config`: one Flask command group built from the same
app factory, so every command (check-config, report, audit, knowledge, inbox, db, router, console, replay, ...)
and its options are identical under both names.
"""
from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    # Imported here: webhooks imports this package's commands while building the app.
    from webhooks import create_app

    return create_app()


def main() -> None:
    FlaskGroup(name="deskdraft", create_app=_create_app,
               help="deskdraft's admin commands (the same as `flask --app webhooks <command>`).").main(
                   prog_name="deskdraft")
