"""Admin commands for the autonomy loop: report, audit export, the weekly review sample, router training.

Run as `flask --app webhooks <command>`; each reads config.yaml itself.
"""
from __future__ import annotations

import csv
import io
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from deskdraft import private_files
from deskdraft.commands.cli import config_or_exit as _config
from deskdraft.settings import Config

review_cli = AppGroup("review", help="Pick AI-handled conversations for the weekly human review.")
router_cli = AppGroup("router", help="Train and inspect the local intent router.")
audit_cli = AppGroup("audit", help="What happened on a ticket, step by step.")


def _state(config: Config):
    from deskdraft.state import State

    return State(config.database_url)


def _since(days: float) -> float:
    return time.time() - days * 86400


def _parse_day(value: str | None, default: float) -> float:
    if not value:
        return default
    return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def intent_rows(config: Config, state, now: float) -> list[dict]:
    """Per intent: volume, what we did, review numbers, gate state and why (the report's table)."""
    from drafting.overrides import gate_facts

    since = now - config.autonomy.window_days * 86400
    summary = state.draft_summary(since)
    public_outcomes = _public_outcomes(state.drafts_between(since, now + 1))
    facts = gate_facts(config, state, now, also={row["intent"] for row in summary})
    rows = []
    for name, fact in facts.items():
        intent = config.intent(name)
        mine = [r for r in summary if r["intent"] == name]
        volume = sum(r["count"] for r in mine)
        by_action = {r["action"]: r["count"] for r in mine}
        confidences = [(r["avg_confidence"], r["count"]) for r in mine if r["avg_confidence"] is not None]
        weight = sum(c for _, c in confidences)
        stats = fact["stats"]
        rows.append({"intent": name, "autonomy": intent.autonomy, "volume": volume,
                     "drafts": by_action.get("note", 0) + by_action.get("reply", 0),
                     "public": by_action.get("reply", 0), "escalations": by_action.get("escalate", 0),
                     "reviewed": stats.reviewed, "overridden": stats.overridden, "override_rate": stats.rate,
                     "upper_bound": stats.upper_bound if stats.reviewed else None, "gate_open": fact["gate_open"],
                     "why": fact["why"],
                     "public_outcomes": public_outcomes.get(name, {"accepted": 0, "overridden": 0, "unknown": 0}),
                     "avg_confidence": (sum(a * c for a, c in confidences) / weight) if weight else None})
    return rows


def _public_outcomes(records) -> dict[str, dict[str, int]]:
    """Per intent, our public replies: accepted (a positive signal), overridden, and not yet known."""
    from drafting.overrides import OVERRIDES

    counts: dict[str, dict[str, int]] = {}
    for d in records:
        if d.action != "reply":
            continue
        row = counts.setdefault(d.intent, {"accepted": 0, "overridden": 0, "unknown": 0})
        row["unknown" if d.outcome is None else "overridden" if d.outcome in OVERRIDES else "accepted"] += 1
    return counts


def savings(config: Config, rows: list[dict]) -> dict:
    """The seed's formula: tickets/month × handle minutes × automation share ÷ 60 × hourly cost × 12."""
    volume = sum(r["volume"] for r in rows)
    public = sum(r["public"] for r in rows)
    share = public / volume if volume else 0.0
    s = config.savings
    yearly = s.tickets_per_month * s.handle_minutes * share / 60 * s.loaded_hourly_cost * 12
    return {"tickets_per_month": s.tickets_per_month, "handle_minutes": s.handle_minutes,
            "automation_share": share, "loaded_hourly_cost": s.loaded_hourly_cost, "yearly": yearly,
            "currency": s.currency, "measured_volume": volume, "measured_public": public}


