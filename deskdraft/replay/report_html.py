"""The forecast (and optionally an experiment) as one self-contained HTML file: inline CSS, no script, no links
out, every value escaped, so a support lead can open it anywhere and forward it."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child
{text-align:left}.open{color:#06681c;font-weight:600}.closed{color:#8a5300}small{color:#666}"""


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.1%}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def forecast_html(report: dict[str, Any], experiment: dict[str, Any] | None = None) -> str:
    run = report["run"]
    rows = []
    for r in [*report["intents"], *([report["overall"]] if report["overall"] else [])]:
        if r["intent"] == "(all)":
            gate_cell = ""
        elif r["gate_would_open"]:
            gate_cell = '<span class="open">would open</span>'
        else:
            gate_cell = f'<span class="closed">closed</span> <small>{escape(r["gate_evidence"])}</small>'
        needed = "" if r["intent"] == "(all)" else (str(r["reviews_needed"]) if r["reviews_needed"] is not None
                                                   else "never at this rate")
        reasons = "; ".join(f"{escape(k)} ({v})" for k, v in r["handoff_reasons"].items())
        rows.append([escape(r["intent"]), escape(r["autonomy"]), r["examples"], _pct(r["routed_share"]),
                     _pct(r["handoff_share"]), reasons, _pct(r["grounded_share"]), r["reviewed"],
                     _pct(r["override_rate"]), _pct(r["upper_bound"]), needed, gate_cell])
    m = report["savings"]
    savings_rows = [["tickets per month", "config", m["tickets_per_month"]],
                    ["handle minutes", "config", m["handle_minutes"]],
                    ["automation share", f"replay: {m['measured_public']} of {m['measured_volume']}",
                     _pct(m["automation_share"])],
                    ["loaded hourly cost", "config", f"{m['loaded_hourly_cost']} {escape(m['currency'])}"],
                    ["yearly savings", "formula", f"{m['yearly']:,.0f} {escape(m['currency'])}"]]
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>deskdraft readiness forecast</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>Readiness forecast</h1>",
        f"<p>Shadow replay of {report['examples']} solved-ticket examples. Nothing was posted to the helpdesk; live "
        "review numbers were not touched. The override rule and the 95% Wilson bound are the live gate's.</p>",
        _table(["run", "value"], [[escape(k), escape(str(v))] for k, v in run.items()], "run"),
        "<h2>Per intent</h2>",
        _table(["intent", "mode", "examples", "routed", "handoff", "handoff reasons", "grounded", "reviewed",
                "override rate", "upper bound", "pilot reviews needed", "gate"], rows, "intents"),
        "<h2>Savings</h2>", _table(["input", "source", "value"], savings_rows, "savings"),
    ]
    if experiment:
        parts += ["<h2>Experiment</h2>", experiment_table(experiment)]
    parts.append("</body></html>")
    return "\n".join(parts)


def experiment_table(comparison: dict[str, Any]) -> str:
    rows = []
    for m in comparison["overall"]:
        rows.append([escape(m["metric"]), m["n"], _num(m["a"]), _num(m["b"]), _num(m["diff"]), _num(m["p_value"]),
                     escape(m["verdict"])])
    return _table(["metric", "paired n", "A", "B", "B − A", "p", "verdict"], rows, "experiment")


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}"
