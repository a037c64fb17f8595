"""Console routes. Every one of them, pages and JSON alike, answers only a signed-in user: the check runs
before any view, so a route added later is covered too."""
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from deskdraft.commands import admin_cli
from deskdraft.console import auth, charts, queries
from drafting import gate
from drafting.overrides import gate_facts

log = logging.getLogger("deskdraft.console")
bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
csrf = CSRFProtect()
OPEN_ENDPOINTS = {"console.login"}


def _config() -> Any:
    return current_app.extensions["deskdraft.current_config"]()


def _state() -> Any:
    return current_app.extensions["deskdraft.state"]()


@bp.before_request
def require_sign_in():
    s = auth.settings()
    if not s.secret_key or not (s.password_hash or s.proxy_user_header):
        return "The console is not configured: see the README's Console section.", 503
    if request.method not in ("GET", "HEAD"):
        csrf.protect()  # every form, the sign-in form included (no signing a victim into our account)
    if request.endpoint in OPEN_ENDPOINTS and not s.proxy_user_header:
        return None
    if auth.current_user() is None:
        if request.path.startswith("/console/api/") or request.method not in ("GET", "HEAD") or s.proxy_user_header:
            return jsonify(error="sign in first"), 401
        return redirect(url_for("console.login", next=request.full_path if request.query_string else request.path))
    return None


@bp.after_request
def no_store(response):
    # Pages carry ticket text and customer data: no shared or back-button caches.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; " \
                                                  "form-action 'self'; frame-ancestors 'none'"
    return response


def _safe_next(target: str | None) -> str:
    # Only back into the console: an open redirect after sign-in would hand the session page to a phisher.
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return url_for("console.intents")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        if auth.check_password(request.form.get("password", "")):
            auth.sign_in("admin")
            log.info("console: signed in from %s", request.remote_addr)
            return redirect(_safe_next(request.form.get("next")))
        log.warning("console: failed sign-in from %s", request.remote_addr)
        error = "Wrong password."
    return render_template("console/login.html", error=error, next=request.args.get("next", "")), \
        (401 if error else 200)


@bp.post("/logout")
def logout():
    from flask import session
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/")
def home():
    return redirect(url_for("console.intents"))


def _window(config: Any) -> tuple[int, str | None, float, float]:
    try:
        days = int(request.args.get("days", config.autonomy.window_days))
    except ValueError:
        abort(400, "days must be a whole number")
    days = min(max(days, 1), 366)
    account = request.args.get("account") or None
    if account is not None and account not in config.helpdesks:
        abort(400, "no such account")
    now = time.time()
    return days, account, now - days * 86400, now + 1


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"


def intent_page_data(config: Any, state: Any, days: int, account: str | None, since: float,
                     until: float) -> list[dict[str, Any]]:
    """Everything the intents page prints, as plain data (the JSON API returns the same)."""
    gate_rows = gate_facts(config, state, time.time())
    summary = queries.window_summary(state, since, until, account)
    volume, histogram, width, trend = summary["volume"], summary["histogram"], summary["bucket_seconds"], \
        summary["trend"]
    reasons = queries.handoff_reasons(state, since, until, account)
    changes = queries.gate_changes(state, since, until)
    names = sorted(set(gate_rows) | {intent for intent, _ in volume})
    result = []
    for name in names:
        intent = config.intent(name)
        g = gate_rows.get(name) or {"reviewed": 0, "overridden": 0, "gate_open": False, "why": "no data"}
        policy = gate.Policy.of(intent)
        stats = gate.Stats(g["reviewed"], g["overridden"])
        accounts = []
        for (i, acct), v in sorted(volume.items()):
            if i != name:
                continue
            a = v["actions"]
            window_stats = gate.Stats(v["reviewed"], v["overridden"])
            accounts.append({"account": acct, "tickets": v["tickets"], "drafts": a.get("note", 0) + a.get("reply", 0),
                             "public": a.get("reply", 0), "handoffs": a.get("escalate", 0),
                             "other": sum(c for k, c in a.items() if k not in ("note", "reply", "escalate")),
                             "reviewed": v["reviewed"], "overridden": v["overridden"],
                             "override_rate": window_stats.rate,
                             "upper_bound": window_stats.upper_bound if v["reviewed"] else None})
        marks = [((e["at"] - since) / (until - since), bool(e["open"]), f'{_when(e["at"])}: {e["evidence"]}')
                 for e in changes.get(name, [])]
        suggestion = "draft" if intent.autonomy == "auto_send" else "auto_send"
        result.append({
            "intent": name, "autonomy": intent.autonomy, "risky": intent.risky,
            "accounts": accounts,
            "gate": {"open": g["gate_open"], "why": g["why"], "reviewed": stats.reviewed,
                     "overridden": stats.overridden, "override_rate": stats.rate,
                     "upper_bound": stats.upper_bound if stats.reviewed else None,
                     "threshold": intent.override_threshold, "min_reviewed": intent.min_reviewed,
                     "window_days": config.autonomy.window_days,
                     "reviews_needed": None if g["gate_open"] else queries.reviews_still_needed(policy, stats)},
            "handoff_reasons": reasons.get(name, []),
            "confidence_histogram": histogram.get(name, [0] * 10),
            "trend": {"bucket_seconds": width, "points": trend.get(name, [])},
            "gate_changes": [{"at": e["at"], "open": bool(e["open"]), "evidence": e["evidence"]}
                             for e in changes.get(name, [])],
            "_marks": marks,
            "yaml": {"now": f"intents:\n  {name}:\n    autonomy: {intent.autonomy}",
                     "change_to": None if intent.risky or name == "unknown" else
                     f"intents:\n  {name}:\n    autonomy: {suggestion}"},
        })
    return result


