"""The Flask app: verify, parse, record in the inbox, enqueue, answer. Nothing else happens in a request.

Serve it with `gunicorn 'webhooks:create_app()'` (scripts/run does); admin commands are
`deskdraft <command>` or `flask --app webhooks <command>` (see deskdraft/commands/).
"""
from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
import orjson
from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from connectors import Ignored, MalformedPayload, build_connectors
from connectors.payload import load_json
from deskdraft import logging_setup, private_files
from deskdraft.console.cli import console_cli
from deskdraft.publisher import BackgroundPublisher, task_sender
from deskdraft.settings import Config, ConfigError, LiveConfig, load_config
from deskdraft.state import DatabaseBusy, State, ValueNotStorable

# Zendesk retries "certain" failed codes (as we read its page, 503 with a Retry-After of 60 s or less; unconfirmed);
# Freshdesk retries any failure 5, 30 and 60 minutes later; Intercom documents no retry, only counts errors. A 503
# with a short Retry-After is the answer each reads as "try again" (README, What holds when things go wrong).
RETRY_AFTER_SECONDS = 30
DB_WAIT_SECONDS = 1.0  # a locked or unreachable database answers 503 after this, well inside any helpdesk timeout

log = logging.getLogger("deskdraft.webhooks")
bp = Blueprint("webhooks", __name__)


def _reply(code: int, **body: Any):
    # orjson straight into a Response: jsonify's provider and make_response were 4% of a loaded web process's CPU.
    return Response(orjson.dumps(body), mimetype="application/json"), code


@bp.route("/webhooks/<account>", methods=["POST", "HEAD"])
def receive(account: str):
    connector = _connectors().get(account)
    if connector is None:
        return _reply(404, error=f"no helpdesk account named {account!r} in the config")
    if request.method == "HEAD":  # Intercom checks the URL with a HEAD request when it is saved
        return "", 200
    body = _read_body(current_app.config["MAX_CONTENT_LENGTH"])
    if body is None:
        return _too_large()
    if not connector.verify_webhook(request.headers, body):
        log.warning("webhook for %s refused: bad or missing signature", account)
        return _reply(401, error="signature missing, invalid or outside the allowed time window")
    try:
        payload = load_json(body)  # bounded: size above, depth and numbers here
        event = connector.parse_webhook(request.headers, body, payload)
    except MalformedPayload as exc:
        return _reply(400, error=str(exc))
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # A shape no helpdesk sends reached a handler that expected the real one: still bad input, not our outage
        # (a 5xx would make the helpdesk send it forever). Logged with the type so the handler can be tightened.
        log.warning("webhook for %s: unexpected body shape (%s: %s)", account, type(exc).__name__, exc)
        return _reply(400, error=f"body does not have the shape of a {connector.type} delivery")
    if isinstance(event, Ignored):
        log.info("webhook for %s ignored: %s", account, event.reason)
        return _reply(200, status="ignored", reason=event.reason)

    try:
        inbox_id = _service("state").record_event(event.account, event.event_id, event.ticket_id, event.kind,
                                                  then=functools.partial(_hand_to_broker, _services()))
    except ValueNotStorable as exc:  # the connectors' checks should stop these first; never a 500 if not
        return _reply(400, error=str(exc))
    # Not recorded: the helpdesk must send it again, so say so in a way it retries.
    except (DatabaseBusy, SQLAlchemyError) as exc:
        log.error("webhook for %s not recorded, answered 503: %s", account, exc)
        response = _reply(503, error="the event could not be recorded right now; send it again",
                          retry_after=RETRY_AFTER_SECONDS)[0]
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, 503
    if inbox_id is None:
        return _reply(200, status="duplicate", event_id=event.event_id)
    return _reply(202, status="queued", inbox_id=inbox_id)


