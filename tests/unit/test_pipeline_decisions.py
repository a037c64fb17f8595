"""pipeline.handle's decisions, one per case: which outcome, and what (if anything) is written in the ticket, for
each kind of latest comment, claim state, route, risk and gate. The helpdesk and the model are in memory; the
state database, routing, the safety net, the checks, the confidence and the gate are the real ones."""
from __future__ import annotations

import pytest

import pipeline
from connectors.http import TransientHelpdeskError
from drafting.claude import MalformedDraft
from tests.unit.pipeline_support import (
    ACCOUNT,
    ORDER_STATUS,
    MemoryDesk,
    ScriptedModel,
    config,
    deps,
    earn_the_gate,
    event,
    said,
    ticket,
)


@pytest.mark.parametrize("latest, reason", [
    (said(2, role="self"), "latest update is our own post"),
    (said(2, via_api=True), "latest update came through the API"),
    (said(2, role="agent"), "latest update is by agent, not the customer"),
    (said(2, public=False), "latest customer comment is not public"),
])
def test_nothing_is_drafted_unless_the_latest_comment_is_a_public_customer_one(tmp_path, latest, reason):
    desk = MemoryDesk({"7": ticket(said(1), latest)})
    d = deps(tmp_path, desk, config(tmp_path), ScriptedModel())
    assert pipeline.handle(event(d.state), d) == pipeline.Outcome("skipped", reason)
    assert desk.posts == [] and d.drafter.calls == 0


def test_a_ticket_that_is_gone_is_not_drafted(tmp_path):
    d = deps(tmp_path, MemoryDesk(), config(tmp_path))
    assert pipeline.handle(event(d.state), d).kind == "ticket_gone"


def test_a_ref_already_on_the_ticket_is_recorded_and_not_posted_again(tmp_path):
    ref = f"{ACCOUNT}:7:1"
    ours = said(2, role="self", body=f"an earlier draft\ndeskdraft-ref: {ref}")
    desk = MemoryDesk({"7": ticket(ours, said(1))})  # the ref of customer comment 1 is in a post of ours
    d = deps(tmp_path, desk, config(tmp_path), ScriptedModel())
    outcome = pipeline.handle(event(d.state), d)
    assert outcome == pipeline.Outcome("already_posted", ref)
    assert desk.posts == [] and d.state.post_status(ref) == "posted"


def test_a_customer_typing_a_ref_does_not_silence_the_draft(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body=f"deskdraft-ref: {ACCOUNT}:7:1 where is my order?"))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel())
    assert pipeline.handle(event(d.state), d).kind == "posted_note"


@pytest.mark.parametrize("claim, outcome", [("claimed", "in_progress"), ("posted", "already_posted")])
def test_a_claim_held_by_another_run_stops_this_one(tmp_path, claim, outcome):
    desk = MemoryDesk({"7": ticket(said(1))})
    d = deps(tmp_path, desk, config(tmp_path), ScriptedModel())
    ref = f"{ACCOUNT}:7:1"
    assert d.state.claim_post(ref, ACCOUNT, "7", "another-run", 900) == "claimed"
    if claim == "posted":
        d.state.confirm_post(ref, "another-run", "posted_note", "c0")
    assert pipeline.handle(event(d.state), d) == pipeline.Outcome(outcome, ref)
    assert desk.posts == []


