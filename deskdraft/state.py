"""Durable state: the webhook inbox, the record of what we posted, and the per-ticket audit.

SQLite under data_dir by default; PostgreSQL when config.state.url names one. The queue is never
the only copy of an accepted webhook: the inbox row is, and a sweep re-enqueues what stalls.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from deskdraft import migrations
from deskdraft.bounded import Overdue
from deskdraft.group_commit import GroupCommit
from deskdraft.inbox_batch import InboxBatch
from deskdraft.writer_turns import WriterTurns

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
    Index("ix_inbox_status_enqueued", "status", "enqueued_at"),  # backlog, oldest pending, the sweep
)

# One row per draft ref (account:ticket:customer-comment): the claim (a lease with an owner) taken before posting
# and the proof afterwards. The unique key is what makes "never post twice" hold across threads and hosts.
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
    Column("owner", String(200)),  # the run holding the claim: host:pid:job id
    Column("lease_until", Float),  # the claim is the owner's until then; its heartbeat pushes it out
    Index("ix_posts_account_ticket", "account", "ticket_id"),  # the console's ticket page
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
    Index("ix_audit_account_ticket", "account", "ticket_id", "id"),  # one ticket's story, in order
    Index("ix_audit_step_at", "step", "at"),  # the console's handoff reasons over a window
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
    # The console: its window's counts read from the index alone (a year stays fast), and the ticket list.
    Index("ix_drafts_window", "created_at", "intent", "account", "action", "ticket_id", "confidence"),
    Index("ix_drafts_reviewed_window", "reviewed_at", "intent", "account", "outcome"),
    Index("ix_drafts_intent_created", "intent", "created_at"),
    Index("ix_drafts_account_created", "account", "created_at"),
)

# A finished draft (model output + passages) and then the post planned from it, kept until that post is recorded:
# a retry reuses the draft instead of calling the model again, and a run that finds the post already on the
# ticket (its answer was lost) records it from the plan. step: drafted | planned | posted (handoff routing left).
pending_posts = Table(
    "pending_posts", metadata,
    Column("draft_ref", String(200), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("ticket_id", String(64), nullable=False, index=True),
    Column("step", String(16), nullable=False),
    Column("prompt_version", String(16)),
    Column("model", String(100)),
    Column("draft", Text),
    Column("plan", Text),
    Column("updated_at", Float, nullable=False),
)

# When each worker process last said it was alive (for /healthz and the supervisor's log).
heartbeats = Table(
    "heartbeats", metadata,
    Column("name", String(200), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("at", Float, nullable=False),
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
# Per helpdesk account, where the review pass (drafting/review_pass.py) got to in the helpdesk's changed-since list.
review_cursors = Table(
    "review_cursors", metadata,
    Column("account", String(64), primary_key=True),
    Column("mark", Float),  # the newest updated_at processed, on the helpdesk's clock; NULL until a pass ends
    Column("seen", Text, nullable=False),  # JSON {ticket id: updated_at read}, for tickets the overlap lists again
    Column("due_mark", Float),  # acceptance clocks that ran out before this (our clock) were checked
    Column("busy_until", Float),  # a pass holds the account's turn until then (or until it saves): one at a time
    Column("updated_at", Float, nullable=False),
)


@dataclass(frozen=True)
class ReviewCursor:
    mark: float
    seen: Mapping[str, float]
    due_mark: float | None


@dataclass(frozen=True)
class DraftRecord:
    """A posted draft as stored for review (drafting/draft.py: which draft type does what)."""

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


def _sqlite_pragmas(busy_ms: int, synchronous: str) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the webhook process write the inbox while worker threads read and write. NORMAL for the worker's
        # bookkeeping (a power cut can lose its last commits; the ref on the ticket and the pending inbox row redo
        # them); FULL in the web process, whose commits are inbox rows a 202 promises (record_event).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
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


def _for_new_rows(then: Callable[[int], None]) -> Callable[[int | None], None]:
    def new_rows_only(inbox_id: int | None) -> None:
        if inbox_id is not None:  # None: a duplicate, already handed on when it was new
            then(inbox_id)
    return new_rows_only


@contextmanager
def _durable(conn: Any) -> Iterator[None]:
    """SQLite: this connection's commits are fsynced before they return (WAL + NORMAL is not power-cut safe).
    Costs ~14 ms a commit on the development disk (benchmarks/inbox_durability.py); used for the inbox only."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA synchronous=FULL")
        conn.commit()  # SQLAlchemy began a transaction for the pragma; the insert gets its own
    try:
        yield
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            conn.commit()


