"""The console's reads: every page is a handful of indexed, bounded queries over our own tables."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, cast, func, select
from sqlalchemy import Integer as SAInteger

from drafting import gate
from state import State, audit, drafts, gate_events, posts

OVERRIDES = ("rewritten", "discarded")
PAGE_SIZE = 50
HANDOFF_SAMPLE = 2000


def _floor(expr: Any, state: State) -> Any:
    # Bucket numbers are never negative here; PostgreSQL's CAST rounds where SQLite's truncates.
    return func.floor(expr) if state.engine.dialect.name == "postgresql" else cast(expr, SAInteger)


def _where_window(column: Any, since: float, until: float, account: str | None) -> list[Any]:
    conditions = [column >= since, column < until]
    if account:
        conditions.append(drafts.c.account == account)
    return conditions


def volume(state: State, since: float, until: float, account: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    """(intent, account) → tickets, actions by kind, reviewed, overridden, in the window."""
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"tickets": 0, "actions": {}, "reviewed": 0,
                                                                       "overridden": 0})
    with state.engine.connect() as conn:
        for intent, acct, action, count in conn.execute(
                select(drafts.c.intent, drafts.c.account, drafts.c.action, func.count())
                .where(*_where_window(drafts.c.created_at, since, until, account))
                .group_by(drafts.c.intent, drafts.c.account, drafts.c.action)):
            rows[(intent, acct)]["actions"][action] = count
        for intent, acct, count in conn.execute(
                select(drafts.c.intent, drafts.c.account, func.count(func.distinct(drafts.c.ticket_id)))
                .where(*_where_window(drafts.c.created_at, since, until, account))
                .group_by(drafts.c.intent, drafts.c.account)):
            rows[(intent, acct)]["tickets"] = count
        for intent, acct, reviewed, overridden in conn.execute(
                select(drafts.c.intent, drafts.c.account, func.count(),
                       func.sum(case((drafts.c.outcome.in_(OVERRIDES), 1), else_=0)))
                .where(*_where_window(drafts.c.reviewed_at, since, until, account))
                .group_by(drafts.c.intent, drafts.c.account)):
            rows[(intent, acct)].update(reviewed=reviewed, overridden=int(overridden or 0))
    return dict(rows)


def gate_stats(state: State, since: float, epoch: dict[str, str]) -> dict[str, tuple[int, int]]:
    """intent → (reviewed, overridden) since a time under a measurement epoch: what the gate counts, in one query."""
    query = (select(drafts.c.intent, func.count(), func.sum(case((drafts.c.outcome.in_(OVERRIDES), 1), else_=0)))
             .where(drafts.c.reviewed_at >= since, drafts.c.outcome.is_not(None)).group_by(drafts.c.intent))
    for column, value in epoch.items():
        query = query.where(drafts.c[column] == value)
    with state.engine.connect() as conn:
        return {intent: (reviewed, int(overridden or 0)) for intent, reviewed, overridden in conn.execute(query)}


def handoff_reasons(state: State, since: float, until: float, account: str | None, top: int = 5,
                    latest: int = HANDOFF_SAMPLE) -> dict[str, list[tuple[str, int]]]:
    """intent → the most frequent reasons its tickets went to a human, among the latest handoffs in the window
    (bounded, so a year-long window costs what a month does)."""
    conditions = [audit.c.step == "gate", audit.c.at >= since, audit.c.at < until,
                  audit.c.detail.like('%"action": "escalate"%')]
    if account:
        conditions.append(audit.c.account == account)
    query = (select(drafts.c.intent, audit.c.detail).select_from(audit.join(drafts, and_(
        drafts.c.account == audit.c.account, drafts.c.ticket_id == audit.c.ticket_id,
        drafts.c.action == "escalate"))).where(*conditions).order_by(audit.c.at.desc()).limit(latest))
    counts: dict[str, Counter] = defaultdict(Counter)
    with state.engine.connect() as conn:
        for intent, detail in conn.execute(query):
            for reason in json.loads(detail).get("reasons", []):
                counts[intent][str(reason)] += 1
    return {intent: c.most_common(top) for intent, c in counts.items()}


def confidence_histogram(state: State, since: float, until: float, account: str | None) -> dict[str, list[int]]:
    """intent → counts of drafts with confidence in [0, 0.1), [0.1, 0.2) ... [0.9, 1.0]."""
    bucket = _floor(drafts.c.confidence * 10, state)
    result: dict[str, list[int]] = defaultdict(lambda: [0] * 10)
    with state.engine.connect() as conn:
        for intent, b, count in conn.execute(
                select(drafts.c.intent, bucket, func.count())
                .where(drafts.c.confidence.is_not(None), *_where_window(drafts.c.created_at, since, until, account))
                .group_by(drafts.c.intent, bucket)):
            result[intent][min(9, max(0, int(b)))] += count
    return dict(result)


def override_trend(state: State, since: float, until: float, account: str | None,
                   buckets: int = 12) -> tuple[float, dict[str, list[tuple[int, int]]]]:
    """(bucket seconds, intent → [(reviewed, overridden)] per bucket), by review time."""
    width = max(86400.0, (until - since) / buckets)
    index = _floor((drafts.c.reviewed_at - since) / width, state)
    trend: dict[str, list[list[int]]] = defaultdict(lambda: [[0, 0] for _ in range(buckets)])
    with state.engine.connect() as conn:
        for intent, i, reviewed, overridden in conn.execute(
                select(drafts.c.intent, index, func.count(),
                       func.sum(case((drafts.c.outcome.in_(OVERRIDES), 1), else_=0)))
                .where(drafts.c.outcome.is_not(None), *_where_window(drafts.c.reviewed_at, since, until, account))
                .group_by(drafts.c.intent, index)):
            slot = trend[intent][min(buckets - 1, int(i))]
            slot[0] += reviewed
            slot[1] += int(overridden or 0)
    return width, {k: [tuple(v) for v in slots] for k, slots in trend.items()}


def gate_changes(state: State, since: float, until: float) -> dict[str, list[dict[str, Any]]]:
    with state.engine.connect() as conn:
        rows = conn.execute(select(gate_events).where(gate_events.c.at >= since, gate_events.c.at < until)
                            .order_by(gate_events.c.id)).mappings().all()
    result: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        result[row["intent"]].append(dict(row))
    return dict(result)


def reviews_still_needed(policy: gate.Policy, stats: gate.Stats, cap: int = 100_000) -> int | None:
    """How many more reviews, none of them overridden, before the bound could open the gate (None: never)."""
    if policy.autonomy != "auto_send" or policy.risky:
        return None
    need = max(0, policy.min_reviewed - stats.reviewed)
    if gate.wilson_upper(stats.overridden, stats.reviewed + need) < policy.override_threshold:
        return need
    low, high = need, cap
    if gate.wilson_upper(stats.overridden, stats.reviewed + high) >= policy.override_threshold:
        return None
    while low < high:  # the bound falls as clean reviews are added: binary search for the first that fits
        mid = (low + high) // 2
        if gate.wilson_upper(stats.overridden, stats.reviewed + mid) < policy.override_threshold:
            high = mid
        else:
            low = mid + 1
    return low


@dataclass(frozen=True)
class TicketRow:
    account: str
    ticket_id: str
    intent: str
    action: str
    confidence: float | None
    outcome: str | None
    created_at: float


def recent_tickets(state: State, account: str | None, intent: str | None, before: float | None,
                   limit: int = PAGE_SIZE) -> list[TicketRow]:
    """Newest drafts first, one page; `before` is the created_at of the last row of the previous page."""
    query = select(drafts.c.account, drafts.c.ticket_id, drafts.c.intent, drafts.c.action, drafts.c.confidence,
                   drafts.c.outcome, drafts.c.created_at).order_by(drafts.c.created_at.desc()).limit(limit)
    if account:
        query = query.where(drafts.c.account == account)
    if intent:
        query = query.where(drafts.c.intent == intent)
    if before is not None:
        query = query.where(drafts.c.created_at < before)
    with state.engine.connect() as conn:
        return [TicketRow(*row) for row in conn.execute(query).all()]


def ticket_story(state: State, account: str, ticket_id: str, limit: int = 500) -> dict[str, Any]:
    """Every audit step of one ticket (bounded), its drafts with their verdicts, and what was posted."""
    with state.engine.connect() as conn:
        steps = conn.execute(select(audit).where(audit.c.account == account, audit.c.ticket_id == ticket_id)
                             .order_by(audit.c.id).limit(limit)).mappings().all()
        made = conn.execute(select(drafts).where(drafts.c.account == account, drafts.c.ticket_id == ticket_id)
                            .order_by(drafts.c.created_at)).mappings().all()
        posted = conn.execute(select(posts).where(posts.c.account == account, posts.c.ticket_id == ticket_id)
                              .order_by(posts.c.claimed_at)).mappings().all()
    return {"steps": [{**dict(s), "detail": json.loads(s["detail"])} for s in steps],
            "drafts": [dict(d) for d in made], "posts": [dict(p) for p in posted], "truncated": len(steps) == limit}


__all__ = ["gate_stats", "volume", "handoff_reasons", "confidence_histogram", "override_trend", "gate_changes",
           "reviews_still_needed", "recent_tickets", "ticket_story"]
