"""Admin commands for config, knowledge and the inbox: `flask --app webhooks <command>` (see also
admin_cli.py and setup_cli.py). Each reads config.yaml itself, so check-config works
even when the app could not load it."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from deskdraft import private_files
from deskdraft.settings import Config, ConfigError, capacity_warning, load_config, mask_url, missing_secrets

knowledge_cli = AppGroup("knowledge", help="Ingest documents into the knowledge store and search it.")
inbox_cli = AppGroup("inbox", help="Look at accepted webhook events and re-enqueue stalled ones.")
db_cli = AppGroup("db", help="Create or upgrade deskdraft's tables (Alembic migrations).")


def config_or_exit() -> Config:
    try:
        config = load_config()
    except ConfigError as exc:
        click.echo(f"deskdraft: {exc}", err=True)
        sys.exit(2)
    private_files.restrict(config.data_dir)  # ingest, sync and router train write customer text there too
    return config


@click.command("check-config")
def check_config() -> None:
    """Validate config.yaml (or $DESKDRAFT_CONFIG) and name every bad field."""
    config = config_or_exit()
    click.echo(f"{config.source}: OK")
    for account in config.helpdesks.values():
        click.echo(f"  helpdesk {account.name}: {account.type} at {account.base_url} "
                   f"(webhook: /webhooks/{account.name})")
    model = config.anthropic
    no_key = "" if model.api_key else f" ({model.api_key_env} not set: retrieval-only notes)"
    click.echo(f"  model: {model.model}{no_key}")
    click.echo(f"  state: {mask_url(config.database_url)}")
    click.echo(f"  broker: {mask_url(config.queue.broker_url) or 'embedded (filesystem, one host)'}")
    click.echo(f"  knowledge: {mask_url(config.knowledge.url) or config.chroma_path} [{config.knowledge.embedding}]")
    r = config.retention
    click.echo(f"  kept: inbox {r.inbox} days, audit {r.audit}, drafted text {r.drafts}, reviews {r.reviews}")
    for env in missing_secrets(config):
        click.echo(f"  warning: environment variable {env} is not set", err=True)
    short = capacity_warning(config.queue)
    if short:
        click.echo(f"  warning: {short}", err=True)


def _open_store(config: Config):
    from knowledge.store import StoreBusy, open_store

    k = config.knowledge

    def reembedding(done: int, total: int) -> None:  # only called when knowledge.embedding was changed
        if done == 0:
            click.echo(f"The store was built with another embedding: embedding {total} chunks with {k.embedding}")
        if done == total or done % 1024 == 0:
            click.echo(f"  {done}/{total} chunks")

    try:
        return open_store(None if k.url else config.chroma_path, k.url, k.collection, k.embedding, k.threads,
                          progress=reembedding)
    except StoreBusy as exc:
        raise click.ClickException(str(exc)) from None


@knowledge_cli.command("ingest")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["article", "policy"]), default="article", show_default=True,
              help="policy: refund, fee, eligibility and deadline rules that drafts must cite.")
@click.option("--base-url", default=None, help="URL prefix for sources without a `url` in their front matter.")
def ingest(folder: Path, kind: str, base_url: str | None) -> None:
    """Ingest a folder of Markdown, HTML and text files; unchanged files cost nothing on a re-run."""
    from knowledge.ingest import ingest_folder

    config = config_or_exit()
    store = _open_store(config)
    try:
        with click.progressbar(length=1, label=f"Ingesting {folder}", show_pos=True) as bar:
            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            report = ingest_folder(store, folder, kind=kind, progress=progress, base_url=base_url)
    finally:
        store.close()
    click.echo(f"{report.files} files, {report.chunks} chunks: {report.added} added, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.deleted} deleted in {report.seconds:.1f}s")
    for path, reason in report.skipped:
        click.echo(f"  skipped {path}: {reason}", err=True)


@knowledge_cli.command("sync")
@click.argument("source_name", required=False)
@click.option("--full", is_flag=True, help="Re-read past tickets even when their stored version is current.")
def sync(source_name: str | None, full: bool) -> None:
    """Sync every configured knowledge source, or the one named SOURCE_NAME (like helpcenter:zendesk)."""
    from connectors import build_connectors
    from knowledge.sync import summary, sync_all

    config = config_or_exit()
    sources = [s for s in config.knowledge.sources if source_name in (None, s.name)]
    if not sources:
        names = ", ".join(s.name for s in config.knowledge.sources) or "none configured (knowledge.sources)"
        raise click.ClickException(f"no knowledge source named {source_name!r}; sources: {names}")
    store, connectors = _open_store(config), build_connectors(config)
    reports = []
    try:
        for source in sources:
            with click.progressbar(length=1, label=f"Syncing {source.name}", show_pos=True) as bar:
                def progress(done: int, total: int | None) -> None:
                    bar.length = max(total or done, 1)  # helpdesk listings do not say their length up front
                    bar.update(done - bar.pos)

                reports += sync_all(store, [source], connectors, lambda _: progress, full=full)
            click.echo(summary(reports[-1]))
            for item, reason in reports[-1].skipped[:20]:
                click.echo(f"  skipped {item}: {reason}", err=True)
            if len(reports[-1].skipped) > 20:
                click.echo(f"  ... and {len(reports[-1].skipped) - 20} more skipped", err=True)
    finally:
        store.close()
        for connector in connectors.values():
            connector.close()
    if any(not r.complete for r in reports):
        sys.exit(1)


@knowledge_cli.command("search")
@click.argument("question")
@click.option("-k", "top_k", type=int, default=None, help="How many passages (default: knowledge.top_k).")
@click.option("--locale", default=None,
              help="The customer's language (en, de-DE...): an article's version in it comes first.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["article", "policy", "past_ticket"]),
              help="Only these kinds (repeatable).")
@click.option("--account", default=None, help="Search as this helpdesk account sees it (its knowledge_scope).")
def search(question: str, top_k: int | None, locale: str | None, kinds: tuple[str, ...], account: str | None) -> None:
    """Show the passages a draft for QUESTION would be grounded on, with scores."""
    from knowledge.retrieve import retrieve

    config = config_or_exit()
    scope = None
    if account is not None:
        if account not in config.helpdesks:
            raise click.ClickException(f"no helpdesk account {account!r}; accounts: {', '.join(config.helpdesks)}")
        scope = config.helpdesks[account].knowledge_scope or ""
    store = _open_store(config)
    try:
        empty = store.count() == 0
        passages = retrieve(store, question, k=top_k or config.knowledge.top_k, min_score=-1.0,
                            kinds=kinds or None, locale=locale, scope=scope, hybrid=config.knowledge.hybrid)
    finally:
        store.close()
    if empty:
        click.echo("The knowledge store is empty: run `flask --app webhooks knowledge sync` "
                   "(or `knowledge ingest FOLDER`) first.")
    elif not passages:
        click.echo("Nothing matches those filters.")
    for n, p in enumerate(passages, start=1):
        floor = "" if p.score >= config.knowledge.min_score else "  (under min_score: not used as grounding)"
        where = ", ".join(x for x in (p.locale, f"scope {p.scope}" if p.scope else "") if x)
        click.echo(f"[{n}] {p.score:.3f} {p.kind:11} {p.title} ({p.url}){f' [{where}]' if where else ''}{floor}")
        click.echo("    " + " ".join(p.text.split())[:200])


@inbox_cli.command("status")
@click.option("--limit", type=int, default=20, show_default=True)
def inbox_status(limit: int) -> None:
    """Counts by status, and the latest events that are pending or failed."""
    from deskdraft.state import State

    config = config_or_exit()
    events = State(config.database_url).events()
    counts: dict[str, int] = {}
    for event in events:
        counts[event.status] = counts.get(event.status, 0) + 1
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no events yet")
    for event in [e for e in events if e.status != "done"][-limit:]:
        click.echo(f"  #{event.id} {event.status} {event.account} ticket {event.ticket_id} "
                   f"({event.kind}, {event.attempts} attempts)")


@inbox_cli.command("sweep")
def inbox_sweep() -> None:
    """Re-enqueue stalled events now instead of waiting for the worker's periodic sweep."""
    import worker

    worker.configure(config_or_exit())
    click.echo(f"re-enqueued {worker.sweep_inbox()} stalled event(s)")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create the tables or upgrade them to this release; scripts/run does it before anything starts."""
    from sqlalchemy import create_engine

    from deskdraft import migrations

    config = config_or_exit()
    if config.database_url.startswith("sqlite:///"):
        Path(config.database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(config.database_url)
    try:
        started = migrations.upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"database schema at {migrations.head()} (was {started or 'empty'})")


def register(app: Flask) -> None:
    for command in (check_config, knowledge_cli, inbox_cli, db_cli):
        app.cli.add_command(command)
