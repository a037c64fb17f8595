"""CLI: `flask --app webhooks replay collect|export|import|run|forecast`, `experiment compare`, `report gaps`.

Registered from webhooks.create_app through register(app); each command reads its config itself.
"""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from deskdraft.settings import Config, ConfigError, load_config

replay_cli = AppGroup("replay", help="Shadow replay of solved tickets: build a dataset, run it, forecast readiness.")
experiment_cli = AppGroup("experiment", help="Compare two configurations on the same replay dataset.")


def _config(path: Path | None) -> Config:
    try:
        return load_config(path) if path else load_config()
    except ConfigError as exc:
        click.echo(f"deskdraft: {exc}", err=True)
        sys.exit(2)


def _home(config: Config) -> Path:
    return Path(config.data_dir) / "replay"


def _load(path: Path):
    from deskdraft.replay import dataset

    try:
        return dataset.load(path)
    except dataset.DatasetError as exc:
        raise click.ClickException(str(exc)) from None


def build_runner(config: Config):
    """Routing, retrieval and (with a key) drafting as the worker builds them; no connector, no State."""
    from deskdraft.replay.run import ShadowRunner
    from drafting.claude import Drafter
    from drafting.intents import persistence
    from drafting.safety import SafetyNet
    from knowledge.retriever import Retriever

    drafter = Drafter(config.anthropic, config.drafting.assistant_name, config.brand) \
        if config.anthropic.api_key else None
    return ShadowRunner(config, Retriever(config), drafter, persistence.load_or_train(config),
                        SafetyNet(config.routing.risk_patterns))


def shadow_run(config: Config, data, out: Path | None, budget: float | None, concurrency: int,
               price_in: float, price_out: float, label: str = "") -> Path:
    """Estimate, then run (resuming whatever `out` already holds); returns the run folder."""
    from deskdraft.replay.run import Prices, estimate, finished_ids, run, run_record

    runner = build_runner(config)
    try:
        record = run_record(data, config, runner.deps.drafter.model if runner.deps.drafter else None)
        out = out or _home(config) / "runs" / f"{record['dataset_version']}-{record['config_hash']}"
        prices = Prices(price_in, price_out)
        done = finished_ids(out / "results.jsonl")
        todo = [e for e in data.examples if e.id not in done]
        guess = estimate(todo, config, prices, runner.deps.drafter is not None)
        click.echo(f"{label}run folder: {out}")
        click.echo(f"{label}{len(data.examples) - len(todo)} examples already done; " + (
            guess.line(prices) if runner.deps.drafter else
            f"no {config.anthropic.api_key_env}: routing and retrieval only, no model calls, $0"))
        if budget is not None:
            click.echo(f"{label}budget: ${budget:.2f} (the run stops before it would be exceeded; rerun to resume)")
        with click.progressbar(length=len(todo), label=f"{label}replaying", show_eta=True) as bar:
            try:
                report = run(runner, data, out, record, concurrency=concurrency, prices=prices, budget_usd=budget,
                             progress=bar.update)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
            except Exception as exc:  # the model or the store gave up after its own retries
                raise click.ClickException(f"run stopped: {type(exc).__name__}: {exc}. Finished examples are kept "
                                           "in the run folder; run the same command again to resume.") from exc
        rate = report.done / report.seconds if report.seconds else 0.0
        click.echo(f"{label}{report.done} examples in {report.seconds:.1f}s ({rate:.1f}/s), "
                   f"{report.input_tokens:,} input + {report.output_tokens:,} output tokens, ${report.usd:.2f}"
                   + ("; STOPPED AT THE BUDGET: rerun with a higher --budget-usd to finish" if report.stopped_at_budget
                      else ""))
        return out
    finally:
        runner.deps.retrieve.close()  # the embedded store opens in one process at a time: free it for run B


