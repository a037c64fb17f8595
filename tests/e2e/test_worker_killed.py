"""SIGKILL the worker while it waits on the model: the inbox sweep finishes the job, with exactly one note."""
from __future__ import annotations

import time

import pytest

from tests.e2e.desks import DESKS
from tests.e2e.harness import Stack, wait_for
from tests.e2e.test_spine import CUSTOMER, redis_url


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_killed_worker_ends_with_exactly_one_note(broker, tmp_path):
    stack = Stack(tmp_path, broker_url=redis_url() if broker == "redis" else None).start()
    try:
        stack.desk.add_people(CUSTOMER, 5002)
        stack.desk.open_ticket(201, CUSTOMER, "Refund", "Where is my refund?")
        stack.claude.hold(60)
        assert stack.deliver(201, "inv-201").status_code == 202
        assert stack.claude.wait_for_requests(1, timeout=60), "the worker never called the model"
        stack.kill_worker()
        stack.claude.release()  # the held answer goes to a dead socket
        assert stack.notes(201) == []

        stack.start_worker()
        wait_for(lambda: stack.notes(201), timeout=90, what="the note after the restart")
        wait_for(stack.inbox_settled, timeout=30, what="the inbox to settle")
        time.sleep(3)  # room for a late redelivery or sweep to (wrongly) post again
        assert len(stack.notes(201)) == 1
        steps = [s["step"] for s in stack.state.audit_trail("zendesk", "201")]
        assert "requeued" in steps and steps.count("posted") == 1
    finally:
        stack.stop()


# The gate open on one intent (seeded reviews, as production earns them) so the job ends in a public reply.
PUBLIC_CONFIG = {"defaults": {"override_threshold": 0.5, "min_reviewed": 5, "min_confidence": 0.5},
                 "intents": {"refund_status": {"description": "Refunds", "autonomy": "auto_send",
                                               "examples": ["Where is my refund?", "When will I get my money back?",
                                                            "Refund status please", "Has my refund been paid?"]},
                             "password_reset": {"description": "Passwords", "autonomy": "draft",
                                                "examples": ["I forgot my password", "I can't log in"]}},
                 "autonomy": {"knowledge_snapshot": "killed"}, "routing": {"min_probability": 0.3},
                 "brand": {"name": "Acme"}}


def _open_gate(stack: Stack, intent: str) -> None:
    from drafting import prompts

    for n in range(5):
        ref = f"zendesk:seed:{n}"
        stack.state.record_draft(ref, "zendesk", f"seed-{n}", intent, "note", str(n), 0.9, "seed", "en",
                                 prompts.version(), "claude-test-model", "killed")
        stack.state.record_review(ref, "accepted", 1.0, ())


def test_killed_worker_with_the_gate_open_ends_with_exactly_one_public_reply(tmp_path):
    """Exactly-once without a visible ref: the claim, the reply being the ticket's latest update, and the ref in the
    internal companion note. Killed mid-job, redelivered twice, triggered again by our own posts: one reply."""
    stack = Stack(tmp_path, extra_config=PUBLIC_CONFIG, kb_kinds={"refunds.md": "policy"}).start()
    try:
        _open_gate(stack, "refund_status")
        stack.desk.add_people(CUSTOMER, 5002)
        stack.desk.open_ticket(211, CUSTOMER, "Refund", "Where is my refund? When will I get my money back?")
        stack.claude.hold(60)
        assert stack.deliver(211, "inv-211").status_code == 202
        assert stack.claude.wait_for_requests(1, timeout=60), "the worker never called the model"
        stack.kill_worker()
        stack.claude.release()
        assert stack.notes(211) == []

        stack.start_worker()
        assert stack.deliver(211, "inv-211").json()["status"] == "duplicate"
        assert stack.deliver(211, "inv-211-second-rule").status_code == 202
        wait_for(lambda: len(stack.notes(211)) == 2, timeout=90, what="the reply and its companion note")
        wait_for(stack.inbox_settled, timeout=30, what="the inbox to settle")
        assert stack.deliver(211, "inv-211-our-own-reply").status_code == 202  # the trigger fires on our posts
        wait_for(stack.inbox_settled, timeout=30, what="the inbox to settle")
        time.sleep(3)  # room for a late redelivery or sweep to (wrongly) post again
        posts = stack.notes(211)
        assert [p.public for p in posts] == [True, False], posts
        assert "deskdraft-ref" not in posts[0].body and "5 business days" in posts[0].body
        assert "deskdraft-ref: zendesk:211:" in posts[1].body
        steps = [s["step"] for s in stack.state.audit_trail("zendesk", "211")]
        assert "requeued" in steps and steps.count("posted") == 1
    finally:
        stack.stop()


@pytest.mark.parametrize("desk", ["intercom", "freshdesk"])
def test_public_reply_once_and_ref_hidden_on_every_helpdesk(desk, tmp_path):
    """The same guarantees through the other connectors: repeated deliveries and our own posts re-firing the
    webhook end in one public reply with no ref, and one internal companion note with it."""
    stack = Stack(tmp_path, desk=DESKS[desk](), extra_config=PUBLIC_CONFIG, kb_kinds={"refunds.md": "policy"}).start()
    try:
        _open_gate(stack, "refund_status")
        stack.desk.add_people(CUSTOMER, 5002)
        stack.desk.open_ticket(221, CUSTOMER, "Refund", "Where is my refund? When will I get my money back?")
        assert stack.deliver(221, "d-221").status_code == 202
        assert stack.deliver(221, "d-221-second-rule").status_code == 202
        wait_for(lambda: len(stack.notes(221)) == 2, timeout=90, what="the reply and its companion note")
        wait_for(stack.inbox_settled, timeout=30, what="the inbox to settle")
        stack.deliver(221, "d-221-our-own-posts")
        wait_for(stack.inbox_settled, timeout=30, what="the inbox to settle")
        time.sleep(2)
        posts = stack.notes(221)
        assert [p.public for p in posts] == [True, False], posts
        assert "deskdraft-ref" not in posts[0].body and "AI assistant" in posts[0].body
        assert f"deskdraft-ref: {desk}:221:" in posts[1].body
    finally:
        stack.stop()
