"""handle(): one accepted webhook event → at most one post in the ticket.

fetch the ticket → learn from agents' replies to earlier drafts → is the latest turn a customer's? → drafted
before? → claim → route → retrieve → draft → checks → gate → note | public reply | handoff.
Safe to run twice: the claim in our database and the ref written into every post make the second run stop.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Comment, Connector, Ticket
from connectors.http import HelpdeskError
from deskdraft import leases
from deskdraft.settings import Config
from deskdraft.state import InboxEvent, State
from drafting import checks, gate, notes, output_guard, overrides, prompts, review
from drafting import confidence as conf
from drafting.claude import Drafter, MalformedDraft
from drafting.draft import Draft
from drafting.intents.routing import IntentSpec, Route, route
from knowledge.epoch import knowledge_epoch
from knowledge.redact import Redactor, find_placeholders

log = logging.getLogger(__name__)


@dataclass
class Deps:
    config: Config
    state: State
    connectors: Mapping[str, Connector]
    retrieve: Callable[..., Sequence[Any]]  # (query, account=..., locale=...) → passages, best first
    drafter: Drafter | None  # None: no ANTHROPIC_API_KEY, retrieval-only notes
    router: Any = None  # drafting.intents.classifier.IntentRouter, None until intents with examples are configured
    safety: Any = None  # drafting.safety.SafetyNet
    clock: Callable[[], float] = field(default=time.time)


SUPERSEDED = "superseded"  # nothing posted: another run holds the claim now, or the ticket moved on


@dataclass(frozen=True)
class Outcome:
    kind: str  # posted_note | public_reply | escalated | retrieval_note | failure_note | skipped | ...
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


def customer_turns(ticket: Ticket, burst_seconds: float | None = None) -> tuple[list[Comment], list[Comment]]:
    """(the unanswered burst: customer messages since anyone else last spoke publicly, each within burst_seconds
    of the next (routing.burst_seconds); the earlier customer turns)."""
    burst: list[Comment] = []
    for comment in reversed(ticket.comments):
        if comment.from_customer and comment.public:
            if burst and burst_seconds is not None and _gap(comment, burst[0]) > burst_seconds:
                break  # an older message, answered or not, is context, not part of this turn
            burst.insert(0, comment)
        elif comment.public or comment.author_role == "self":
            break
    earlier = [c for c in ticket.comments if c.from_customer and c.public and c not in burst]
    return burst, earlier


def _gap(earlier: Comment, later: Comment) -> float:
    from datetime import datetime

    try:
        return (datetime.fromisoformat(later.created_at) - datetime.fromisoformat(earlier.created_at)).total_seconds()
    except (TypeError, ValueError):
        return 0.0  # no usable timestamps: keep the messages together, as before


def handle(event: InboxEvent, deps: Deps, owner: str | None = None) -> Outcome:
    """Process one inbox event; raises transient errors for the task to retry. `owner` names this run in its claim
    (deskdraft/leases.owner_id: host, process and job)."""
    state, connector = deps.state, deps.connectors[event.account]
    audit = lambda step, **detail: state.log(event.account, event.ticket_id, step, event.id, **detail)  # noqa: E731

    ticket = connector.fetch_ticket(event.ticket_id)
    if ticket is None:
        audit("skipped", reason="ticket no longer exists")
        return Outcome("ticket_gone", "ticket no longer exists")
    audit("ticket_read", comments=len(ticket.comments), status=ticket.status,
          requester=ticket.requester_id)  # what `erase --requester` finds a customer's tickets by
    review.observe(ticket, deps.state, audit, deps.config.autonomy.accept_after_days, deps.clock())
    finish_pending(ticket, deps, audit)  # before the skip: the latest update may be our own unrecorded post
    reason, latest = _skip_reason(ticket), ticket.latest
    if reason or latest is None:  # (_skip_reason names an empty ticket too)
        reason = reason or "ticket has no comments"
        audit("skipped", reason=reason)
        return Outcome("skipped", reason)

    ref = draft_ref(ticket, latest.id)
    if ref in ticket.posted_refs():  # posted by a run that died before recording it (recorded above if it could be)
        state.mark_posted(ref, event.account, ticket.id, "note", _comment_id(ticket, ref))
        audit("skipped", reason="already posted (found on the ticket)", ref=ref)
        return Outcome("already_posted", ref)
    owner = owner or leases.owner_id()
    lease = deps.config.queue.claim_timeout_seconds
    claim = state.claim_post(ref, event.account, ticket.id, owner, lease)
    if claim not in ("claimed", "taken_over"):
        audit("skipped", reason=f"draft {claim} by another run", ref=ref)
        return Outcome("already_posted" if claim == "posted" else "in_progress", ref)

    keeper = leases.keeper(state, lease)
    try:
        with keeper.holding(ref, owner):
            if claim == "taken_over":
                audit("claim_taken_over", ref=ref)
                found = _posted_by_the_dead_run(ticket, ref, deps, audit)
                if found is not None:
                    return found
            outcome = _act(ticket, latest, ref, deps, audit, _Lease(owner, lease, keeper))
    except ClaimLost:
        # A run whose lease ran out and was taken over: the taker posts; releasing would drop its claim.
        audit("skipped", reason="claim taken over by another run before posting", ref=ref)
        return Outcome("in_progress", ref)
    except BaseException:
        state.release_claim(ref, owner)  # a retry re-reads the ticket, so a post whose answer was lost counts once
        raise
    if outcome.kind != SUPERSEDED:  # the claim may be another run's now: leave it to that run
        state.confirm_post(ref, owner, outcome.kind, outcome.comment_id)
    return outcome


@dataclass(frozen=True)
class _Lease:
    owner: str
    seconds: float
    keeper: leases.LeaseKeeper

    def still_ours(self, state: State, ref: str) -> bool:
        """Right before the post: not lost to a heartbeat, and still the owner by compare-and-set (renewed)."""
        return not self.keeper.lost(ref, self.owner) and state.still_holds(ref, self.owner, self.seconds)


def _posted_by_the_dead_run(ticket: Ticket, ref: str, deps: Deps, audit: Callable[..., None]) -> Outcome | None:
    """After taking over an expired lease: its holder may have posted after our first read of the ticket. Read it
    again and record what is there, rather than post a second time."""
    fresh = deps.connectors[ticket.account].fetch_ticket(ticket.id)
    if fresh is None:
        return Outcome("ticket_gone", "ticket no longer exists")  # its claim expires with the lease: nothing to post
    finish_pending(fresh, deps, audit)
    if ref in fresh.posted_refs():
        deps.state.mark_posted(ref, ticket.account, ticket.id, "note", _comment_id(fresh, ref))
        audit("skipped", reason="already posted (found on the ticket after taking over)", ref=ref)
        return Outcome("already_posted", ref)
    return None


class ClaimLost(RuntimeError):
    """This run's lease ran out and another run took the claim over: that run posts, not this one."""