def write_forecast(config: Config, run_dir: Path, html_path: Path | None = None,
                   json_path: Path | None = None) -> dict[str, Any]:
    from deskdraft.replay import forecast, report_html
    from deskdraft.replay.run import load_results

    record, results = load_results(run_dir)
    report = forecast.forecast(config, record, results)
    click.echo(forecast.table(report))
    html_path = html_path or run_dir / "forecast.html"
    json_path = json_path or run_dir / "forecast.json"
    html_path.write_text(report_html.forecast_html(report), encoding="utf-8")
    json_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    click.echo(f"\nwrote {html_path} and {json_path}")
    return report


COMMON_RUN = [
    click.option("--budget-usd", "budget", type=float, default=None, help="Stop before spending more than this."),
    click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
                 help="Examples in flight at once (model calls; the SDK waits out 429s)."),
    click.option("--price-in", type=float, default=3.0, show_default=True, help="USD per million input tokens."),
    click.option("--price-out", type=float, default=15.0, show_default=True, help="USD per million output tokens."),
]


def _common(f):
    for option in reversed(COMMON_RUN):
        f = option(f)
    return f


@replay_cli.command("collect")
@click.option("--account", required=True, help="A helpdesk account from config.yaml.")
@click.option("--since", default="90d", show_default=True, help="90d, 12w, 36h or a date.")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True, help="Most recent solved tickets.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Dataset file (default: <data_dir>/replay/<account>.jsonl); an existing one is resumed.")
def collect_command(account: str, since: str, limit: int, out: Path | None) -> None:
    """Read solved tickets and store each publicly answered customer turn, redacted, as a replay example."""
    from connectors import build_connectors
    from deskdraft.replay import collect, dataset

    config = _config(None)
    connector = build_connectors(config).get(account)
    if connector is None:
        raise click.ClickException(f"no helpdesk account named {account!r} in {config.source}")
    try:
        start = collect.parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    out = out or _home(config) / f"{account}.jsonl"
    with click.progressbar(length=limit, label=f"reading solved tickets of {account}", show_eta=True) as bar:
        try:
            report = collect.collect(connector, out, since=start, limit=limit, intents=set(config.intents),
                                     progress=bar.update)
        except dataset.DatasetError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            connector.close()
    click.echo(f"{out}: {report.examples} examples from {report.tickets} tickets read now "
               f"({report.without_answer} without a public agent answer, {report.already} read by an earlier run); "
               f"dataset version {dataset.load(out).version}")