@bp.get("/intents")
def intents():
    config, state = _config(), _state()
    days, account, since, until = _window(config)
    rows = intent_page_data(config, state, days, account, since, until)
    for row in rows:
        row["trend_svg"] = charts.trend_svg(row["trend"]["points"], row["gate"]["threshold"], row["_marks"])
        row["histogram_svg"] = charts.histogram_svg(row["confidence_histogram"])
    return render_template("console/intents.html", rows=rows, days=days, account=account,
                           accounts=sorted(config.helpdesks), paused=config.autonomy.paused, when=_when,
                           bucket_days=(rows[0]["trend"]["bucket_seconds"] / 86400) if rows else 1, since=since)


@bp.get("/api/intents")
def intents_json():
    config, state = _config(), _state()
    days, account, since, until = _window(config)
    rows = intent_page_data(config, state, days, account, since, until)
    for row in rows:
        row.pop("_marks")
    return jsonify(days=days, account=account, intents=rows)


@bp.get("/tickets")
def tickets():
    config, state = _config(), _state()
    account = request.args.get("account") or None
    if account is not None and account not in config.helpdesks:
        abort(400, "no such account")
    intent = request.args.get("intent") or None
    try:
        before = float(request.args["before"]) if request.args.get("before") else None
    except ValueError:
        abort(400, "before must be a timestamp")
    rows = queries.recent_tickets(state, account, intent, before)
    next_before = rows[-1].created_at if len(rows) == queries.PAGE_SIZE else None
    return render_template("console/tickets.html", rows=rows, account=account, intent=intent, when=_when,
                           next_before=next_before, accounts=sorted(config.helpdesks))


def helpdesk_link(config: Any, account: str, ticket_id: str) -> str | None:
    """The ticket in the helpdesk's own agent interface."""
    desk = config.helpdesks.get(account)
    if desk is None:
        return None
    if desk.type == "zendesk":
        return f"{desk.base_url}/agent/tickets/{ticket_id}"
    if desk.type == "freshdesk":
        return f"{desk.base_url}/a/tickets/{ticket_id}"
    return f"https://app.intercom.com/a/inbox/_/inbox/conversation/{ticket_id}"


@bp.get("/tickets/<account>/<ticket_id>")
def ticket(account: str, ticket_id: str):
    config, state = _config(), _state()
    story = queries.ticket_story(state, account, ticket_id)
    if not story["steps"] and not story["drafts"]:
        abort(404, "nothing recorded for this ticket")
    return render_template("console/ticket.html", account=account, ticket_id=ticket_id, story=story, when=_when,
                           link=helpdesk_link(config, account, ticket_id))


@bp.get("/savings")
def savings():
    config, state = _config(), _state()
    now = time.time()
    volume = queries.window_summary(state, now - config.autonomy.window_days * 86400, now + 1, None)["volume"]
    rows = [{"volume": sum(v["actions"].values()), "public": v["actions"].get("reply", 0)} for v in volume.values()]
    money = admin_cli.savings(config, rows)
    extras = current_app.extensions.get("deskdraft.console_reports", {})  # content gaps, replays, experiments
    return render_template("console/savings.html", money=money, window=config.autonomy.window_days,
                           reports={name: build(config, state) for name, build in extras.items()})


@bp.errorhandler(CSRFError)
def csrf_failed(exc: CSRFError):
    return jsonify(error=f"form expired or forged ({exc.description}); reload the page"), 400


def install(app: Flask, current_config: Any, state: Any) -> None:
    """Register the console on an app: current_config() and state() give the config in force and the State."""
    app.extensions["deskdraft.current_config"] = current_config
    app.extensions["deskdraft.state"] = state
    app.extensions["deskdraft.console"] = lambda: current_config().console
    auth.configure_app(app, current_config().console)
    csrf.init_app(app)
    app.register_blueprint(bp)
