"""The console's reads: every page is a handful of indexed, bounded queries over our own tables."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select

from deskdraft.state import State, audit, drafts, gate_events, posts
from drafting import gate

OVERRIDES = ("rewritten", "discarded")
PAGE_SIZE = 50
HANDOFF_SAMPLE = 2000


def window_summary(state: State, since: float, until: float, account: str | None,
                   buckets: int = 12) -> dict[str, Any]:
    """Everything the intents page counts over a window, from two index-only reads.

    Rows are counted here rather than grouped in SQL: the GROUP BYs (one per figure, each with a temporary
    sort) cost as much as one pass over the rows for a year and more for a month, and a Counter gives the same
    answer on SQLite and PostgreSQL. A year-wide window still reads a year of rows (see benchmarks/console.py)."""
    width = max(86400.0, (until - since) / buckets)
    made = select(drafts.c.intent, drafts.c.account, drafts.c.action, drafts.c.ticket_id, drafts.c.confidence) \
        .where(drafts.c.created_at >= since, drafts.c.created_at < until)
    judged = select(drafts.c.intent, drafts.c.account, drafts.c.outcome, drafts.c.reviewed_at) \
        .where(drafts.c.reviewed_at >= since, drafts.c.reviewed_at < until, drafts.c.outcome.is_not(None))
    if account:
        made, judged = made.where(drafts.c.account == account), judged.where(drafts.c.account == account)
    volume: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"tickets": 0, "actions": Counter(), "reviewed": 0, "overridden": 0})
    tickets: dict[tuple[str, str], set[str]] = defaultdict(set)
    histogram: dict[str, list[int]] = defaultdict(lambda: [0] * 10)
    trend: dict[str, list[list[int]]] = defaultdict(lambda: [[0, 0] for _ in range(buckets)])
    with state.engine.connect() as conn:
        for intent, acct, action, ticket_id, confidence in conn.execute(made):
            volume[(intent, acct)]["actions"][action] += 1
            tickets[(intent, acct)].add(ticket_id)
            if confidence is not None:
                histogram[intent][min(9, max(0, int(confidence * 10)))] += 1
        for intent, acct, outcome, reviewed_at in conn.execute(judged):
            overridden = outcome in OVERRIDES
            row = volume[(intent, acct)]
            row["reviewed"] += 1
            row["overridden"] += overridden
            slot = trend[intent][min(buckets - 1, int((reviewed_at - since) // width))]
            slot[0] += 1
            slot[1] += overridden
    for key, ids in tickets.items():
        volume[key]["tickets"] = len(ids)
    return {"volume": {k: {**v, "actions": dict(v["actions"])} for k, v in volume.items()},
            "histogram": dict(histogram), "bucket_seconds": width,
            "trend": {k: [tuple(p) for p in v] for k, v in trend.items()}}


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


__all__ = [
    "gate_changes",
    "handoff_reasons",
    "recent_tickets",
    "reviews_still_needed",
    "ticket_story",
    "window_summary",
]
