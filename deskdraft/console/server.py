"""The console on its own address (config `console.bind`): the console, /healthz and /metrics, and no webhook
route at all. `scripts/run` starts it with gunicorn when console.bind is set."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import click
from flask import Flask

from deskdraft import logging_setup, ops_routes
from deskdraft.console import install
from deskdraft.settings import Config, LiveConfig, load_config
from deskdraft.state import State


def create_app(config: Config | None = None, state: State | None = None) -> Flask:
    config = config or load_config()
    app = Flask("deskdraft-console")
    source = Path(config.source) if config.source else None
    live = LiveConfig(source, config) if source and source.is_file() else None
    lock = threading.Lock()
    held: dict[str, Any] = {"state": state}

    def current() -> Config:
        return live.current() if live else config

    def get_state() -> State:
        with lock:
            if held["state"] is None:
                held["state"] = State(config.database_url)
            return held["state"]

    ops_routes.install(app, current, get_state, lambda: live.error if live else None)
    install(app, current, get_state)
    if click.get_current_context(silent=True) is None:
        logging_setup.configure(config.logging)
    return app