@click.command("report")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def report(as_json: bool) -> None:
    """Per intent: volume, drafts, reviews, override rate and bound, gate state and why, escalations, savings."""
    config = _config()
    state = _state(config)
    rows = intent_rows(config, state, time.time())
    money = savings(config, rows)
    if as_json:
        click.echo(json.dumps({"intents": rows, "savings": money}, indent=2))
        return
    click.echo(f"Last {config.autonomy.window_days} days; autonomy {'PAUSED' if config.autonomy.paused else 'on'}")
    header = f"{'intent':18} {'mode':9} {'volume':>6} {'drafts':>6} {'public':>6} {'handoff':>7} " \
             f"{'reviewed':>8} {'override':>8} {'bound':>6} {'conf':>5}  gate"
    click.echo(header)
    for r in rows:
        bound = f"{r['upper_bound']:.1%}" if r["upper_bound"] is not None else "-"
        conf = f"{r['avg_confidence']:.2f}" if r["avg_confidence"] is not None else "-"
        gate_text = ("OPEN: " if r["gate_open"] else "closed: ") + r["why"]
        click.echo(f"{r['intent'][:18]:18} {r['autonomy']:9} {r['volume']:>6} {r['drafts']:>6} {r['public']:>6} "
                   f"{r['escalations']:>7} {r['reviewed']:>8} {r['override_rate']:>8.1%} {bound:>6} {conf:>5}  "
                   f"{gate_text}")
    public_rows = [r for r in rows if r["public"]]
    if public_rows:
        click.echo("\nPublic replies (accepted only when the customer confirms or the ticket stays solved "
                   f"{config.autonomy.accept_after_days:g} days):")
        for r in public_rows:
            o = r["public_outcomes"]
            click.echo(f"  {r['intent'][:18]:18} {o['accepted']} accepted, {o['overridden']} overridden, "
                       f"{o['unknown']} not yet known")
    m = money
    click.echo("")
    click.echo(f"Savings: {m['tickets_per_month']} tickets/month [config] x {m['handle_minutes']} min handle time "
               f"[config] x {m['automation_share']:.1%} automated [measured: {m['measured_public']} public replies "
               f"of {m['measured_volume']} tickets] / 60 x {m['loaded_hourly_cost']} {m['currency']}/h [config] x 12 "
               f"= {m['yearly']:,.0f} {m['currency']} a year")
    history = state.gate_history()
    if history:
        click.echo("\nGate changes:")
        for event in history[-10:]:
            when = datetime.fromtimestamp(event["at"], UTC).strftime("%Y-%m-%d %H:%M")
            change = "promoted" if event["open"] else "demoted"
            click.echo(f"  {when}Z {event['intent']}: {change} ({event['evidence']})")


@audit_cli.command("show")
@click.argument("account")
@click.argument("ticket")
def audit_show(account: str, ticket: str) -> None:
    """Print every recorded step for one ticket, oldest first."""
    config = _config()
    steps = list(_state(config).audit_trail(account, ticket))
    if not steps:
        click.echo(f"nothing recorded for {account} ticket {ticket}")
    for step in steps:
        at = datetime.fromtimestamp(step.pop("at"), UTC).strftime("%Y-%m-%d %H:%M:%S")
        name, inbox_id = step.pop("step"), step.pop("inbox_id")
        details = ", ".join(f"{k}={v}" for k, v in step.items())
        click.echo(f"{at}Z  #{inbox_id}  {name:14} {details}")


@audit_cli.command("export")
@click.option("--since", help="YYYY-MM-DD (default: 30 days ago)")
@click.option("--until", help="YYYY-MM-DD (default: now)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default: stdout)")
def audit_export(since: str | None, until: str | None, out: Path | None) -> None:
    """Write the audit trail of a period as JSON Lines, one step a line."""
    config = _config()
    start, end = _parse_day(since, _since(30)), _parse_day(until, time.time() + 1)
    lines = (json.dumps(step, default=str) for step in _state(config).audit_between(start, end))
    if out is None:
        for line in lines:
            click.echo(line)
        return
    count = 0
    with out.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
            count += 1
    click.echo(f"wrote {count} steps to {out}")


@review_cli.command("sample")
@click.option("--n", "n", type=int, default=100, show_default=True)
@click.option("--days", type=int, default=7, show_default=True)
@click.option("--seed", type=int, default=None, help="For a reproducible sample.")
def review_sample(n: int, days: int, seed: int | None) -> None:
    """Pick AI-handled conversations (public replies first, then drafts) for the weekly human review."""
    config = _config()
    drafts = [d for d in _state(config).drafts_between(_since(days), time.time() + 1) if d.action in ("reply", "note")]
    rng = random.Random(seed)
    public = [d for d in drafts if d.action == "reply"]
    notes = [d for d in drafts if d.action == "note"]
    picked = rng.sample(public, min(n, len(public)))
    picked += rng.sample(notes, min(n - len(picked), len(notes)))
    if not picked:
        click.echo(f"no AI-handled conversations in the last {days} days")
    for d in picked:
        conf = f"{d.confidence:.2f}" if d.confidence is not None else "-"
        click.echo(f"{d.account}\t{d.ticket_id}\t{d.action}\t{d.intent}\tconfidence {conf}\t"
                   f"outcome {d.outcome or 'unreviewed'}")