class State:
    """All reads and writes of our own tables; one instance per process."""

    def __init__(self, url: str, clock: Any = time.time, wait_seconds: float | None = None) -> None:
        """`wait_seconds` bounds how long record_event may wait on the database (the webhook process sets it)."""
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        # Pre-ping finds a server connection that died; a SQLite file has none, and it cost a query per transaction.
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"),
                                            **_engine_options(url, wait_seconds))
        if self.engine.dialect.name == "sqlite":
            busy_ms = int(wait_seconds * 1000) if wait_seconds is not None else 10000
            event.listen(self.engine, "connect",
                         _sqlite_pragmas(busy_ms, "FULL" if wait_seconds is not None else "NORMAL"))
        # Alembic, not create_all: one locked upgrade, so processes starting together cannot race (and `flask
        # --app webhooks db upgrade`, run by scripts/run before anything starts, makes this a single read).
        migrations.upgrade(self.engine)
        self._now = clock
        self.listeners: list[Any] = []  # called after each audit step: (account, ticket_id, step, inbox_id, detail)
        self._run = threading.local()  # per run (one thread each): its audit steps while audit_batch() holds them
        # A paused server answers no query and no socket timeout fires (its kernel still ACKs): the deadline is
        # kept by waiting on the writer thread. Twice the driver's own wait, so the driver's clearer error usually
        # wins. One writer commits the rows of concurrent webhooks together (group_commit.py).
        self._inbox_writes: GroupCommit | None = None
        self._inbox_batch: InboxBatch | None = None
        if wait_seconds is not None:
            database = self.engine.url.database
            turns = (WriterTurns(f"{database}.writer-turns")
                     if self.engine.dialect.name == "sqlite" and database and database != ":memory:" else None)
            batch = self._inbox_batch = InboxBatch(self.engine, inbox, audit)
            self._inbox_writes = GroupCommit(
                lambda rows, commit, seconds_left: batch.write(rows, self._now(), commit, seconds_left),
                max(2 * wait_seconds, 2.0), name="inbox", turns=turns, budget=wait_seconds)

    # --- inbox -------------------------------------------------------------------------------
    def record_event(self, account: str, event_id: str, ticket_id: str, kind: str,
                     then: Callable[[int], None] | None = None) -> int | None:
        """Insert an accepted webhook; None when this delivery was seen before (a duplicate). `then(inbox_id)` runs
        once a new row is committed, before this returns (with the group commit, on its writer's thread, together
        with the other rows of the batch: GroupCommit.submit); not for a duplicate.

        Raises DatabaseBusy when the write cannot be done in time, ValueNotStorable for a value the database refuses.
        A request that gives up before its row's batch begins takes the row out (DatabaseBusy then means "not
        recorded"); only a server that stops answering mid-transaction can commit a row after its caller's 503: the
        helpdesk's retry is then a duplicate and the sweep enqueues the row.
        """
        try:
            if self._inbox_writes is not None:
                return self._inbox_writes.submit((account, event_id, ticket_id, kind),
                                                 None if then is None else _for_new_rows(then))
            inbox_id = self._insert_event(account, event_id, ticket_id, kind)
        except DataError as exc:
            raise ValueNotStorable(f"a value the database cannot store: {exc.orig}") from None
        except (SQLAlchemyError, OSError, Overdue) as exc:
            raise DatabaseBusy(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc
        if then is not None and inbox_id is not None:
            then(inbox_id)
        return inbox_id

    def _insert_event(self, account: str, event_id: str, ticket_id: str, kind: str) -> int | None:
        now = self._now()
        try:
            with self.engine.connect() as conn, _durable(conn), conn.begin():  # the event and its first audit step
                result = conn.execute(insert(inbox).values(
                    account=account, event_id=event_id, ticket_id=ticket_id, kind=kind, status="pending",
                    attempts=0, received_at=now, enqueued_at=now))
                key = result.inserted_primary_key
                assert key is not None  # an INSERT of one row always has it
                inbox_id = int(key[0])
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

    def start_attempt(self, inbox_id: int) -> InboxEvent | None:
        """Count an attempt and restart the sweep's clock (a job being worked on is not stalled); the event as it
        is now, None when it is no longer pending. One statement: the job's read and its bookkeeping together."""
        with self.engine.begin() as conn:
            row = conn.execute(update(inbox).where(inbox.c.id == inbox_id, inbox.c.status == "pending")
                               .values(attempts=inbox.c.attempts + 1, enqueued_at=self._now())
                               .returning(*inbox.c)).mappings().first()
        return _event(row) if row else None

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

    def requeue(self, delays: Sequence[tuple[InboxEvent, float]]) -> None:
        """The sweep's bookkeeping for a batch in one transaction: each event's clock pushed out by its delay,
        and a `requeued` audit step."""
        now = self._now()
        with self.engine.begin() as conn:
            for event, delay in delays:
                conn.execute(update(inbox).where(inbox.c.id == event.id).values(enqueued_at=now + delay))
                conn.execute(insert(audit).values(account=event.account, ticket_id=str(event.ticket_id),
                                                  inbox_id=event.id, step="requeued", at=now,
                                                  detail=json.dumps({"attempts": event.attempts})))

    def events(self, account: str | None = None) -> list[InboxEvent]:
        query = select(inbox).order_by(inbox.c.id)
        if account:
            query = query.where(inbox.c.account == account)
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query).mappings().all()]

    # --- posts (exactly once): claims are leases ------------------------------------------------
    def claim_post(self, draft_ref: str, account: str, ticket_id: str, owner: str, lease_seconds: float) -> str:
        """Take the right to post draft_ref as `owner` (worker + job id) for `lease_seconds`, renewed by a heartbeat
        (deskdraft/leases.py) while the run goes on. Returns "claimed" (go), "taken_over" (go, but its holder died
        holding it: the caller re-reads the ticket first, since that run may have posted), "posted" (done before)
        or "busy" (another live run holds it).
        """
        now = self._now()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(posts).values(draft_ref=draft_ref, account=account, ticket_id=ticket_id,
                                                  status="claimed", claimed_at=now, owner=owner,
                                                  lease_until=now + lease_seconds))
            return "claimed"
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            row = conn.execute(select(posts).where(posts.c.draft_ref == draft_ref)).mappings().first()
            if row is None:  # released between our insert and this read: try once more from the start
                return self.claim_post(draft_ref, account, ticket_id, owner, lease_seconds)
            if row["status"] == "posted":
                return "posted"
            if row["owner"] == owner:
                return "claimed"  # this run asked twice
            if row["lease_until"] is not None and row["lease_until"] > now:
                return "busy"
            # Expired: its holder stopped renewing (dead, or frozen longer than the lease). Compare-and-set on the
            # old owner and expiry, so of several takers only one wins.
            taken = conn.execute(update(posts).where(
                posts.c.draft_ref == draft_ref, posts.c.status == "claimed",
                _same(posts.c.owner, row["owner"]), _same(posts.c.lease_until, row["lease_until"]))
                .values(owner=owner, claimed_at=now, lease_until=now + lease_seconds)).rowcount
        return "taken_over" if taken == 1 else "busy"

    def renew_lease(self, draft_ref: str, owner: str, lease_seconds: float) -> bool:
        """Extend owner's lease (the heartbeat, and the check right before a post); False once another run took it
        over or the claim is gone: that run posts, this one must not."""
        with self.engine.begin() as conn:
            return conn.execute(update(posts).where(
                posts.c.draft_ref == draft_ref, posts.c.status == "claimed", posts.c.owner == owner)
                .values(lease_until=self._now() + lease_seconds)).rowcount == 1

    def still_holds(self, draft_ref: str, owner: str, lease_seconds: float) -> bool:
        """Right before an irreversible post: is this run still the owner? Renews the lease, so the post that follows
        has a whole lease to complete before anyone may take the claim over."""
        return self.renew_lease(draft_ref, owner, lease_seconds)

    def confirm_post(self, draft_ref: str, owner: str, kind: str, comment_id: str | None) -> bool:
        """The owner records its post; False (nothing written) for a run that is not the owner."""
        with self.engine.begin() as conn:
            return conn.execute(update(posts).where(posts.c.draft_ref == draft_ref, posts.c.owner == owner).values(
                status="posted", kind=kind, comment_id=comment_id, posted_at=self._now())).rowcount == 1

    def release_claim(self, draft_ref: str, owner: str) -> None:
        """The owner gives its claim back after a failure before anything was posted, so a retry can take it at once.
        Another run's claim is left alone."""
        with self.engine.begin() as conn:
            conn.execute(posts.delete().where(posts.c.draft_ref == draft_ref, posts.c.status == "claimed",
                                              posts.c.owner == owner))

    def claim_owner(self, draft_ref: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(posts.c.owner).where(posts.c.draft_ref == draft_ref)).scalar()

    def mark_posted(self, draft_ref: str, account: str, ticket_id: str, kind: str, comment_id: str | None) -> None:
        """Record a post found on the ticket (its answer was lost), whatever became of the claim."""
        now = self._now()
        with self.engine.begin() as conn:
            done = conn.execute(update(posts).where(posts.c.draft_ref == draft_ref).values(
                status="posted", kind=kind, comment_id=comment_id, posted_at=now)).rowcount
            if not done:
                conn.execute(insert(posts).values(draft_ref=draft_ref, account=account, ticket_id=str(ticket_id),
                                                  status="posted", kind=kind, comment_id=comment_id,
                                                  claimed_at=now, posted_at=now))

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

    # --- the review pass's cursor and what it looks up ------------------------------------------
    def review_cursor(self, account: str) -> ReviewCursor | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(review_cursors).where(review_cursors.c.account == account)).mappings().first()
        if row is None or row["mark"] is None:
            return None
        return ReviewCursor(row["mark"], json.loads(row["seen"]), row["due_mark"])

    def take_review_turn(self, account: str, until: float) -> bool:
        """One review pass per account at a time, across worker processes (a beat tick can start a pass while the
        last one still reads). True: the caller holds the turn until `until` or until it saves with no hold."""
        now, row = self._now(), review_cursors.c
        with self.engine.begin() as conn:
            if conn.execute(update(review_cursors).where(
                    row.account == account, or_(row.busy_until.is_(None), row.busy_until < now)
            ).values(busy_until=until)).rowcount:
                return True
            if conn.execute(select(row.account).where(row.account == account)).first() is not None:
                return False
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(review_cursors).values(account=account, mark=None, seen="{}", busy_until=until,
                                                           updated_at=now))
            return True
        except IntegrityError:  # another process inserted the row first: its turn
            return False

    def save_review_cursor(self, account: str, cursor: ReviewCursor, hold_until: float | None = None) -> None:
        """Store where the pass got to; hold_until keeps the turn (a checkpoint), None ends it."""
        values = {"mark": cursor.mark, "seen": json.dumps(cursor.seen), "due_mark": cursor.due_mark,
                  "busy_until": hold_until, "updated_at": self._now()}
        with self.engine.begin() as conn:
            if not conn.execute(update(review_cursors).where(review_cursors.c.account == account)
                                .values(**values)).rowcount:
                conn.execute(insert(review_cursors).values(account=account, **values))

    def release_review_turn(self, account: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(review_cursors).where(review_cursors.c.account == account).values(busy_until=None))

    def tickets_with_unreviewed_drafts(self, account: str, ticket_ids: Iterable[str]) -> set[str]:
        """Which of these tickets have a note or reply of ours that no review has judged yet, whatever its age."""
        wanted, found = sorted({str(t) for t in ticket_ids}), set[str]()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):  # bounded IN lists
                found.update(conn.execute(select(drafts.c.ticket_id).where(
                    drafts.c.account == account, drafts.c.ticket_id.in_(wanted[start:start + 500]),
                    drafts.c.outcome.is_(None), drafts.c.action.in_(["note", "reply"]))).scalars())
        return found

    def unreviewed_replies_created(self, account: str, after: float | None, until: float) -> set[str]:
        """Tickets with an unjudged public reply of ours created in (after, until]: whose acceptance clock ran out."""
        query = select(drafts.c.ticket_id).where(drafts.c.account == account, drafts.c.action == "reply",
                                                 drafts.c.outcome.is_(None), drafts.c.created_at <= until)
        if after is not None:
            query = query.where(drafts.c.created_at > after)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def oldest_unreviewed_draft(self, account: str) -> float | None:
        from sqlalchemy import func
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(drafts.c.created_at)).where(
                drafts.c.account == account, drafts.c.outcome.is_(None),
                drafts.c.action.in_(["note", "reply"]))).scalar()

    def record_review(self, draft_ref: str, outcome: str, similarity: float, changes: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(drafts).where(drafts.c.draft_ref == draft_ref).values(
                outcome=outcome, similarity=similarity, changes=",".join(changes), reviewed_at=self._now()))

    def review_outcomes(self, since: float, epoch: Mapping[str, str],
                        intent: str | None = None) -> list[tuple[str, str]]:
        """(intent, outcome) of every draft reviewed since a time and made under `epoch` (prompt_version / model /
        knowledge_snapshot values that must match). What counts as an override is drafting.overrides' to say."""
        query = select(drafts.c.intent, drafts.c.outcome).where(drafts.c.outcome.is_not(None),
                                                                drafts.c.reviewed_at >= since)
        if intent is not None:
            query = query.where(drafts.c.intent == intent)
        for column, value in epoch.items():
            query = query.where(drafts.c[column] == value)
        with self.engine.connect() as conn:
            return [(row[0], row[1]) for row in conn.execute(query).all()]

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

    # --- finished drafts and planned posts, until recorded ------------------------------------
    def save_draft(self, draft_ref: str, account: str, ticket_id: str, prompt_version: str, model: str,
                   draft: Mapping[str, Any]) -> None:
        """Keep the model's finished draft, so a retry of this ref does not pay for it again."""
        with self.engine.begin() as conn:
            conn.execute(pending_posts.delete().where(pending_posts.c.draft_ref == draft_ref))
            conn.execute(insert(pending_posts).values(
                draft_ref=draft_ref, account=account, ticket_id=str(ticket_id), step="drafted",
                prompt_version=prompt_version, model=model, draft=json.dumps(draft, default=str),
                updated_at=self._now()))

    def saved_draft(self, draft_ref: str, prompt_version: str, model: str) -> dict[str, Any] | None:
        """The kept draft for this ref, if it was made with the same prompt and model."""
        with self.engine.connect() as conn:
            row = conn.execute(select(pending_posts).where(
                pending_posts.c.draft_ref == draft_ref, pending_posts.c.prompt_version == prompt_version,
                pending_posts.c.model == model, pending_posts.c.draft.is_not(None))).mappings().first()
        return json.loads(row["draft"]) if row else None

    def save_plan(self, draft_ref: str, account: str, ticket_id: str, plan: Mapping[str, Any]) -> None:
        """What is about to be posted and how to record it; written before the post is sent."""
        with self.engine.begin() as conn:
            done = conn.execute(update(pending_posts).where(pending_posts.c.draft_ref == draft_ref,
                                                            pending_posts.c.step.in_(["drafted", "planned"])).values(
                step="planned", plan=json.dumps(plan, default=str), updated_at=self._now())).rowcount
            if not done and conn.execute(select(pending_posts.c.step).where(
                    pending_posts.c.draft_ref == draft_ref)).scalar() is not None:
                return  # already posted by another run: never move it back to "planned"
            if not done:
                conn.execute(insert(pending_posts).values(
                    draft_ref=draft_ref, account=account, ticket_id=str(ticket_id), step="planned",
                    plan=json.dumps(plan, default=str), updated_at=self._now()))

    def pending_posts(self, account: str, ticket_id: str) -> list[dict[str, Any]]:
        """Planned posts of one ticket not recorded to the end yet: {draft_ref, step, plan}."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(pending_posts).where(
                pending_posts.c.account == account, pending_posts.c.ticket_id == str(ticket_id),
                pending_posts.c.step.in_(["planned", "posted"]))).mappings().all()
        return [{"draft_ref": r["draft_ref"], "step": r["step"], "plan": json.loads(r["plan"])} for r in rows]

    def advance_pending(self, draft_ref: str, from_step: str, to_step: str) -> bool:
        """Compare-and-set the step: True for the one run that moved it (and so records what comes with it)."""
        with self.engine.begin() as conn:
            return conn.execute(update(pending_posts).where(
                pending_posts.c.draft_ref == draft_ref, pending_posts.c.step == from_step).values(
                step=to_step, updated_at=self._now())).rowcount == 1

    def drop_pending(self, draft_ref: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(pending_posts.delete().where(pending_posts.c.draft_ref == draft_ref))

    # --- worker heartbeats -------------------------------------------------------------------
    def heartbeat(self, name: str, pid: int) -> None:
        with self.engine.begin() as conn:
            if not conn.execute(update(heartbeats).where(heartbeats.c.name == name)
                                .values(pid=pid, at=self._now())).rowcount:
                conn.execute(insert(heartbeats).values(name=name, pid=pid, at=self._now()))

    def last_heartbeat(self) -> dict[str, Any] | None:
        """The most recent worker heartbeat ({name, pid, at}), None if no worker ever started."""
        with self.engine.connect() as conn:
            row = conn.execute(select(heartbeats).order_by(heartbeats.c.at.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

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
        row = {"account": account, "ticket_id": str(ticket_id), "inbox_id": inbox_id, "step": step,
               "detail": json.dumps(detail, default=str), "at": self._now()}
        batch = getattr(self._run, "audit", None)
        if batch is not None:
            batch.append(row)
        else:
            with self.engine.begin() as conn:
                conn.execute(insert(audit).values(**row))
        for listener in self.listeners:
            try:
                listener(account, str(ticket_id), step, inbox_id, detail)
            except Exception:  # an observer (metrics) must never fail the step it observes
                logging.getLogger(__name__).exception("audit listener failed on %s", step)

    @contextmanager
    def audit_batch(self) -> Iterator[None]:
        """This thread's audit steps inside the block are written together when it ends (also on an exception), in
        one transaction instead of one each (a ticket's run logs six or more). The audit is the record, not a guard:
        claims, plans and posts are still written at once, so a run killed mid-way loses only its unwritten steps,
        and the retry that the pending inbox row brings logs its own."""
        if getattr(self._run, "audit", None) is not None:  # nested: the outer block writes
            yield
            return
        self._run.audit = []
        try:
            yield
        finally:
            rows, self._run.audit = self._run.audit, None
            if rows:
                with self.engine.begin() as conn:
                    conn.execute(insert(audit), rows)

    def last_beat(self) -> float | None:
        """When any worker last beat (epoch seconds), None if none ever did: what /healthz judges."""
        from sqlalchemy import func
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(heartbeats.c.at))).scalar()

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

    # --- retention and erasure -----------------------------------------------------------------
    def purge(self, inbox_days: float, audit_days: float, drafts_days: float, reviews_days: float) -> dict[str, int]:
        """Delete what is older than its retention; returns rows affected per kind. Pending events stay."""
        now, day = self._now(), 86400.0
        with self.engine.begin() as conn:
            return {
                "inbox": conn.execute(inbox.delete().where(inbox.c.status != "pending",
                                                           inbox.c.received_at < now - inbox_days * day)).rowcount,
                "audit": conn.execute(audit.delete().where(audit.c.at < now - audit_days * day)).rowcount,
                # The ticket itself carries the ref once posted, so an old claim is no longer the only guard.
                "claims": conn.execute(posts.delete().where(posts.c.status == "posted",
                                                            posts.c.claimed_at < now - audit_days * day)).rowcount,
                "drafted_text": conn.execute(update(drafts).where(
                    drafts.c.created_at < now - drafts_days * day, drafts.c.text.is_not(None)
                ).values(text=None)).rowcount,
                "reviews": conn.execute(drafts.delete().where(
                    drafts.c.created_at < now - reviews_days * day)).rowcount,
            }

    def tickets_of_requester(self, requester_id: str, account: str | None = None) -> list[tuple[str, str]]:
        """(account, ticket) pairs whose audit says they were read with this requester."""
        query = select(audit.c.account, audit.c.ticket_id, audit.c.detail).where(audit.c.step == "ticket_read")
        if account:
            query = query.where(audit.c.account == account)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        found = {(r[0], r[1]) for r in rows if str(json.loads(r[2]).get("requester", "")) == str(requester_id)}
        return sorted(found)

    def erase_ticket(self, account: str, ticket_id: str) -> dict[str, int]:
        """Delete every row about one ticket; returns rows deleted per table."""
        ticket_id = str(ticket_id)
        with self.engine.begin() as conn:
            return {
                "inbox": conn.execute(inbox.delete().where(inbox.c.account == account,
                                                           inbox.c.ticket_id == ticket_id)).rowcount,
                "audit": conn.execute(audit.delete().where(audit.c.account == account,
                                                           audit.c.ticket_id == ticket_id)).rowcount,
                "claims": conn.execute(posts.delete().where(posts.c.account == account,
                                                            posts.c.ticket_id == ticket_id)).rowcount,
                "drafts": conn.execute(drafts.delete().where(drafts.c.account == account,
                                                             drafts.c.ticket_id == ticket_id)).rowcount,
            }

    def dispose(self) -> None:
        if self._inbox_batch is not None:
            self._inbox_batch.close()
        self.engine.dispose()


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def _draft(row: Any) -> DraftRecord:
    return DraftRecord(draft_ref=row["draft_ref"], account=row["account"], ticket_id=row["ticket_id"],
                       intent=row["intent"], action=row["action"], comment_id=row["comment_id"],
                       confidence=row["confidence"], text=row["text"], language=row["language"],
                       outcome=row["outcome"], created_at=row["created_at"])


def _event(row: Any) -> InboxEvent:
    return InboxEvent(id=row["id"], account=row["account"], event_id=row["event_id"], ticket_id=row["ticket_id"],
                      kind=row["kind"], status=row["status"], attempts=row["attempts"])
