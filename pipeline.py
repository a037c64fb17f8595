"""handle(): one accepted webhook event → at most one post in the ticket.

fetch the ticket → is the latest turn a customer's? → already drafted? → claim → retrieve → draft → post.
Safe to run twice: the claim in our database and the ref written into every post make the second run stop.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from connectors.base import Connector, Ticket
from drafting import confidence as conf
from drafting import notes
from drafting.claude import Drafter, MalformedDraft
from settings import Config
from state import InboxEvent, State

log = logging.getLogger(__name__)



class RetrievalUnavailable(RuntimeError):
    """The knowledge store cannot be read right now (held by another process): retried later."""


@dataclass
class Deps:
    config: Config
    state: State
    connectors: Mapping[str, Connector]
    retrieve: Callable[[str], Sequence[Any]]  # query → passages, best first (knowledge layer)
    drafter: Drafter | None  # None: no ANTHROPIC_API_KEY, retrieval-only notes


@dataclass(frozen=True)
class Outcome:
    kind: str  # posted_note | retrieval_note | failure_note | skipped | already_posted | in_progress | ticket_gone
    reason: str = ""
    comment_id: str | None = None


def draft_ref(ticket: Ticket, comment_id: str) -> str:
    return f"{ticket.account}:{ticket.id}:{comment_id}"


def _skip_reason(ticket: Ticket) -> str | None:
    """Why this ticket must not be drafted now; read from the ticket itself, not from the webhook's word."""
    latest = ticket.latest
    if latest is None:
        return "ticket has no comments"
    if latest.author_role == "self":
        return "latest update is our own post"
    if latest.via_api:
        return "latest update came through the API"
    if latest.author_role != "customer":
        return f"latest update is by {latest.author_role}, not the customer"
    if not latest.public:
        return "latest customer comment is not public"
    return None


def handle(event: InboxEvent, deps: Deps) -> Outcome:
    """Process one inbox event; raises transient errors for the task to retry."""
    state, connector = deps.state, deps.connectors[event.account]
    audit = lambda step, **detail: state.log(event.account, event.ticket_id, step, event.id, **detail)  # noqa: E731

    ticket = connector.fetch_ticket(event.ticket_id)
    if ticket is None:
        audit("skipped", reason="ticket no longer exists")
        return Outcome("ticket_gone", "ticket no longer exists")
    audit("ticket_read", comments=len(ticket.comments), status=ticket.status)
    reason = _skip_reason(ticket)
    if reason:
        audit("skipped", reason=reason)
        return Outcome("skipped", reason)

    latest = ticket.latest
    ref = draft_ref(ticket, latest.id)
    if ref in ticket.posted_refs():  # posted by a run that died before recording it
        state.claim_post(ref, event.account, ticket.id, deps.config.queue.claim_timeout_seconds)
        state.confirm_post(ref, "note", None)
        audit("skipped", reason="already posted (found on the ticket)", ref=ref)
        return Outcome("already_posted", ref)
    claim = state.claim_post(ref, event.account, ticket.id, deps.config.queue.claim_timeout_seconds)
    if claim != "claimed":
        audit("skipped", reason=f"draft {claim} by another run", ref=ref)
        return Outcome("already_posted" if claim == "posted" else "in_progress", ref)

    try:
        body, kind = _compose(ticket, ref, deps, audit)
        comment_id = connector.post_note(ticket.id, body)
    except BaseException:
        state.release_claim(ref)  # a retry re-reads the ticket, so a post whose answer was lost still counts once
        raise
    state.confirm_post(ref, "note", comment_id)
    audit("posted", where="internal_note", comment_id=comment_id, ref=ref, outcome=kind)
    return Outcome(kind, ref, comment_id)


def _compose(ticket: Ticket, ref: str, deps: Deps, audit: Callable[..., None]) -> tuple[str, str]:
    """The note body and its outcome kind for this ticket's latest customer message."""
    settings = deps.config
    question = f"{ticket.subject}\n{ticket.latest.body}"[-2000:]
    started = time.perf_counter()
    passages = list(deps.retrieve(question))
    audit("retrieved", passages=[{"id": p.id, "score": round(p.score, 3)} for p in passages],
          ms=round((time.perf_counter() - started) * 1000, 1))
    if deps.drafter is None:
        return notes.retrieval_only_note(ref, passages), "retrieval_note"
    try:
        draft = deps.drafter.draft(ticket, passages)
    except MalformedDraft as exc:
        audit("draft_failed", error=str(exc))
        return notes.failed_note(ref, 1, "the model's answer was not in the expected shape"), "failure_note"

    by_label = {f"P{n}": p for n, p in enumerate(passages, start=1)}
    cited = [by_label[label] for label in dict.fromkeys(draft.cited_labels) if label in by_label]
    invented = [label for label in draft.cited_labels if label not in by_label]
    best = passages[0].score if passages else None
    confidence = conf.score(conf.Signals(best, settings.knowledge.min_score, len(cited), len(invented),
                                         draft.self_confidence, reply_empty=not draft.reply))
    reasons = needs_human_reasons(draft, confidence, best, settings, invented)
    audit("drafted", model=draft.model, input_tokens=draft.input_tokens, output_tokens=draft.output_tokens,
          confidence=confidence, cited=[p.id for p in cited], invented=invented, needs_human=reasons)
    body = notes.draft_note(ref, draft.reply or "(the model returned no reply)", confidence, cited, reasons,
                            draft.missing_information)
    return body, "posted_note"


def needs_human_reasons(draft: Any, confidence: float, best: float | None, config: Config,
                        invented: Sequence[str]) -> list[str]:
    reasons = []
    if draft.needs_human:
        reasons.append(f"the model asks for a human: {draft.needs_human_reason or 'no reason given'}")
    if best is None or best < config.knowledge.min_score:
        reasons.append("no help-center passage matches this question well")
    if invented:
        reasons.append(f"the draft cited passages that were not retrieved: {', '.join(invented)}")
    if confidence < config.drafting.needs_human_below:
        reasons.append(f"confidence {confidence:.2f} is under {config.drafting.needs_human_below:.2f}")
    return reasons


def post_failure(event: InboxEvent, deps: Deps, error: str) -> Outcome:
    """After the last retry: tell the agents in the ticket that no draft is coming, exactly once."""
    connector = deps.connectors[event.account]
    ticket = connector.fetch_ticket(event.ticket_id)
    target = next((c for c in reversed(ticket.comments) if c.from_customer), None) if ticket else None
    if target is None:
        return Outcome("ticket_gone")
    ref = draft_ref(ticket, target.id)
    timeout = deps.config.queue.claim_timeout_seconds
    if ref in ticket.posted_refs() or deps.state.claim_post(ref, event.account, ticket.id, timeout) != "claimed":
        return Outcome("already_posted", ref)
    try:
        comment_id = connector.post_note(ticket.id, notes.failed_note(ref, event.attempts, error))
    except BaseException:
        deps.state.release_claim(ref)
        raise
    deps.state.confirm_post(ref, "note", comment_id)
    deps.state.log(event.account, event.ticket_id, "posted", event.id, where="internal_note",
                   outcome="failure_note", error=error, ref=ref)
    return Outcome("failure_note", error, comment_id)