def _act(ticket: Ticket, latest: Comment, ref: str, deps: Deps, audit: Callable[..., None],
         lease: _Lease) -> Outcome:
    config, connector = deps.config, deps.connectors[ticket.account]
    burst, earlier = customer_turns(ticket, config.routing.burst_seconds)
    latest_text = "\n\n".join(c.body for c in burst) or latest.body
    specs = [IntentSpec(i.name, i.description, i.examples, i.risky) for i in config.intents.values()]
    routed = route(latest_text, [c.body for c in earlier], deps.router, deps.safety,
                   config.routing.min_probability, intents=specs,
                   after_public_reply=follows_public_reply(ticket, burst))
    intent = config.intent(routed.intent)
    audit("routed", intent=routed.intent, probability=round(routed.probability, 3), risky=routed.risky,
          risk_flags=list(routed.risk_flags), sentiment=routed.sentiment, frustrated=routed.frustrated,
          language=routed.language, wants_human=routed.wants_human, reasons=list(routed.reasons))

    model = deps.drafter.model if deps.drafter else ""
    kept = deps.state.saved_draft(ref, prompts.version(), model) if deps.drafter else None
    if kept is not None:  # made by an earlier run of this same customer message: no second model call
        passages, draft = Draft.from_kept(kept)
        audit("draft_reused", model=model, prompt_version=prompts.version(), confidence=draft.confidence)
    else:
        started = time.perf_counter()
        passages = list(deps.retrieve(f"{ticket.subject}\n{latest_text}"[-2000:],
                                      account=config.helpdesks[ticket.account], locale=routed.language,
                                      embedding=reusable_vector(routed, deps.router, config)))
        audit("retrieved", passages=[{"id": p.id, "score": round(p.score, 3), "kind": p.kind} for p in passages],
              ms=round((time.perf_counter() - started) * 1000, 1))
        draft = _draft(ticket, passages, routed, deps, audit)
        if draft.reply is not None:
            deps.state.save_draft(ref, ticket.account, ticket.id, prompts.version(), model, draft.kept(passages))
    store_problem = _store_problem(deps) if not passages else None
    if store_problem:
        draft.problems = (*draft.problems, store_problem)

    needs_human, holds = _human_signals(routed, config)
    policy = gate.Policy.of(intent)
    stats = overrides.measured(deps.state, config, deps.clock(), intent.name).get(intent.name, gate.Stats(0, 0))
    signals = gate.Signals(confidence=draft.confidence or 0.0, needs_human=needs_human,
                           holds=holds + draft.problems, model_available=deps.drafter is not None,
                           paused=config.autonomy.paused)
    decision = gate.decide(policy, stats, signals)
    if decision.action == gate.REPLY and find_placeholders(draft.posted or ""):  # never public with one left
        decision = gate.Decision(gate.NOTE, (*decision.reasons, "a placeholder is left in the draft"),
                                 decision.gate_open)
    gate_evidence = gate.gate_open(policy, stats)[1]
    if deps.state.note_gate_state(intent.name, decision.gate_open, gate_evidence):
        audit("gate_changed", intent=intent.name, open=decision.gate_open, evidence=gate_evidence)
    audit("gate", action=decision.action, reasons=list(decision.reasons), reviewed=stats.reviewed,
          overridden=stats.overridden, upper_bound=round(stats.upper_bound, 4))
    verdict = None
    if decision.action == gate.REPLY:  # the gate opened: every word still passes the output guard
        verdict = output_guard.review(draft.posted or "", cited=draft.cited,  # names restored: what would be sent
                                      allowed_domains=config.drafting.public_link_domains,
                                      customer_language=routed.language, model_asks_human=draft.model_asks_human,
                                      problems=draft.problems)
        audit("output_guard", allowed=verdict.allowed, reasons=list(verdict.reasons), links=list(verdict.links))
        if not verdict.allowed:
            decision = gate.Decision(gate.NOTE, (*decision.reasons, *verdict.reasons), decision.gate_open)

    post: Callable[[], str | None]
    plan: dict[str, Any] = {"intent": routed.intent, "confidence": draft.confidence, "reply": draft.reply,
                            "language": routed.language, "prompt_version": prompts.version(), "model": model,
                            "knowledge_snapshot": knowledge_epoch(config)}
    if decision.action == gate.ESCALATE:
        why = [*decision.reasons, *filter(None, [store_problem])]
        body = notes.handoff_note(ref, why, routed, draft.confidence, [c.body for c in [*earlier, *burst]],
                                  draft.posted, passages)
        plan.update(kind="escalated", where="handoff_note", tags=[*config.routing.escalation_tags, *intent.tags],
                    group=intent.group or config.routing.escalation_group)
        post = lambda: connector.escalate(ticket.id, body, plan["tags"], plan["group"])  # noqa: E731
    elif decision.action == gate.REPLY and verdict is not None and verdict.allowed:
        # A customer can never unsee a reply: re-read the ticket right before posting, so a post by another run
        # or a newer message is seen now and not after a second public reply.
        fresh = connector.fetch_ticket(ticket.id)
        if fresh is None or fresh.latest is None or fresh.latest.id != latest.id:
            audit("skipped", reason="the ticket changed while we drafted: not replying publicly", ref=ref)
            return Outcome(SUPERSEDED, ref)
        body = notes.public_reply(verdict.text, config.drafting.assistant_name, config.brand.name, routed.language)
        plan.update(kind="public_reply", where="public_reply")

        def post() -> str | None:
            comment_id = connector.post_reply(ticket.id, body)
            _companion_note(connector, ticket, ref, routed.intent, draft, gate_evidence, audit)
            return comment_id
    elif deps.drafter is None or draft.reply is None:
        body = (notes.retrieval_only_note(ref, passages) if deps.drafter is None
                else notes.failed_note(ref, 1, "the model's answer was not in the expected shape"))
        plan.update(kind="retrieval_note" if deps.drafter is None else "failure_note", where="internal_note")
        post = lambda: connector.post_note(ticket.id, body)  # noqa: E731
    else:
        reasons = needs_human_reasons(draft, passages, config)
        kept_private = [r for r in decision.reasons
                        if intent.autonomy == "auto_send" and not r.startswith("autonomy is")]
        body = notes.draft_note(ref, draft.posted or "", draft.confidence or 0.0, draft.cited, reasons, draft.missing,
                                intent=routed.intent,
                                kept_private=kept_private if intent.autonomy == "auto_send" else ())
        plan.update(kind="posted_note", where="internal_note")
        post = lambda: connector.post_note(ticket.id, body)  # noqa: E731

    # The plan is written before the post: if the helpdesk's answer is lost, the next run finds the ref on the
    # ticket and records the post from it (finish_pending) instead of stopping at "our own post".
    # Only the owner posts: checked (and renewed, compare-and-set) right before the post, so a run whose lease ran
    # out (frozen past it: a paused VM, a stalled database) and was taken over stops here, and the taker posts.
    if not lease.still_ours(deps.state, ref):
        raise ClaimLost(ref)
    deps.state.save_plan(ref, ticket.account, ticket.id, plan)
    comment_id = post()
    _record(ticket, ref, plan, comment_id, deps, audit, handoff_done=True)
    return Outcome(plan["kind"], ref, comment_id)