def redacted_labelled_csv(path: Path) -> tuple[str, int]:
    """The admin's text,label CSV as stored: text redacted, only the columns we use (ids kept for erase)."""
    from deskdraft.erasure import LABELLED_ID_COLUMNS
    from knowledge.redact import redact

    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        if not {"text", "label"} <= set(header):
            raise click.ClickException(f"{path} needs a header row with text,label; found {header}")
        columns = ["text", "label", *(c for c in LABELLED_ID_COLUMNS if c in header)]
        out, total = io.StringIO(), 0
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in reader:
            cleaned = redact(row.get("text") or "")
            total += cleaned.total
            writer.writerow({**{c: row.get(c) or "" for c in columns}, "text": cleaned.text})
    return out.getvalue(), total


@router_cli.command("train")
@click.option("--labelled", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV of past tickets with columns text,label (label: an intent name from config.yaml).")
def router_train(labelled: Path | None) -> None:
    """Train the intent router now (the worker also trains it when the intents change)."""
    from drafting.intents import persistence

    config = _config()
    if labelled is not None:
        stored, redactions = redacted_labelled_csv(labelled)
        private_files.write_private(Path(config.data_dir) / persistence.LABELLED_FILE, stored)
        click.echo(f"stored {labelled.name} with {redactions} personal detail(s) redacted")
        if "ticket_id" not in stored.split("\n", 1)[0].split(","):
            click.echo("  note: without a ticket_id (or requester_id) column, `erase` cannot find these rows later",
                       err=True)
    started = time.perf_counter()
    router = persistence.load_or_train(config)
    click.echo(f"{persistence.describe(router)} ({time.perf_counter() - started:.1f}s)")


@click.command("erase")
@click.option("--ticket", nargs=2, metavar="ACCOUNT ID", default=None, help="One ticket of one helpdesk account.")
@click.option("--requester", metavar="ID", default=None,
              help="Every ticket of one requester (the helpdesk's user or contact id).")
@click.option("--account", default=None, help="With --requester: only this helpdesk account.")
def erase_command(ticket: tuple[str, str] | None, requester: str | None, account: str | None) -> None:
    """Erase everything stored about one ticket or one requester, and print what was removed."""
    from deskdraft.erasure import erase
    from knowledge.store import open_store

    if (ticket is None) == (requester is None):
        raise click.UsageError("give --ticket ACCOUNT ID or --requester ID (one of them)")
    config = _config()
    state = _state(config)
    if ticket is not None:
        if ticket[0] not in config.helpdesks:
            raise click.ClickException(f"no helpdesk account {ticket[0]!r}; accounts: {', '.join(config.helpdesks)}")
        tickets = [ticket]
    else:
        tickets = state.tickets_of_requester(requester, account)
        click.echo(f"requester {requester}: {len(tickets)} ticket(s) on record"
                   + (f" ({', '.join(f'{a} {t}' for a, t in tickets)})" if tickets else ""))
        if not tickets and requester and "@" in requester:
            click.echo("  deskdraft keeps helpdesk ids, not email addresses: give the requester's id to find "
                       "their tickets", err=True)
    k = config.knowledge
    result = erase(config, state, tickets, requester,
                   lambda: open_store(None if k.url else config.chroma_path, k.url, k.collection, k.embedding,
                                      k.threads))
    for what in ("inbox rows", "claims rows", "drafts rows", "audit rows", "labelled-ticket rows",
                 "cached router models", "knowledge passages"):
        click.echo(f"  removed {result.removed.get(what, 0)} {what}")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}", err=True)
    for problem in result.problems:
        click.echo(f"  NOT ERASED: {problem}. Run the command again once that is fixed.", err=True)
    if not result.complete:
        sys.exit(1)


def register(app: Flask) -> None:
    for command in (report, audit_cli, review_cli, router_cli, erase_command):
        app.cli.add_command(command)
