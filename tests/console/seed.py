"""A deterministic history of tickets, drafts, posts, reviews, gate changes and audit steps, written with bulk
inserts: a few hundred rows for the tests, a year (100k tickets, 1M audit rows) for benchmarks/console.py."""
from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert

from deskdraft.state import State, audit, drafts, gate_events, inbox, posts

INTENTS = ("order_status", "refund_status", "password_reset", "payment_dispute", "unknown")
ACTIONS = (("note", 0.55), ("reply", 0.15), ("escalate", 0.2), ("retrieval_note", 0.05), ("failure_note", 0.05))
OUTCOMES = (("accepted", 0.6), ("light_edit", 0.2), ("rewritten", 0.12), ("discarded", 0.08))
REASONS = ("risk: chargeback", "customer asked for a person", "autonomy is manual", "unknown intent")
STEPS_PER_TICKET = 10
BATCH = 5000


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def seed(state: State, accounts: Sequence[str], tickets: int, days: float, now: float, seed_value: int = 7,
         intents: Sequence[str] = INTENTS, epoch: dict[str, str] | None = None) -> dict[str, Any]:
    """Write `tickets` tickets over the last `days` days; returns what was written, for tests to compare.

    `epoch` (prompt_version, model, knowledge_snapshot) should be the config's, so the gate counts the reviews."""
    epoch = {"prompt_version": "p1", "model": "claude-test-model", "knowledge_snapshot": "", **(epoch or {})}
    rng = random.Random(seed_value)
    span = days * 86400
    rows: dict[str, list[dict[str, Any]]] = {"inbox": [], "drafts": [], "posts": [], "audit": []}
    tables = {"inbox": inbox, "drafts": drafts, "posts": posts, "audit": audit}
    written = {"tickets": 0, "audit": 0}

    def flush(force: bool = False) -> None:
        with state.engine.begin() as conn:
            for name, batch in rows.items():
                if batch and (force or len(batch) >= BATCH):
                    conn.execute(insert(tables[name]), batch)
                    batch.clear()

    for n in range(tickets):
        account = accounts[n % len(accounts)]
        ticket_id = str(100000 + n)
        created = now - span + span * (n + rng.random()) / tickets
        intent = rng.choice(intents)
        action = "escalate" if intent in ("payment_dispute", "unknown") else _pick(rng, ACTIONS)
        ref = f"{account}:{ticket_id}:c{n}"
        confidence = round(rng.betavariate(5, 2), 3)
        reviewed = action in ("note", "reply") and rng.random() < 0.7
        outcome = _pick(rng, OUTCOMES) if reviewed else None
        reviewed_at = min(created + 3600 * rng.uniform(0.2, 20), now - 1) if reviewed else None
        rows["inbox"].append({"account": account, "event_id": f"ev-{n}", "ticket_id": ticket_id, "kind": "comment",
                              "status": "done", "outcome": action, "attempts": 1, "received_at": created,
                              "enqueued_at": created, "finished_at": created + 2})
        rows["drafts"].append({"draft_ref": ref, "account": account, "ticket_id": ticket_id, "intent": intent,
                               "action": action, "comment_id": f"cm{n}", "confidence": confidence,
                               "text": "Your refund reaches your card within 5 business days.", "language": "en",
                               **epoch,
                               "created_at": created, "outcome": outcome,
                               "similarity": rng.random() if reviewed else None,
                               "changes": "facts" if outcome in ("rewritten", "discarded") else "",
                               "reviewed_at": reviewed_at})
        rows["posts"].append({"draft_ref": ref, "account": account, "ticket_id": ticket_id, "status": "posted",
                              "kind": action, "comment_id": f"cm{n}", "claimed_at": created + 1,
                              "posted_at": created + 1.5})
        gate_reasons = [rng.choice(REASONS)] if action == "escalate" else ["autonomy is draft"]
        steps = [("event_received", {"event_id": f"ev-{n}", "kind": "comment"}),
                 ("ticket_read", {"comments": 2, "status": "open"}),
                 ("routed", {"intent": intent, "probability": 0.9, "language": "en"}),
                 ("retrieved", {"passages": [{"id": f"doc{n % 50}#0", "score": 0.61, "kind": "article"}], "ms": 4.2}),
                 ("drafted", {"model": "claude-test-model", "prompt_version": "p1", "input_tokens": 900,
                              "output_tokens": 120, "confidence": confidence}),
                 ("gate", {"action": {"escalate": "escalate", "reply": "reply"}.get(action, "note"),
                           "reasons": gate_reasons, "reviewed": 10, "overridden": 1, "upper_bound": 0.4}),
                 ("posted", {"where": "internal_note", "comment_id": f"cm{n}", "ref": ref, "outcome": action}),
                 ("claimed", {"ref": ref}), ("checks", {"passed": True}),
                 ("reviewed", {"ref": ref, "intent": intent, "outcome": outcome or "pending"})]
        for i, (step, detail) in enumerate(steps[:STEPS_PER_TICKET]):
            rows["audit"].append({"account": account, "ticket_id": ticket_id, "inbox_id": None, "step": step,
                                  "detail": json.dumps(detail), "at": created + i * 0.2})
        written["tickets"] += 1
        written["audit"] += min(len(steps), STEPS_PER_TICKET)
        if len(rows["audit"]) >= BATCH:
            flush()
    flush(force=True)
    with state.engine.begin() as conn:
        events = [{"intent": "order_status", "open": i % 2 == 0, "evidence": f"seeded change {i}",
                   "at": now - span + span * (i + 1) / 5} for i in range(4)]
        conn.execute(insert(gate_events), [{**e, "open": int(e["open"])} for e in events])
    return written