ACTIONS = {"escalated": "escalate", "public_reply": "reply", "posted_note": "note"}


def _record(ticket: Ticket, ref: str, plan: Mapping[str, Any], comment_id: str | None, deps: Deps,
            audit: Callable[..., None], handoff_done: bool, recovered: bool = False) -> None:
    """The drafts row, the posted claim and the audit's `posted` step for a post that is on the ticket; then, for a
    handoff, its tags and group (idempotent, so a retry finishes what a failed run left)."""
    kind = plan["kind"]
    if deps.state.advance_pending(ref, "planned", "posted"):  # only one run records a post
        deps.state.record_draft(ref, ticket.account, ticket.id, plan["intent"], ACTIONS.get(kind, kind), comment_id,
                                plan["confidence"], plan["reply"], plan["language"], plan["prompt_version"],
                                plan["model"], plan["knowledge_snapshot"])
        deps.state.mark_posted(ref, ticket.account, ticket.id, "note", comment_id)
        audit("posted", where=plan["where"], comment_id=comment_id, ref=ref, outcome=kind,
              ai_disclosure=kind == "public_reply", **({"recovered": True} if recovered else {}))
    if kind == "escalated":
        if not handoff_done:
            deps.connectors[ticket.account].route_handoff(ticket.id, plan["tags"], plan["group"])
        if deps.state.advance_pending(ref, "posted", "routed"):
            audit("handoff_routed", ref=ref, tags=plan["tags"], group=plan["group"],
                  **({"recovered": True} if recovered else {}))
    deps.state.drop_pending(ref)


