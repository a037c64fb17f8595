"""/healthz (for load balancers: open, one word per component) and /metrics (for Prometheus: a bearer token),
plus the per-delivery webhook counter. Installed on the webhook app and on the console's own app."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry

from deskdraft import metrics
from deskdraft.health import Health

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    report = current_app.extensions["deskdraft.health"].report()
    return report, 200 if report["status"] == "ok" else 503


@bp.get("/metrics")
def scrape():
    token = current_app.extensions["deskdraft.current_config"]().metrics.token
    if not token:
        return {"error": "metrics are off: set the variable named by metrics.token_env"}, 404
    if not metrics.authorised(request.headers.get("Authorization", ""), token):
        return {"error": "bearer token missing or wrong"}, 401, {"WWW-Authenticate": "Bearer"}
    return Response(metrics.exposition(current_app.extensions["deskdraft.metrics_registry"]),
                    mimetype=metrics.CONTENT_TYPE_LATEST)


def _count_delivery(response: Response) -> Response:
    if request.endpoint == "webhooks.receive" and request.method == "POST":
        account = (request.view_args or {}).get("account", "")
        known = current_app.extensions["deskdraft.current_config"]().helpdesks
        body = None
        if response.status_code == 200 and response.mimetype == "application/json":
            try:
                body = json.loads(response.get_data())
            except ValueError:
                body = None
        # An account not in the config is one label, not one per URL an attacker tries.
        metrics.WEBHOOK_DELIVERIES.labels(account if account in known else "(unknown)",
                                          metrics.webhook_outcome(response.status_code, body)).inc()
    return response


def install(app: Flask, current_config: Callable[[], Any], state: Callable[[], Any],
            config_error: Callable[[], str | None]) -> None:
    app.extensions["deskdraft.current_config"] = current_config
    app.extensions["deskdraft.health"] = Health(current_config, state, config_error)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics.StateCollector(state, current_config))
    app.extensions["deskdraft.metrics_registry"] = registry
    app.after_request(_count_delivery)
    app.register_blueprint(bp)
