"""The feedback loop: when agents answer after one of our drafts, measure how much they changed it.

A note is reviewed by the first public agent reply that follows it before the customer writes again.
A public reply of ours is overridden when an agent follows it up publicly before the customer writes again,
and accepted when the customer's next message comes with no agent correction in between.
"""
from __future__ import annotations

from typing import Callable

from connectors.base import Comment, Ticket
from drafting import overrides
from drafting.language import detect
from knowledge.redact import Redactor
from state import DraftRecord, State


def _after(ticket: Ticket, draft: DraftRecord) -> list[Comment] | None:
    """The comments after our post of this draft; None when our post is not on the ticket (yet)."""
    for n, comment in enumerate(ticket.comments):
        if comment.author_role == "self" and (comment.id == draft.comment_id or draft.draft_ref in comment.body):
            return list(ticket.comments[n + 1:])
    return None


def judge(ticket: Ticket, draft: DraftRecord) -> overrides.Review | None:
    """The review this ticket now allows for one draft, or None while there is nothing to judge yet."""
    later = _after(ticket, draft)
    if later is None:
        return None
    for comment in later:
        if comment.author_role == "agent" and comment.public:
            if draft.action == "reply":
                return overrides.Review(overrides.REWRITTEN, 0.0, ("agent_followed_up",))
            # Drafts are stored as the model wrote them ([CUSTOMER_NAME]); the agent sent the name itself.
            text = Redactor(ticket.people).restore(draft.text or "")
            return overrides.classify(text, comment.body, draft.language, detect(comment.body, "en"))
        if comment.from_customer:
            if draft.action == "reply":
                return overrides.Review(overrides.ACCEPTED, 1.0, ())
            return None  # the customer wrote again with no public agent answer: nothing to compare
    return None


def observe(ticket: Ticket, state: State, audit: Callable[..., None]) -> int:
    """Record reviews for this ticket's drafts that agents have now answered; returns how many."""
    recorded = 0
    for draft in state.unreviewed_drafts(ticket.account, ticket.id):
        result = judge(ticket, draft)
        if result is None:
            continue
        state.record_review(draft.draft_ref, result.outcome, result.similarity, result.changes)
        audit("reviewed", ref=draft.draft_ref, intent=draft.intent, outcome=result.outcome,
              similarity=result.similarity, changes=list(result.changes), overridden=result.overridden)
        recorded += 1
    return recorded