def finish_pending(ticket: Ticket, deps: Deps, audit: Callable[..., None]) -> list[str]:
    """Record posts an earlier run made but never recorded (the helpdesk's answer was lost, or the run died right
    after posting), and finish handoffs whose tags or group were not applied. Returns the refs completed."""
    on_ticket = ticket.posted_refs()
    done = []
    for pending in deps.state.pending_posts(ticket.account, ticket.id):
        ref = pending["draft_ref"]
        if ref not in on_ticket:
            continue  # not posted (yet): the run for this customer message posts it, reusing the draft
        _record(ticket, ref, pending["plan"], _comment_id(ticket, ref), deps, audit, handoff_done=False,
                recovered=True)
        done.append(ref)
    return done


def _comment_id(ticket: Ticket, ref: str) -> str | None:
    return next((c.id for c in ticket.comments if c.author_role == "self" and ref in c.body), None)


def _store_problem(deps: Deps) -> str | None:
    """Why nothing was retrieved, when the reason is the store itself (missing or empty although sources are
    configured): said in the note, and kept private, instead of a silently low confidence."""
    health = getattr(deps.retrieve, "health", None)
    if health is None:
        return None
    try:
        ok, reason = health()
    except Exception as exc:
        return f"the knowledge store cannot be read: {exc}"
    return None if ok else reason