@replay_cli.command("export")
@click.option("--dataset", "path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_command(path: Path, out: Path) -> None:
    """Write a frozen golden-set copy to edit by hand and import back."""
    from deskdraft.replay import dataset

    frozen = dataset.freeze(_load(path))
    dataset.write(out, frozen)
    click.echo(f"{out}: {len(frozen.examples)} examples, frozen, version {frozen.header['version']}")


@replay_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def import_command(file: Path, out: Path) -> None:
    """Check a (hand-edited) dataset line by line and store it as a frozen golden set."""
    from deskdraft.replay import dataset
    from knowledge.redact import redact

    data = _load(file)
    leaks = [e.id for e in data.examples
             if any(redact(t).total for t in [e.subject, e.agent_reply, *(turn.body for turn in e.turns)])]
    if leaks:  # a hand edit must not bring personal data back in
        raise click.ClickException(f"{file}: personal data found in {len(leaks)} examples, e.g. {leaks[0]}; "
                                   "replace it with placeholders")
    frozen = dataset.freeze(data)
    if out.exists() and out.resolve() != file.resolve():
        raise click.ClickException(f"{out} exists: import into a new file")
    dataset.write(out, frozen)
    click.echo(f"{out}: {len(frozen.examples)} examples imported, frozen, version {frozen.header['version']}")


@replay_cli.command("run")
@click.option("--dataset", "path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Another config file (default: config.yaml / $DESKDRAFT_CONFIG).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default: <data_dir>/replay/runs/<dataset version>-<config hash>); resumed if present.")
@_common
def run_command(path: Path, config_path: Path | None, out: Path | None, budget: float | None, concurrency: int,
                price_in: float, price_out: float) -> None:
    """Route, retrieve and draft every example in shadow (nothing is posted), then print the readiness forecast."""
    config = _config(config_path)
    run_dir = shadow_run(config, _load(path), out, budget, concurrency, price_in, price_out)
    write_forecast(config, run_dir)


@replay_cli.command("forecast")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def forecast_command(run_dir: Path, config_path: Path | None, html_path: Path | None, json_path: Path | None) -> None:
    """The per-intent readiness forecast of a run, as a table, an HTML report and JSON."""
    write_forecast(_config(config_path), run_dir, html_path, json_path)


@experiment_cli.command("compare")
@click.option("--dataset", "path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--a", "config_a", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--b", "config_b", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for both runs and the comparison (default: <data_dir>/replay/experiments/<time>).")
@_common
def compare_command(path: Path, config_a: Path, config_b: Path, out: Path | None, budget: float | None,
                    concurrency: int, price_in: float, price_out: float) -> None:
    """Run A and B on the same examples; each metric for A and B, the difference, and a paired significance test."""
    from deskdraft.replay import experiment, report_html
    from deskdraft.replay.run import load_results

    data = _load(path)
    a, b = _config(config_a), _config(config_b)
    out = out or _home(a) / "experiments" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    half = budget / 2 if budget is not None else None
    dirs = [shadow_run(cfg, data, out / name, half, concurrency, price_in, price_out, label=f"[{name}] ")
            for name, cfg in (("a", a), ("b", b))]
    (_, results_a), (_, results_b) = (load_results(d) for d in dirs)
    comparison = experiment.compare(results_a, results_b)
    click.echo(experiment.table(comparison))
    (out / "comparison.json").write_text(json.dumps(comparison, indent=2), encoding="utf-8")
    (out / "comparison.html").write_text(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>deskdraft experiment</title>"
        f"<style>{report_html.STYLE}</style></head><body><h1>Experiment: A vs B</h1>"
        f"{report_html.experiment_table(comparison)}</body></html>", encoding="utf-8")
    click.echo(f"\nwrote {out / 'comparison.json'} and {out / 'comparison.html'}")


@click.command("gaps")
@click.option("--run", "runs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Replay run folders (default: every run under <data_dir>/replay).")
@click.option("--distance", type=click.FloatRange(0.05, 1.5), default=0.6, show_default=True,
              help="Cosine distance under which questions share a topic.")
@click.option("--json", "as_json", is_flag=True)
def gaps_command(runs: tuple[Path, ...], distance: float, as_json: bool) -> None:
    """Replayed questions retrieval could not ground or agents completed, grouped into topics, biggest first."""
    from deskdraft.replay import gaps
    from deskdraft.replay.run import load_results
    from drafting.intents.persistence import embedder

    config = _config(None)
    folders = list(runs) or sorted(p.parent for p in _home(config).glob("**/run.json"))
    results: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for row in load_results(folder)[1]:
            results.setdefault(row["example_id"], row)  # an example replayed twice counts once
    found = gaps.topics([results[k] for k in sorted(results)],
                        embedder(config.knowledge.embedding, config.knowledge.threads), distance=distance)
    click.echo(json.dumps(found, indent=2) if as_json else gaps.table(found))


def _with_gaps(existing: click.Command) -> click.Group:
    """`report` keeps working as before and gains `report gaps`."""

    @click.pass_context
    def callback(ctx: click.Context, **kwargs: Any) -> None:
        if ctx.invoked_subcommand is None:
            ctx.invoke(existing, **kwargs)

    group = click.Group(existing.name, help=existing.help, params=list(existing.params), callback=callback,
                        invoke_without_command=True)
    group.add_command(gaps_command)
    return group


def register(app: Flask) -> None:
    app.cli.add_command(replay_cli)
    app.cli.add_command(experiment_cli)
    report = app.cli.commands.get("report")
    app.cli.add_command(_with_gaps(report) if report is not None else click.Group("report", commands=[gaps_command]))
