"""The feedback loop: when agents answer after one of our drafts, measure how much they changed it.

A note is reviewed by the first public agent reply that follows it before the customer writes again.
A public reply of ours is judged by drafting/acceptance.py: accepted only on a positive signal (the customer
confirms, or the ticket stays solved for autonomy.accept_after_days); an agent stepping in, a request for a person,
frustration or the same question again is an override; anything else leaves it not yet known.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from connectors.base import Comment, Ticket
from deskdraft.state import DraftRecord, State
from drafting import acceptance, overrides
from drafting.language import detect
from knowledge.redact import Redactor


def _after(ticket: Ticket, draft: DraftRecord) -> list[Comment] | None:
    """The comments after our post of this draft; None when our post is not on the ticket (yet)."""
    for n, comment in enumerate(ticket.comments):
        if comment.author_role == "self" and (comment.id == draft.comment_id or draft.draft_ref in comment.body):
            return list(ticket.comments[n + 1:])
    return None


def judge(ticket: Ticket, draft: DraftRecord, now: float | None = None,
          accept_after_days: float = 7) -> overrides.Review | None:
    """The review this ticket now allows for one draft, or None while there is nothing to judge yet."""
    later = _after(ticket, draft)
    if later is None:
        return None
    if draft.action == "reply":
        return _judge_public_reply(ticket, draft, later, time.time() if now is None else now, accept_after_days)
    for comment in later:
        if comment.author_role == "agent" and comment.public:
            # Drafts are stored as the model wrote them ([CUSTOMER_NAME]); the agent sent the name itself.
            text = Redactor(ticket.people).restore(draft.text or "")
            return overrides.classify(text, comment.body, draft.language, detect(comment.body, "en"))
        if comment.from_customer:
            return None  # the customer wrote again with no public agent answer: nothing to compare
    return None


def _judge_public_reply(ticket: Ticket, draft: DraftRecord, later: list[Comment], now: float,
                        accept_after_days: float) -> overrides.Review | None:
    question = _question_answered(ticket, draft)
    for comment in later:
        if comment.author_role == "agent" and comment.public:
            return overrides.Review(overrides.REWRITTEN, 0.0, ("agent_stepped_in",))
        if comment.from_customer and comment.public:
            verdict = acceptance.customer_follow_up(comment.body, question)
            if verdict is None:
                return None  # a new question or a thanks with a "but": no evidence either way
            return _review(verdict)
    answered = [c for c in later if c.author_role != "self" and c.public]
    verdict = acceptance.solved_and_kept(ticket.status, draft.created_at, now, accept_after_days, answered)
    return _review(verdict) if verdict else None


def _review(verdict: acceptance.Verdict) -> overrides.Review:
    if verdict.outcome == acceptance.ACCEPTED:
        return overrides.Review(overrides.ACCEPTED, 1.0, (verdict.reason,))
    return overrides.Review(overrides.DISCARDED, 0.0, (verdict.reason,))


def _question_answered(ticket: Ticket, draft: DraftRecord) -> str:
    """The customer's message our reply answered: the ref ends with its comment id."""
    comment_id = draft.draft_ref.rsplit(":", 1)[-1]
    return next((c.body for c in ticket.comments if c.id == comment_id), "")


def observe(ticket: Ticket, state: State, audit: Callable[..., None], accept_after_days: float = 7,
            now: float | None = None) -> int:
    """Record reviews for this ticket's drafts that agents have now answered; returns how many."""
    recorded = 0
    for draft in state.unreviewed_drafts(ticket.account, ticket.id):
        result = judge(ticket, draft, now, accept_after_days)
        if result is None:
            continue
        state.record_review(draft.draft_ref, result.outcome, result.similarity, result.changes)
        audit("reviewed", ref=draft.draft_ref, intent=draft.intent, outcome=result.outcome,
              similarity=result.similarity, changes=list(result.changes), overridden=result.overridden)
        recorded += 1
    return recorded