def _companion_note(connector: Connector, ticket: Ticket, ref: str, intent: str, draft: Draft, evidence: str,
                    audit: Callable[..., None]) -> None:
    """The ref, hidden from the customer, in an internal note right after the public reply.

    Exactly-once does not depend on this note: until it exists the reply itself is the ticket's latest update
    (a re-run stops at "latest update is our own post"), and the claim in our database stops a parallel run.
    So a failure here is recorded, not retried: retrying the job could never send the reply twice anyway.
    """
    try:
        connector.post_note(ticket.id, notes.public_companion_note(ref, intent, draft.confidence or 0.0, evidence,
                                                                   draft.cited))
    except HelpdeskError as exc:
        audit("companion_note_failed", ref=ref, error=str(exc))


def follows_public_reply(ticket: Ticket, burst: Sequence[Comment]) -> bool:
    """Is the customer answering one of our public replies (the last public comment before their burst)?"""
    if not burst:
        return False
    for comment in reversed(ticket.comments[:ticket.comments.index(burst[0])]):
        if comment.public:
            return comment.author_role == "self"
    return False


def _draft(ticket: Ticket, passages: Sequence[Any], routed: Route, deps: Deps, audit: Callable[..., None]) -> Draft:
    if deps.drafter is None:
        return Draft()
    try:
        made = deps.drafter.draft(ticket, passages, language=routed.language, frustrated=routed.frustrated)
    except MalformedDraft as exc:
        audit("draft_failed", error=str(exc))
        return Draft(problems=("the model's answer was not in the expected shape",))
    by_label = {f"P{n}": p for n, p in enumerate(passages, start=1)}
    cited = [by_label[label] for label in dict.fromkeys(made.cited_labels) if label in by_label]
    invented = [label for label in made.cited_labels if label not in by_label]
    checked = checks.check_reply(made.reply, cited, invented)
    score = conf.score(best_passage_score=passages[0].score if passages else None,
                       min_score=deps.config.knowledge.min_score, cited=len(cited), invented=len(invented),
                       self_report=made.self_confidence, reply_empty=not made.reply,
                       checks_failed=len(checked.problems))
    audit("drafted", model=made.model, prompt_version=prompts.version(), input_tokens=made.input_tokens,
          output_tokens=made.output_tokens, confidence=score, self_confidence=made.self_confidence,
          cited=[p.id for p in cited], invented=invented, problems=list(checked.problems), draft=made.reply)
    # Names the model saw as placeholders go back (this reply stays on the same ticket); any other placeholder
    # ([EMAIL], [CARD]...) cannot be filled by code: the draft stays private and the note says what to fill in.
    posted = Redactor(ticket.people).restore(made.reply)
    left = find_placeholders(posted)
    problems = checked.problems + ((f"the draft contains {', '.join(left)}: fill in before sending",) if left else ())
    return Draft(reply=made.reply or None, confidence=score, cited=cited, problems=problems, posted=posted or None,
                  missing=made.missing_information,
                  model_asks_human=(made.needs_human_reason or "no reason given") if made.needs_human else None)


