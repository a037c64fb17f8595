"""Erase what deskdraft stores about one ticket or one requester (GDPR Art. 17): the inbox, claims, drafts and
reviews, the audit trail, rows of the labelled-tickets file, and the ticket's passages in the knowledge store."""
from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskdraft import private_files
from deskdraft.settings import Config

# Past tickets are indexed under these source ids (knowledge/chunking.past_ticket_documents).
PAST_TICKET_KINDS = ("ticket", "conversation")
LABELLED_ID_COLUMNS = ("account", "ticket_id", "requester_id")  # optional in the labelled CSV; what erase matches


@dataclass
class Erasure:
    removed: Counter = field(default_factory=Counter)  # what -> how many
    problems: list[str] = field(default_factory=list)  # what could not be erased, and why
    warnings: list[str] = field(default_factory=list)  # what could not be checked

    @property
    def complete(self) -> bool:
        return not self.problems


def labelled_path(config: Config) -> Path:
    from drafting.intents.persistence import LABELLED_FILE

    return Path(config.data_dir) / LABELLED_FILE


def erase(config: Config, state: Any, tickets: Iterable[tuple[str, str]], requester: str | None = None,
          open_store: Callable[[], Any] | None = None) -> Erasure:
    """Erase the given (account, ticket) pairs, and labelled rows of `requester`; safe to run again."""
    tickets = sorted({(a, str(t)) for a, t in tickets})
    result = Erasure()
    for account, ticket_id in tickets:
        for table, count in state.erase_ticket(account, ticket_id).items():
            result.removed[f"{table} rows"] += count
    result.removed["labelled-ticket rows"] += _erase_labelled(config, tickets, requester, result)
    if tickets:
        _erase_passages(tickets, open_store, result)
    return result


def _erase_labelled(config: Config, tickets: list[tuple[str, str]], requester: str | None, result: Erasure) -> int:
    path = labelled_path(config)
    if not path.exists():
        return 0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = list(reader.fieldnames or []), list(reader)
    wanted = set(tickets)
    ids = {t for _, t in tickets}

    def about_them(row: dict) -> bool:
        ticket = (row.get("ticket_id") or "").strip()
        account = (row.get("account") or "").strip()
        if ticket and ((account, ticket) in wanted or (not account and ticket in ids)):
            return True
        return bool(requester) and (row.get("requester_id") or "").strip() == requester

    kept = [row for row in rows if not about_them(row)]
    if not set(LABELLED_ID_COLUMNS) & set(header) and rows:
        result.warnings.append(f"{path.name} has no ticket_id/requester_id column: its {len(rows)} rows cannot be "
                               "matched to a ticket (retrain with `router train --labelled` from a CSV that has them)")
    if len(kept) == len(rows):
        return 0
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    private_files.write_private(path, out.getvalue())
    # The cached router was trained on the erased texts: drop it; the next start retrains without them.
    for model in (Path(config.data_dir) / "router").glob("router-*.npz"):
        model.unlink()
        result.removed["cached router models"] += 1
    return len(rows) - len(kept)


def _erase_passages(tickets: list[tuple[str, str]], open_store: Callable[[], Any] | None, result: Erasure) -> None:
    if open_store is None:
        result.problems.append("knowledge store not opened: past-ticket passages not checked")
        return
    try:
        store = open_store()
    except Exception as exc:  # the embedded store is held by the running worker (StoreBusy), or the server is down
        result.problems.append(f"past-ticket passages not erased: {exc}")
        return
    try:
        for account, ticket_id in tickets:
            for kind in PAST_TICKET_KINDS:
                ids = store.ids_for_source(f"{account}:{kind}:{ticket_id}")
                store.delete(ids)
                result.removed["knowledge passages"] += len(ids)
    finally:
        store.close()