def _hand_to_broker(services: dict[str, Any], inbox_id: int) -> None:
    """Run where the row is committed, before the request is answered: on the inbox writer's thread, so the ids of
    one batch reach the publisher together and go out in one broker write (group_commit.py, publisher.py)."""
    try:
        _built(services, "enqueue")(inbox_id)
    except Exception as exc:  # the inbox row is durable: the sweep enqueues it once the broker is back
        log.error("event %s recorded but not queued for the broker (%s); the sweep will send it", inbox_id, exc)


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is over `limit`. With a Content-Length werkzeug refuses a large body before
    reading it; a chunked body has none, and werkzeug's stream stops quietly at the limit (a cut body would then be
    verified and parsed as if whole), so it is read here to one byte past the limit."""
    if request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return request.get_data(cache=True)
    stream, size = request.environ["wsgi.input"], 0
    chunks: list[bytes] = []
    while size <= limit:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _too_large():
    response, code = _reply(413, error="body larger than webhooks.max_body_bytes")
    response.headers["Connection"] = "close"  # the rest of the body was not read: this connection is done
    return response, code


def _current_config() -> Config:
    live: LiveConfig | None = current_app.extensions["deskdraft.live"]
    return live.current() if live else current_app.extensions["deskdraft.config"]


def _connectors() -> Mapping[str, Any]:
    """The connectors of the config in force: an admin's valid edit (a new account, a rotated secret's env
    name) takes effect without a restart; a bad edit is refused and the last good config kept."""
    config = _current_config()
    services = current_app.extensions["deskdraft.services"]
    if services.get("connectors_for") is config:  # the common case, read without the lock (set together below)
        return services["connectors"]
    with services["lock"]:
        if services.get("connectors_for") is not config:
            services["connectors"] = build_connectors(config)
            services["connectors_for"] = config
        return services["connectors"]


def _service(name: str) -> Any:
    """State and the queue producer are built on first use, so admin commands never open them."""
    return _built(_services(), name)


def _services() -> dict[str, Any]:
    services: dict[str, Any] = current_app.extensions["deskdraft.services"]
    return services


def _built(services: dict[str, Any], name: str) -> Any:
    found = services.get(name)
    if found is not None:  # built once and never replaced: no lock needed to read it
        return found
    with services["lock"]:
        if name not in services:
            services[name] = services["factories"][name]()
        return services[name]


def _json_errors(exc: HTTPException):
    return _reply(exc.code or 500, error=exc.description)


def _celery_enqueue(config: Config) -> Callable[[int], None]:
    # The request hands the id over and answers: the row is committed, the sweep covers a publish that fails.
    return BackgroundPublisher(task_sender(config))


def _install_operations(app: Flask, config: Config) -> None:
    """/healthz, /metrics and (unless it has its own address) the operator console at /console."""
    from deskdraft import console, ops_routes

    live: LiveConfig | None = app.extensions["deskdraft.live"]

    def current() -> Config:
        return live.current() if live else config

    def state() -> State:
        with app.app_context():
            return _service("state")

    ops_routes.install(app, current, state, lambda: live.error if live else None)
    if config.console.enabled and not config.console.bind:
        console.install(app, current, state)


def create_app(config: Config | None = None, enqueue: Callable[[int], None] | None = None,
               state: State | None = None) -> Flask:
    """App factory: tests pass a config and an enqueue function; production reads config.yaml."""
    app = Flask("deskdraft")
    from deskdraft.commands import admin_cli, cli, setup_cli
    from deskdraft.replay import cli as replay_cli

    cli.register(app)
    app.cli.add_command(console_cli)
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
    private_files.restrict(config.data_dir)  # the inbox (SQLite) is created 0600 under a 0700 folder
    app.config["MAX_CONTENT_LENGTH"] = config.webhooks.max_body_bytes
    app.extensions["deskdraft.config"] = config
    source = Path(config.source) if config.source else None
    app.extensions["deskdraft.live"] = LiveConfig(source, config) if source and source.is_file() else None
    services: dict[str, Any] = {"lock": threading.Lock(), "factories": {
        "state": lambda: State(config.database_url, wait_seconds=DB_WAIT_SECONDS),
        "enqueue": lambda: _celery_enqueue(config)}}
    services.update({k: v for k, v in (("state", state), ("enqueue", enqueue)) if v is not None})
    app.extensions["deskdraft.services"] = services
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _json_errors)
    _install_operations(app, config)
    if click.get_current_context(silent=True) is None:
        logging_setup.configure(config.logging)
        with app.app_context():  # serving: open the database and the broker now, not in the first request
            _service("state")
            _service("enqueue")
    return app
