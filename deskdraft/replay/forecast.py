"""The readiness forecast: per intent, what the live gate would see if this history had been drafted.

The override rule (drafting.overrides), the Wilson bound and the gate's conditions (drafting.gate) and the savings
formula (admin_cli.savings) are imported from where the live system defines them, so forecast and gate cannot
drift apart.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from deskdraft.commands.admin_cli import savings
from deskdraft.settings import Config
from drafting import gate

MAX_PILOT = 100_000  # beyond this the gate is out of reach at the projected rate


def reviews_needed(rate: float, policy: gate.Policy) -> int | None:
    """Fewest reviewed pilot drafts at this override rate for the bound to fall under the threshold (None: never)."""
    if rate >= policy.override_threshold:
        return None
    n = max(policy.min_reviewed, 1)
    while n <= MAX_PILOT:
        if gate.wilson_upper(round(rate * n), n) < policy.override_threshold:
            return n
        n = int(n * 1.1) + 1 if n > 1000 else n + 1
    return None


def _policy(config: Config, intent: str) -> gate.Policy:
    i = config.intent(intent)
    return gate.Policy.of(i)


def intent_row(config: Config, intent: str, rows: Sequence[dict[str, Any]], total: int) -> dict[str, Any]:
    policy = _policy(config, intent)
    reviewed = [r for r in rows if r["overridden"] is not None and not r["handoff"]]
    stats = gate.Stats(len(reviewed), sum(1 for r in reviewed if r["overridden"]))
    opens, why = gate.gate_open(gate.Policy("auto_send", policy.override_threshold, policy.min_reviewed,
                                            policy.min_confidence, policy.risky), stats)
    public = [r for r in reviewed if opens and policy.autonomy == "auto_send" and not r["problems"]
              and (r["confidence"] or 0.0) >= policy.min_confidence] if not policy.risky else []
    handoffs = [r for r in rows if r["handoff"]]
    reasons = Counter(reason.split(":")[0] for r in handoffs for reason in r["handoff_reasons"])
    labelled = [r for r in rows if r["labelled_intent"]]
    needed = None if policy.risky else reviews_needed(stats.rate, policy)
    return {
        "intent": intent, "autonomy": policy.autonomy, "examples": len(rows),
        "routed_share": len(rows) / total if total else 0.0,
        "handoff_share": len(handoffs) / len(rows) if rows else 0.0,
        "handoff_reasons": dict(reasons.most_common()),
        "grounded_share": sum(1 for r in rows if r["grounded"]) / len(rows) if rows else 0.0,
        "label_agreement": (sum(1 for r in labelled if r["labelled_intent"] == intent) / len(labelled)
                            if labelled else None),
        "reviewed": stats.reviewed, "overridden": stats.overridden,
        "override_rate": stats.rate if stats.reviewed else None,
        "upper_bound": stats.upper_bound if stats.reviewed else None,
        "reviews_needed": needed, "gate_would_open": opens and policy.autonomy == "auto_send" and not policy.risky,
        "gate_evidence": why, "would_be_public": len(public),
    }


def forecast(config: Config, record: dict[str, Any], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Rows per routed intent (sorted by name), an overall row and the savings line, all from the run's results."""
    total = len(results)
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_intent.setdefault(r["intent"], []).append(r)
    rows = [intent_row(config, name, by_intent[name], total) for name in sorted(by_intent)]
    overall = intent_row(config, "(all)", list(results), total) if results else None
    if overall:
        overall.update(autonomy="", reviews_needed=None, gate_would_open=None, gate_evidence="",
                       would_be_public=sum(r["would_be_public"] for r in rows))
    money = savings(config, [{"volume": r["examples"], "public": r["would_be_public"]} for r in rows])
    return {"run": record, "examples": total, "intents": rows, "overall": overall, "savings": money,
            "model_used": bool(record.get("model"))}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def table(report: dict[str, Any]) -> str:
    """The forecast as fixed-width text for the terminal."""
    lines = [f"Replay of {report['examples']} examples (dataset {report['run']['dataset_version']}, config "
             f"{report['run']['config_hash']}, prompt {report['run']['prompt_version']}, model "
             f"{report['run']['model'] or 'none: routing and retrieval only'})",
             f"{'intent':20} {'mode':9} {'examples':>8} {'routed':>7} {'handoff':>7} {'grounded':>8} "
             f"{'reviewed':>8} {'override':>8} {'bound':>6} {'pilot needed':>12}  top handoff reason"]
    for r in [*report["intents"], *([report["overall"]] if report["overall"] else [])]:
        needed = "-" if r["intent"] == "(all)" else (
            str(r["reviews_needed"]) if r["reviews_needed"] is not None else "never")
        top = next(iter(r["handoff_reasons"]), "")
        lines.append(f"{r['intent'][:20]:20} {r['autonomy']:9} {r['examples']:>8} {_pct(r['routed_share']):>7} "
                     f"{_pct(r['handoff_share']):>7} {_pct(r['grounded_share']):>8} {r['reviewed']:>8} "
                     f"{_pct(r['override_rate']):>8} {_pct(r['upper_bound']):>6} {needed:>12}  {top}")
    m = report["savings"]
    lines.append("")
    lines.append(f"Savings: {m['tickets_per_month']} tickets/month [config] x {m['handle_minutes']} min [config] x "
                 f"{m['automation_share']:.1%} automated [replay: {m['measured_public']} would-be public replies of "
                 f"{m['measured_volume']} examples] / 60 x {m['loaded_hourly_cost']} {m['currency']}/h [config] x 12 "
                 f"= {m['yearly']:,.0f} {m['currency']} a year")
    return "\n".join(lines)
