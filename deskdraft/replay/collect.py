"""`replay collect`: solved tickets read through the helpdesk's API become redacted replay examples.

The listing and fetching is the knowledge sync's past-ticket reader loop (connectors/*_knowledge.past_tickets, the
same cursor pagination and rate-limit handling); we only watch the tickets it fetches. Resumable: every ticket
read is noted in a sidecar file, and a rerun passes those as `known`, which the reader skips without fetching.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.base import Comment, Ticket
from deskdraft.replay import dataset
from deskdraft.replay.dataset import Example, Turn
from knowledge.chunking import Document, Skipped, Unchanged
from knowledge.redact import redact
from knowledge.sync import READERS

DURATION = re.compile(r"^(\d+)([dwh])$")


class _Watching:
    """The connector as the reader sees it, keeping the last ticket it fetched (the reader yields Documents)."""

    def __init__(self, connector: Any) -> None:
        self._connector = connector
        self.last: Ticket | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connector, name)

    def fetch_ticket(self, ticket_id: str) -> Ticket | None:
        self.last = self._connector.fetch_ticket(ticket_id)
        return self.last


@dataclass
class CollectReport:
    tickets: int = 0
    examples: int = 0
    already: int = 0  # read by an earlier, interrupted run
    without_answer: int = 0


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """"90d", "12w", "36h" or an ISO date."""
    now = now or datetime.now(UTC)
    match = DURATION.match(value.strip())
    if match:
        n, unit = int(match.group(1)), match.group(2)
        return now - timedelta(**{{"d": "days", "w": "weeks", "h": "hours"}[unit]: n})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--since {value!r}: use 90d, 12w, 36h or a date like 2026-09-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _role(comment: Comment) -> str | None:
    if comment.author_role == "self":
        return None  # our own drafts are not history to learn from
    return comment.author_role if comment.author_role in ("customer", "agent") else "system"


def examples_from_ticket(ticket: Ticket, intents: set[str], updated_at: str = "") -> list[Example]:
    """One example per customer turn an agent answered publicly, redacted; internal notes stay out."""
    turns: list[tuple[Comment, Turn]] = []
    for comment in ticket.comments:
        role = _role(comment)
        if role is None or not comment.public or not comment.body.strip() or (comment.via_api and role == "customer"):
            continue
        turns.append((comment, Turn(role, redact(comment.body.strip()).text, True, comment.created_at)))
    intent = next((t for t in ticket.tags if t in intents), None)
    subject = redact(ticket.subject).text
    found = []
    for n, (comment, turn) in enumerate(turns):
        nxt = turns[n + 1] if n + 1 < len(turns) else None
        if turn.role != "customer" or nxt is None or nxt[1].role != "agent":
            continue  # not the end of a customer burst, or nobody answered it publicly
        found.append(Example(id=f"{ticket.account}:{ticket.id}:{comment.id}", account=ticket.account,
                             ticket_id=ticket.id, subject=subject, turns=tuple(t for _, t in turns[:n + 1]),
                             agent_reply=nxt[1].body, intent=intent, tags=tuple(ticket.tags), locale=ticket.locale,
                             updated_at=updated_at))
    return found


def _seen_path(path: Path) -> Path:
    return path.with_name(path.name + ".seen")


def _read_seen(path: Path) -> dict[str, str]:
    seen_file = _seen_path(path)
    if not seen_file.is_file():
        return {}
    seen = {}
    for line in seen_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            seen[row["source_id"]] = row["updated_at"]
    return seen


def collect(connector: Any, out: Path, *, since: datetime, limit: int, intents: set[str],
            progress: Callable[[int], None] | None = None) -> CollectReport:
    """Append the examples of up to `limit` solved tickets to `out` (created with a header when new)."""
    if out.exists():
        existing = dataset.load(out)
        if existing.frozen:
            raise dataset.DatasetError(f"{out} is a frozen golden set: collect into a new file")
        if existing.header.get("account") != connector.account:
            raise dataset.DatasetError(f"{out} holds account {existing.header.get('account')!r}, "
                                       f"not {connector.account!r}")
    else:
        dataset.write(out, dataset.Dataset(dataset.new_header(connector.account, since.isoformat())))
    known = _read_seen(out)
    have = {e.id for e in dataset.load(out).examples}  # a ticket updated since it was read is read again
    report = CollectReport()
    watching = _Watching(connector)
    reader = READERS[connector.type]
    with _seen_path(out).open("a", encoding="utf-8") as seen:
        items: Iterator[Document | Unchanged | Skipped] = reader.past_tickets(
            watching, since=since, max_items=limit, known=known)
        for item in items:
            if isinstance(item, Unchanged):
                report.already += 1
            else:
                ticket, watching.last = watching.last, None
                if ticket is not None:
                    updated = item.updated_at if isinstance(item, Document) else ""
                    found = [e for e in examples_from_ticket(ticket, intents, updated) if e.id not in have]
                    have.update(e.id for e in found)
                    dataset.append(out, found)
                    report.examples += len(found)
                    report.without_answer += not found
                    # Written after the examples: a crash in between re-reads this ticket, never loses it.
                    seen.write(json.dumps({"source_id": item.source_id, "updated_at": updated}) + "\n")
                    seen.flush()
                report.tickets += 1
            if progress:
                progress(1)
    return report
