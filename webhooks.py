"""The Flask app: verify, parse, record in the inbox, enqueue, answer. Nothing else happens in a request.

Serve it with `gunicorn 'webhooks:create_app()'` (scripts/run does); admin commands are
`flask --app webhooks <command>` (see cli.py).
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

import click
from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from connectors import Ignored, MalformedPayload, build_connectors
from settings import Config, ConfigError, LiveConfig, load_config
from state import State

log = logging.getLogger("deskdraft.webhooks")
bp = Blueprint("webhooks", __name__)


def _reply(code: int, **body: Any):
    return jsonify(body), code


@bp.route("/webhooks/<account>", methods=["POST", "HEAD"])
def receive(account: str):
    connector = _connectors().get(account)
    if connector is None:
        return _reply(404, error=f"no helpdesk account named {account!r} in the config")
    if request.method == "HEAD":  # Intercom checks the URL with a HEAD request when it is saved
        return "", 200
    body = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug answers 413 before we read
    if not connector.verify_webhook(request.headers, body):
        log.warning("webhook for %s refused: bad or missing signature", account)
        return _reply(401, error="signature missing, invalid or outside the allowed time window")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _reply(400, error=f"body is not valid JSON: {exc}")
    if not isinstance(payload, Mapping):
        return _reply(400, error="body must be a JSON object")
    try:
        event = connector.parse_webhook(request.headers, body, payload)
    except MalformedPayload as exc:
        return _reply(400, error=str(exc))
    if isinstance(event, Ignored):
        log.info("webhook for %s ignored: %s", account, event.reason)
        return _reply(200, status="ignored", reason=event.reason)

    state: State = _service("state")
    inbox_id = state.record_event(event.account, event.event_id, event.ticket_id, event.kind)
    if inbox_id is None:
        return _reply(200, status="duplicate", event_id=event.event_id)
    try:
        _service("enqueue")(inbox_id)
    except Exception as exc:  # the inbox row is durable: the sweep enqueues it once the broker is back
        log.error("event %s recorded but not enqueued (%s); the sweep will retry", inbox_id, exc)
    return _reply(202, status="queued", inbox_id=inbox_id)


@bp.get("/healthz")
def health():
    config = _current_config()
    live: LiveConfig | None = current_app.extensions["deskdraft.live"]
    error = live.error if live else None
    return _reply(200, status="config_error" if error else "ok", config=config.source,
                  accounts=sorted(config.helpdesks), config_error=error)


def _current_config() -> Config:
    live: LiveConfig | None = current_app.extensions["deskdraft.live"]
    return live.current() if live else current_app.extensions["deskdraft.config"]


def _connectors() -> Mapping[str, Any]:
    """The connectors of the config in force: an admin's valid edit (a new account, a rotated secret's env
    name) takes effect without a restart; a bad edit is refused and the last good config kept."""
    config = _current_config()
    services = current_app.extensions["deskdraft.services"]
    with services["lock"]:
        if services.get("connectors_for") is not config:
            services["connectors"] = build_connectors(config)
            services["connectors_for"] = config
        return services["connectors"]


def _service(name: str) -> Any:
    """State and the queue producer are built on first use, so admin commands never open them."""
    services = current_app.extensions["deskdraft.services"]
    with services["lock"]:
        if name not in services:
            services[name] = services["factories"][name]()
        return services[name]


def _json_errors(exc: HTTPException):
    return _reply(exc.code or 500, error=exc.description)


def _celery_enqueue(config: Config) -> Callable[[int], None]:
    import worker  # the producer side of the same Celery app the worker consumes

    worker.configure(config)
    return lambda inbox_id: worker.process_event.delay(inbox_id)


def create_app(config: Config | None = None, enqueue: Callable[[int], None] | None = None,
               state: State | None = None) -> Flask:
    """App factory: tests pass a config and an enqueue function; production reads config.yaml."""
    app = Flask("deskdraft")
    import admin_cli
    import cli
    import setup_cli
    from replay import cli as replay_cli

    cli.register(app)
    setup_cli.register(app)
    admin_cli.register(app)
    replay_cli.register(app)  # after admin_cli: adds `report gaps` to its `report`
    if config is None:
        try:
            config = load_config()
        except ConfigError as exc:
            if click.get_current_context(silent=True) is None:
                raise  # serving: refuse to start
            # An admin command (check-config among them) must still run to report what is wrong.
            message = str(exc)
            app.extensions["deskdraft.config_error"] = message
            app.before_request(lambda: _reply(503, error=message))
            return app
    app.config["MAX_CONTENT_LENGTH"] = config.webhooks.max_body_bytes
    app.extensions["deskdraft.config"] = config
    source = Path(config.source) if config.source else None
    app.extensions["deskdraft.live"] = LiveConfig(source, config) if source and source.is_file() else None
    services: dict[str, Any] = {"lock": threading.Lock(), "factories": {
        "state": lambda: State(config.database_url), "enqueue": lambda: _celery_enqueue(config)}}
    services.update({k: v for k, v in (("state", state), ("enqueue", enqueue)) if v is not None})
    app.extensions["deskdraft.services"] = services
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _json_errors)
    if click.get_current_context(silent=True) is None:
        with app.app_context():  # serving: open the database and the broker now, not in the first request
            _service("state")
            _service("enqueue")
    return app