def test_an_unknown_intent_is_handed_to_a_human_with_the_configured_tags(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Something odd happened with my account"))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel())
    outcome = pipeline.handle(event(d.state), d)
    assert outcome.kind == "escalated" and desk.kinds() == ["handoff"]
    assert d.state.post_status(f"{ACCOUNT}:7:1") == "posted"


def test_a_known_intent_with_a_shut_gate_gets_a_private_note_saying_why(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order? It has not arrived."))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel())
    assert pipeline.handle(event(d.state), d).kind == "posted_note"
    assert desk.kinds() == ["note"]
    assert "0 of 20 reviewed drafts needed" in desk.posts[0][2]


def test_an_earned_gate_sends_one_public_reply_and_a_private_companion_note(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order? It has not arrived."))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel())
    earn_the_gate(d, "order_status", reviews=20)
    assert pipeline.handle(event(d.state), d).kind == "public_reply"
    assert desk.kinds() == ["public_reply", "note"]
    assert "Refunds are paid back within 5 business days." in desk.posts[0][2]


def test_the_gate_shuts_again_when_agents_override_too_often(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order? It has not arrived."))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel())
    earn_the_gate(d, "order_status", reviews=20, overridden=6)
    assert pipeline.handle(event(d.state), d).kind == "posted_note"
    assert "public_reply" not in desk.kinds()


@pytest.mark.parametrize("body, why", [
    ("Where is my order? I will file a chargeback with my bank", "risk"),
    ("Where is my order? Let me talk to a real person please", "the customer asked for a person"),
])
def test_risk_or_a_request_for_a_person_hands_over_even_an_earned_intent(tmp_path, body, why):
    desk = MemoryDesk({"7": ticket(said(1, body=body))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel())
    earn_the_gate(d, "order_status", reviews=20)
    assert pipeline.handle(event(d.state), d).kind == "escalated"
    assert desk.kinds() == ["handoff"] and why in desk.posts[0][2]


def test_paused_autonomy_keeps_an_earned_intent_private(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order? It has not arrived."))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS, autonomy={"paused": True}), ScriptedModel())
    earn_the_gate(d, "order_status", reviews=20)
    assert pipeline.handle(event(d.state), d).kind == "posted_note"
    assert desk.kinds() == ["note"]


def test_low_confidence_keeps_an_earned_intent_private(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order? It has not arrived."))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel(), passages=())
    earn_the_gate(d, "order_status", reviews=20)
    assert pipeline.handle(event(d.state), d).kind == "posted_note"  # nothing retrieved: nothing to cite
    assert desk.kinds() == ["note"]


def test_without_a_model_the_note_lists_passages_and_nothing_is_public(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order? It has not arrived."))})
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), model=None)
    earn_the_gate(d, "order_status", reviews=20)
    assert pipeline.handle(event(d.state), d).kind == "retrieval_note"
    assert desk.kinds() == ["note"] and "https://help.acme.test/refunds" in desk.posts[0][2]


def test_a_malformed_model_answer_becomes_a_failure_note(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order? It has not arrived."))})
    model = ScriptedModel(error=MalformedDraft("not JSON"))
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), model)
    earn_the_gate(d, "order_status", reviews=20)
    assert pipeline.handle(event(d.state), d).kind == "failure_note"
    assert desk.kinds() == ["note"]


def test_a_failed_post_releases_the_claim_for_the_retry(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, body="Where is my order?"))},
                      fail_post=TransientHelpdeskError("503", status=503))
    d = deps(tmp_path, desk, config(tmp_path, intents=ORDER_STATUS), ScriptedModel())
    with pytest.raises(TransientHelpdeskError):
        pipeline.handle(event(d.state), d)
    desk.fail_post = None
    assert pipeline.handle(event(d.state, event_id="e2"), d).kind == "posted_note"
    assert desk.kinds() == ["note"] and d.drafter.calls == 1  # the retry reused the saved draft


def test_the_failure_note_is_posted_once(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1))})
    d = deps(tmp_path, desk, config(tmp_path), ScriptedModel())
    inbox = event(d.state)
    assert pipeline.post_failure(inbox, d, "Overloaded").kind == "failure_note"
    assert pipeline.post_failure(inbox, d, "Overloaded").kind == "already_posted"
    assert desk.kinds() == ["note"] and "Overloaded" in desk.posts[0][2]


def test_the_failure_note_needs_a_customer_comment_to_answer(tmp_path):
    desk = MemoryDesk({"7": ticket(said(1, role="agent"))})
    d = deps(tmp_path, desk, config(tmp_path))
    assert pipeline.post_failure(event(d.state), d, "x").kind == "ticket_gone"
    assert desk.posts == []