def _human_signals(routed: Route, config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(reasons to hand the ticket to a human, reasons to keep a draft private); routing only, never the model."""
    needs: list[str] = []
    if routed.intent == "unknown":
        needs.append(next((r for r in routed.reasons if r.startswith("intent unknown")), "intent unknown"))
    if routed.risk_flags:
        needs.append("risk: " + ", ".join(routed.risk_flags))
    elif routed.risky:
        needs.append("a risky intent is likely")
    if routed.wants_human:
        needs.append("the customer asked for a person")
    holds: list[str] = []
    if routed.frustrated:
        why = "customer is frustrated (" + "; ".join(routed.frustration_reasons) + ")"
        (needs if config.routing.frustration == "escalate" else holds).append(why)
    return tuple(needs), tuple(holds)


def needs_human_reasons(draft: Draft, passages: Sequence[Any], config: Config) -> list[str]:
    """Why an agent should look twice at this draft, for the note."""
    reasons = []
    if draft.model_asks_human:
        reasons.append(f"the model asks for a human: {draft.model_asks_human}")
    if not passages or passages[0].score < config.knowledge.min_score:
        reasons.append("no help-center passage matches this question well")
    reasons.extend(draft.problems)
    if draft.confidence is not None and draft.confidence < config.drafting.needs_human_below:
        reasons.append(f"confidence {draft.confidence:.2f} is under {config.drafting.needs_human_below:.2f}")
    return reasons


def reusable_vector(routed: Route, router: Any, config: Config) -> Any:
    """The vector routing embedded the ticket with, when the store's model made it (else retrieval embeds)."""
    if routed.query_vector is not None and getattr(router, "embedding_name", "") == config.knowledge.embedding:
        return routed.query_vector
    return None


def post_failure(event: InboxEvent, deps: Deps, error: str) -> Outcome:
    """After the last retry: tell the agents in the ticket that no draft is coming, exactly once."""
    connector = deps.connectors[event.account]
    ticket = connector.fetch_ticket(event.ticket_id)
    target = next((c for c in reversed(ticket.comments) if c.from_customer), None) if ticket else None
    if ticket is None or target is None:
        return Outcome("ticket_gone")
    ref = draft_ref(ticket, target.id)
    owner = leases.owner_id()
    claim = "posted" if ref in ticket.posted_refs() else \
        deps.state.claim_post(ref, event.account, ticket.id, owner, deps.config.queue.claim_timeout_seconds)
    if claim == "taken_over":  # its dead holder may have posted since the read above
        fresh = connector.fetch_ticket(ticket.id)
        claim = "posted" if fresh is None or ref in fresh.posted_refs() else "claimed"
    if claim != "claimed":
        return Outcome("already_posted", ref)
    try:
        comment_id = connector.post_note(ticket.id, notes.failed_note(ref, event.attempts, error))
    except BaseException:
        deps.state.release_claim(ref, owner)
        raise
    deps.state.confirm_post(ref, owner, "failure_note", comment_id)
    deps.state.log(event.account, event.ticket_id, "posted", event.id, where="internal_note",
                   outcome="failure_note", error=error, ref=ref)
    return Outcome("failure_note", error, comment_id)
