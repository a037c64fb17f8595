"""The Grafana dashboard and the alert rules in docs/ name only metrics deskdraft exports."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from deskdraft import metrics

DOCS = Path(__file__).resolve().parents[1] / "docs" / "grafana"
DB_GAUGES = {"deskdraft_inbox_backlog", "deskdraft_inbox_oldest_pending_seconds", "deskdraft_inbox_failed",
             "deskdraft_gate_open", "deskdraft_worker_heartbeat_age_seconds"}


def exported() -> set[str]:
    names = set(DB_GAUGES)
    for value in vars(metrics).values():
        name = getattr(value, "_name", None)
        if isinstance(name, str) and name.startswith("deskdraft_"):
            kind = getattr(value, "_type", "")
            names |= {name + "_total"} if kind == "counter" else {name + "_bucket", name + "_count", name + "_sum"}
    return names


def test_dashboard_and_alerts_use_real_metric_names():
    dashboard = json.loads((DOCS / "deskdraft-dashboard.json").read_text())
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = {m for e in exprs for m in re.findall(r"deskdraft_[a-z_]+", e)}
    assert used and used <= exported(), used - exported()
    assert {r["alert"] for g in rules["groups"] for r in g["rules"]} >= {
        "DeskdraftBacklogAge", "DeskdraftFailureNotes", "DeskdraftGateDemoted"}


def test_the_console_on_its_own_address_has_no_webhook_route(make_config, monkeypatch):
    from deskdraft.console.server import create_app
    from deskdraft.state import State
    monkeypatch.setenv("DESKDRAFT_CONSOLE_PASSWORD_HASH", "scrypt:1:1:x")
    monkeypatch.setenv("DESKDRAFT_CONSOLE_SECRET", "k" * 32)
    config = make_config(console={"bind": "127.0.0.1:8001"})
    app = create_app(config, state=State(config.database_url))
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/console/intents" in rules and "/healthz" in rules and "/metrics" in rules
    assert not any(r.startswith("/webhooks") for r in rules)
    assert app.test_client().get("/console/intents").status_code == 302
    # ...and the webhook server then serves no console at all.
    from webhooks import create_app as webhook_app
    main = webhook_app(config, enqueue=lambda _: None, state=State(config.database_url))
    assert not any(r.rule.startswith("/console") for r in main.url_map.iter_rules())
