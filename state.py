"""Durable state: the webhook inbox, the record of what we posted, and the per-ticket audit.

SQLite under data_dir by default; PostgreSQL when config.state.url names one. The queue is never
the only copy of an accepted webhook: the inbox row is, and a sweep re-enqueues what stalls.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, UniqueConstraint, create_engine,
                        event, insert, select, update)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from bounded import BoundedCalls, Overdue

metadata = MetaData()

inbox = Table(
    "inbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("ticket_id", String(64), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("status", String(16), nullable=False, default="pending"),  # pending | done | failed
    Column("outcome", String(40)),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("received_at", Float, nullable=False),
    Column("enqueued_at", Float, nullable=False),
    Column("finished_at", Float),
    UniqueConstraint("account", "event_id", name="uq_inbox_event"),
)

# One row per draft ref (account:ticket:customer-comment): the claim taken before posting and the
# proof afterwards. The unique key is what makes "never post twice" hold across threads and hosts.
posts = Table(
    "posts", metadata,
    Column("draft_ref", String(200), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("ticket_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # claimed | posted
    Column("kind", String(16)),  # note | reply
    Column("comment_id", String(64)),
    Column("claimed_at", Float, nullable=False),
    Column("posted_at", Float),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False, index=True),
    Column("ticket_id", String(64), nullable=False, index=True),
    Column("inbox_id", Integer),
    Column("step", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", Float, nullable=False),
)


# One row per draft we made: what was posted, under which prompt/model/knowledge, and how agents judged it.
drafts = Table(
    "drafts", metadata,
    Column("draft_ref", String(200), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("ticket_id", String(64), nullable=False, index=True),
    Column("intent", String(64), nullable=False, index=True),
    Column("action", String(16), nullable=False),  # note | reply | escalate | retrieval | failure
    Column("comment_id", String(64)),
    Column("confidence", Float),
    Column("text", Text),  # the drafted reply, compared with what the agent sends
    Column("language", String(8)),
    Column("prompt_version", String(16)),
    Column("model", String(100)),
    Column("knowledge_snapshot", String(64)),
    Column("created_at", Float, nullable=False),
    Column("outcome", String(16)),  # accepted | light_edit | rewritten | discarded
    Column("similarity", Float),
    Column("changes", String(200)),
    Column("reviewed_at", Float, index=True),
)

# Every time an intent's gate opens or closes, with the numbers that did it.
gate_events = Table(
    "gate_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("intent", String(64), nullable=False, index=True),
    Column("open", Integer, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("at", Float, nullable=False),
)


@dataclass(frozen=True)
class DraftRecord:
    draft_ref: str
    account: str
    ticket_id: str
    intent: str
    action: str
    comment_id: str | None
    confidence: float | None
    text: str | None
    language: str | None
    outcome: str | None
    created_at: float


@dataclass(frozen=True)
class InboxEvent:
    id: int
    account: str
    event_id: str
    ticket_id: str
    kind: str
    status: str
    attempts: int


class DatabaseBusy(RuntimeError):
    """The write did not happen in time (locked, unreachable, paused, disk full): the caller answers 503."""


class ValueNotStorable(ValueError):
    """A value the database refuses (too long, a NUL byte): bad input, not an outage."""


def _sqlite_pragmas(busy_ms: int) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the webhook process write the inbox while worker threads read and write.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
    return apply


def _engine_options(url: str, wait_seconds: float | None) -> dict[str, Any]:
    """Pool and driver timeouts that keep a write within about `wait_seconds` (the web process); none for the worker,
    whose jobs may wait out a busy database."""
    if wait_seconds is None:
        return {}
    options: dict[str, Any] = {"pool_timeout": wait_seconds}
    if url.startswith("postgresql"):
        # libpq rounds connect_timeout up to 2 s; lock_timeout stops a wait on a row or table lock.
        ms = int(wait_seconds * 1000)
        options["connect_args"] = {"connect_timeout": max(2, int(wait_seconds + 0.999)),
                                   "options": f"-c lock_timeout={ms} -c statement_timeout={2 * ms}"}
    return options


class State:
    """All reads and writes of our own tables; one instance per process."""

    def __init__(self, url: str, clock: Any = time.time, wait_seconds: float | None = None) -> None:
        """`wait_seconds` bounds how long record_event may wait on the database (the webhook process sets it)."""
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True, **_engine_options(url, wait_seconds))
        if self.engine.dialect.name == "sqlite":
            busy_ms = int(wait_seconds * 1000) if wait_seconds is not None else 10000
            event.listen(self.engine, "connect", _sqlite_pragmas(busy_ms))
        metadata.create_all(self.engine)
        self._now = clock
        # A paused server answers no query and no socket timeout fires (its kernel still ACKs): the deadline is
        # kept by waiting on a thread. Twice the driver's own wait, so the driver's clearer error usually wins.
        self._bounded = BoundedCalls(max(2 * wait_seconds, 2.0), threads=8, name="inbox") \
            if wait_seconds is not None else None

    # --- inbox -------------------------------------------------------------------------------
    def record_event(self, account: str, event_id: str, ticket_id: str, kind: str) -> int | None:
        """Insert an accepted webhook; None when this delivery was seen before (a duplicate).

        Raises DatabaseBusy when the write cannot be done in time, ValueNotStorable for a value the database refuses.
        A write that outlives the deadline may still commit later: the helpdesk's retry is then a duplicate and the
        sweep enqueues the row.
        """
        try:
            if self._bounded is None:
                return self._insert_event(account, event_id, ticket_id, kind)
            return self._bounded.run(self._insert_event, account, event_id, ticket_id, kind)
        except DataError as exc:
            raise ValueNotStorable(f"a value the database cannot store: {exc.orig}") from None
        except (SQLAlchemyError, OSError, Overdue) as exc:
            raise DatabaseBusy(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc

    def _insert_event(self, account: str, event_id: str, ticket_id: str, kind: str) -> int | None:
        now = self._now()
        try:
            with self.engine.begin() as conn:  # one transaction: the event and its first audit step
                result = conn.execute(insert(inbox).values(
                    account=account, event_id=event_id, ticket_id=ticket_id, kind=kind, status="pending",
                    attempts=0, received_at=now, enqueued_at=now))
                inbox_id = int(result.inserted_primary_key[0])
                conn.execute(insert(audit).values(account=account, ticket_id=str(ticket_id), inbox_id=inbox_id,
                                                  step="event_received", at=now,
                                                  detail=json.dumps({"event_id": event_id, "kind": kind})))
                return inbox_id
        except IntegrityError:
            return None

    def get_event(self, inbox_id: int) -> InboxEvent | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(inbox).where(inbox.c.id == inbox_id)).mappings().first()
        return _event(row) if row else None

    def start_attempt(self, inbox_id: int) -> None:
        """Count an attempt and restart the sweep's clock: a job being worked on is not stalled."""
        with self.engine.begin() as conn:
            conn.execute(update(inbox).where(inbox.c.id == inbox_id).values(attempts=inbox.c.attempts + 1,
                                                                            enqueued_at=self._now()))

    def finish_event(self, inbox_id: int, outcome: str, error: str | None = None, failed: bool = False) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(inbox).where(inbox.c.id == inbox_id).values(
                status="failed" if failed else "done", outcome=outcome, error=error, finished_at=self._now()))

    def stalled_events(self, older_than_seconds: float, limit: int = 100) -> list[InboxEvent]:
        """Pending events enqueued longer ago than the limit: their message was lost or their worker died."""
        cutoff = self._now() - older_than_seconds
        with self.engine.connect() as conn:
            rows = conn.execute(select(inbox).where(inbox.c.status == "pending", inbox.c.enqueued_at < cutoff)
                                .order_by(inbox.c.id).limit(limit)).mappings().all()
        return [_event(row) for row in rows]

    def mark_enqueued(self, inbox_id: int, delay: float = 0.0) -> None:
        """Restart the sweep's clock; a retry scheduled `delay` seconds out is not stalled before then."""
        with self.engine.begin() as conn:
            conn.execute(update(inbox).where(inbox.c.id == inbox_id).values(enqueued_at=self._now() + delay))

    def events(self, account: str | None = None) -> list[InboxEvent]:
        query = select(inbox).order_by(inbox.c.id)
        if account:
            query = query.where(inbox.c.account == account)
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query).mappings().all()]

    # --- posts (exactly once) ----------------------------------------------------------------
    def claim_post(self, draft_ref: str, account: str, ticket_id: str, stale_after: float) -> str:
        """Take the right to post draft_ref: "claimed" (go), "posted" (done before), "busy" (another run holds it).

        A claim older than stale_after belonged to a run that died; it is taken over, and the caller
        must check the ticket for the ref before posting, since that run may have posted first.
        """
        now = self._now()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(posts).values(draft_ref=draft_ref, account=account, ticket_id=ticket_id,
                                                  status="claimed", claimed_at=now))
            return "claimed"
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            row = conn.execute(select(posts).where(posts.c.draft_ref == draft_ref)).mappings().first()
            if row["status"] == "posted":
                return "posted"
            if now - row["claimed_at"] < stale_after:
                return "busy"
            # Compare-and-set on the old timestamp so only one taker wins.
            taken = conn.execute(update(posts).where(posts.c.draft_ref == draft_ref,
                                                     posts.c.claimed_at == row["claimed_at"])
                                 .values(claimed_at=now)).rowcount
            return "claimed" if taken == 1 else "busy"

    def confirm_post(self, draft_ref: str, kind: str, comment_id: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(posts).where(posts.c.draft_ref == draft_ref).values(
                status="posted", kind=kind, comment_id=comment_id, posted_at=self._now()))

    def release_claim(self, draft_ref: str) -> None:
        """Give a claim back after a failure before anything was posted, so a retry can take it at once."""
        with self.engine.begin() as conn:
            conn.execute(posts.delete().where(posts.c.draft_ref == draft_ref, posts.c.status == "claimed"))

    def post_status(self, draft_ref: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(posts.c.status).where(posts.c.draft_ref == draft_ref)).scalar()

    # --- drafts and their reviews -----------------------------------------------------------
    def record_draft(self, draft_ref: str, account: str, ticket_id: str, intent: str, action: str,
                     comment_id: str | None, confidence: float | None, text: str | None, language: str | None,
                     prompt_version: str, model: str, knowledge_snapshot: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(drafts.delete().where(drafts.c.draft_ref == draft_ref))
            conn.execute(insert(drafts).values(
                draft_ref=draft_ref, account=account, ticket_id=str(ticket_id), intent=intent, action=action,
                comment_id=comment_id, confidence=confidence, text=text, language=language,
                prompt_version=prompt_version, model=model, knowledge_snapshot=knowledge_snapshot,
                created_at=self._now()))

    def unreviewed_drafts(self, account: str, ticket_id: str) -> list[DraftRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(drafts).where(
                drafts.c.account == account, drafts.c.ticket_id == str(ticket_id), drafts.c.outcome.is_(None),
                drafts.c.action.in_(["note", "reply"])).order_by(drafts.c.created_at)).mappings().all()
        return [_draft(row) for row in rows]

    def tickets_awaiting_review(self, newer_than: float, limit: int = 200) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(drafts.c.account, drafts.c.ticket_id).where(
                drafts.c.outcome.is_(None), drafts.c.action.in_(["note", "reply"]),
                drafts.c.created_at > newer_than).distinct().limit(limit)).all()
        return [(r[0], r[1]) for r in rows]

    def record_review(self, draft_ref: str, outcome: str, similarity: float, changes: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(drafts).where(drafts.c.draft_ref == draft_ref).values(
                outcome=outcome, similarity=similarity, changes=",".join(changes), reviewed_at=self._now()))

    def review_counts(self, intent: str, since: float, epoch: Mapping[str, str]) -> tuple[int, int]:
        """(reviewed, overridden) for an intent since a time, counting only drafts made under `epoch`
        (prompt_version / model / knowledge_snapshot values that must match)."""
        query = select(drafts.c.outcome).where(drafts.c.intent == intent, drafts.c.outcome.is_not(None),
                                               drafts.c.reviewed_at >= since)
        for column, value in epoch.items():
            query = query.where(drafts.c[column] == value)
        with self.engine.connect() as conn:
            outcomes = [row[0] for row in conn.execute(query).all()]
        return len(outcomes), sum(o in ("rewritten", "discarded") for o in outcomes)

    def draft_summary(self, since: float) -> list[dict[str, Any]]:
        """Per intent and action: counts and mean confidence, for the report."""
        from sqlalchemy import func
        query = (select(drafts.c.intent, drafts.c.action, func.count(), func.avg(drafts.c.confidence))
                 .where(drafts.c.created_at >= since).group_by(drafts.c.intent, drafts.c.action))
        with self.engine.connect() as conn:
            return [{"intent": r[0], "action": r[1], "count": r[2], "avg_confidence": r[3]}
                    for r in conn.execute(query).all()]

    def drafts_between(self, since: float, until: float) -> list[DraftRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(drafts).where(drafts.c.created_at >= since, drafts.c.created_at < until)
                                .order_by(drafts.c.created_at)).mappings().all()
        return [_draft(row) for row in rows]

    # --- gate history ------------------------------------------------------------------------
    def note_gate_state(self, intent: str, is_open: bool, evidence: str) -> bool:
        """Record a promotion or demotion when the state differs from the last one; True when it changed."""
        with self.engine.begin() as conn:
            last = conn.execute(select(gate_events.c.open).where(gate_events.c.intent == intent)
                                .order_by(gate_events.c.id.desc()).limit(1)).scalar()
            if last is not None and bool(last) == is_open:
                return False
            if last is None and not is_open:
                return False  # closed is where every intent starts: nothing to record
            conn.execute(insert(gate_events).values(intent=intent, open=int(is_open), evidence=evidence,
                                                    at=self._now()))
            return True

    def gate_history(self, intent: str | None = None) -> list[dict[str, Any]]:
        query = select(gate_events).order_by(gate_events.c.id)
        if intent:
            query = query.where(gate_events.c.intent == intent)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings().all()]

    # --- audit -------------------------------------------------------------------------------
    def log(self, account: str, ticket_id: str, step: str, inbox_id: int | None = None, **detail: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(audit).values(account=account, ticket_id=str(ticket_id), inbox_id=inbox_id,
                                              step=step, detail=json.dumps(detail, default=str), at=self._now()))

    def audit_trail(self, account: str, ticket_id: str) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit).where(audit.c.account == account, audit.c.ticket_id == str(ticket_id))
                                .order_by(audit.c.id)).mappings().all()
        for row in rows:
            yield {"step": row["step"], "at": row["at"], "inbox_id": row["inbox_id"], **json.loads(row["detail"])}

    def audit_between(self, since: float, until: float) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit).where(audit.c.at >= since, audit.c.at < until)
                                .order_by(audit.c.id)).mappings().all()
        for row in rows:
            yield {"account": row["account"], "ticket_id": row["ticket_id"], "step": row["step"], "at": row["at"],
                   "inbox_id": row["inbox_id"], **json.loads(row["detail"])}

    def dispose(self) -> None:
        self.engine.dispose()


def _draft(row: Any) -> DraftRecord:
    return DraftRecord(draft_ref=row["draft_ref"], account=row["account"], ticket_id=row["ticket_id"],
                       intent=row["intent"], action=row["action"], comment_id=row["comment_id"],
                       confidence=row["confidence"], text=row["text"], language=row["language"],
                       outcome=row["outcome"], created_at=row["created_at"])


def _event(row: Any) -> InboxEvent:
    return InboxEvent(id=row["id"], account=row["account"], event_id=row["event_id"], ticket_id=row["ticket_id"],
                      kind=row["kind"], status=row["status"], attempts=row["attempts"])
