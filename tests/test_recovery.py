"""A true record and no second model call: posts whose answer was lost are found by ref and recorded, finished
drafts are reused by the retry, handoffs get their tags and group on a retry, duplicates cost one ticket read.

Real parts in one process: the fake helpdesks and the fake Claude speak HTTP on loopback, the state is SQLite,
the knowledge store embedded Chroma. pipeline.handle is called as worker.process_event would.
"""
from __future__ import annotations

import pytest

import pipeline
import worker
from connectors import TransientHelpdeskError
from deskdraft.settings import parse_config
from tests.conftest import AGENT_EMAIL, ZENDESK_TOKEN, config_text
from tests.e2e.desks import SECRETS, IntercomDesk
from tests.e2e.harness import good_draft
from tests.fakes.claude import FakeClaude
from tests.fakes.server import serve
from tests.fakes.zendesk import FakeZendesk

CUSTOMER, AGENT = 8001, 8002


@pytest.fixture
def env(monkeypatch):
    for name, value in {**SECRETS, "TEST_ANTHROPIC_KEY": "sk-test"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def claude():
    fake = FakeClaude(api_key="sk-test", default=good_draft)
    server = serve(fake.app)
    fake.url = server.url
    yield fake
    server.stop()


@pytest.fixture
def zendesk():
    fake = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN)
    fake.add_user(CUSTOMER, "Casey Customer", "end-user")
    fake.add_user(AGENT, "Alex Agent", "agent")
    server = serve(fake.app)
    fake.url = server.url
    yield fake
    server.stop()


def build(tmp_path, claude, helpdesks, **sections):
    config = parse_config(config_text(tmp_path / "var", claude_url=claude.url, only_helpdesks=helpdesks,
                                      **sections), str(tmp_path / "config.yaml"))
    return worker.build_deps(config)


def zendesk_account(url):
    return {"zendesk": {"type": "zendesk", "base_url": url, "email": AGENT_EMAIL, "api_token_env": "TEST_ZENDESK_TOKEN",
                        "webhook_secret_env": "TEST_ZENDESK_SECRET", "max_attempts": 3}}


def run(deps, account, ticket, delivery):
    """One delivery, run like worker.process_event: transient errors come back as retries of the same event."""
    inbox_id = deps.state.record_event(account, delivery, str(ticket), "customer.replied")
    return inbox_id, attempt(deps, inbox_id)


def attempt(deps, inbox_id):
    deps.state.start_attempt(inbox_id)
    try:
        return pipeline.handle(deps.state.get_event(inbox_id), deps)
    except TransientHelpdeskError as exc:
        return exc


def ours(zendesk, ticket):
    return [c for c in zendesk.comments(ticket) if str(c["author_id"]) == str(zendesk.agent_user_id)]


def test_every_post_whose_answer_is_lost_is_recorded_once_without_a_second_model_call(tmp_path, env, claude,
                                                                                       zendesk):
    deps = build(tmp_path, claude, zendesk_account(zendesk.url))
    tickets = range(101, 111)
    for ticket in tickets:
        zendesk.add_ticket(ticket, "Refund", CUSTOMER, description="When will my refund arrive?")
        zendesk.lose_answer_next(f"/tickets/{ticket}.json")  # every post is written, every answer lost

    for ticket in tickets:
        inbox_id, first = run(deps, "zendesk", ticket, f"d-{ticket}")
        assert isinstance(first, TransientHelpdeskError)  # the run does not know its post landed
        assert deps.state.unreviewed_drafts("zendesk", str(ticket)) == []
        second = attempt(deps, inbox_id)  # the retry finds its own post by ref
        assert second.kind == "skipped"  # nothing posted again...
        assert len(ours(zendesk, ticket)) == 1

    # ...and everything recorded as if the answer had come: drafts (the report's source), audit, posts.
    drafts = deps.state.drafts_between(0, 1e12)
    assert sorted(d.ticket_id for d in drafts) == [str(t) for t in tickets]
    for ticket in tickets:
        posted = [s for s in deps.state.audit_trail("zendesk", str(ticket)) if s["step"] == "posted"]
        assert len(posted) == 1 and posted[0]["recovered"] is True
        assert posted[0]["comment_id"] == str(ours(zendesk, ticket)[0]["id"])
        ref = f"zendesk:{ticket}:{zendesk.comments(ticket)[0]['id']}"
        assert deps.state.post_status(ref) == "posted"
    summary = {(r["action"], r["count"]) for r in deps.state.draft_summary(0)}
    assert sum(count for _, count in summary) == len(tickets)
    assert len(claude.requests) == len(tickets)  # one model call per ticket


def test_a_post_that_failed_is_retried_with_the_kept_draft(tmp_path, env, claude, zendesk):
    deps = build(tmp_path, claude, zendesk_account(zendesk.url))
    zendesk.add_ticket(201, "Refund", CUSTOMER, description="When will my refund arrive?")
    # Refused before anything was written, on every attempt the connector makes.
    zendesk.fail_next(503, times=3, path_contains="/tickets/201.json", method="PUT")
    inbox_id, first = run(deps, "zendesk", 201, "d-201")
    assert isinstance(first, TransientHelpdeskError) and ours(zendesk, 201) == []
    second = attempt(deps, inbox_id)
    assert second.kind in ("posted_note", "escalated") and len(ours(zendesk, 201)) == 1
    assert len(claude.requests) == 1  # the retry posted the kept draft
    steps = [s["step"] for s in deps.state.audit_trail("zendesk", "201")]
    assert "draft_reused" in steps and steps.count("posted") == 1


def test_a_changed_ticket_gets_a_new_draft(tmp_path, env, claude, zendesk):
    deps = build(tmp_path, claude, zendesk_account(zendesk.url))
    zendesk.add_ticket(301, "Refund", CUSTOMER, description="When will my refund arrive?")
    zendesk.fail_next(503, times=3, path_contains="/tickets/301.json", method="PUT")
    inbox_id, _ = run(deps, "zendesk", 301, "d-301")
    zendesk.add_comment(301, CUSTOMER, "Also, can I change the card?", public=True)  # a new customer message
    assert attempt(deps, inbox_id).kind in ("posted_note", "escalated")
    assert len(claude.requests) == 2 and "change the card" in str(claude.requests[-1]["json"])


def test_a_handoff_whose_tags_failed_is_completed_by_the_retry(tmp_path, env, claude):
    desk = IntercomDesk()
    desk.add_people(CUSTOMER, AGENT)
    desk.fake.add_team("42", "Disputes")
    server = serve(desk.fake.app)
    try:
        # No intents are configured: every ticket is "unknown", a handoff to a human with tags and a team.
        deps = build(tmp_path, claude, {"intercom": desk.account(server.url)},
                     routing={"escalation_tags": ["needs-human"], "escalation_group": "42"})
        desk.open_ticket(401, CUSTOMER, "Dispute", "I want to dispute this charge")
        desk.fake.fail_next(500, times=3, path_contains="/tags")  # after the note, every attempt at the tags
        inbox_id, first = run(deps, "intercom", 401, "d-401")
        assert isinstance(first, TransientHelpdeskError)
        assert len([p for p in desk.posts(401) if p.body]) == 1 and not desk.fake.conversation(401)["tags"]["tags"]

        second = attempt(deps, inbox_id)
        assert second.kind == "skipped"  # "latest update is our own post": but only after finishing the handoff
        conversation = desk.fake.conversation(401)
        assert [t["name"] for t in conversation["tags"]["tags"]] == ["needs-human"]
        assert str(conversation["team_assignee_id"]) == "42"
        notes = [p for p in desk.posts(401) if p.body]  # the assignment is a part without a body
        assert len(notes) == 1 and len(claude.requests) == 1
        assert "intent unknown: intent unknown" not in notes[0].body
        steps = [s["step"] for s in deps.state.audit_trail("intercom", "401")]
        assert steps.count("posted") == 1 and steps.count("handoff_routed") == 1
        assert deps.state.pending_posts("intercom", "401") == []
    finally:
        server.stop()


def test_a_duplicate_delivery_costs_one_ticket_read(tmp_path, env, claude, zendesk):
    deps = build(tmp_path, claude, zendesk_account(zendesk.url))
    zendesk.add_ticket(501, "Refund", CUSTOMER, description="When will my refund arrive?")
    ref = f"zendesk:501:{zendesk.comments(501)[0]['id']}"
    assert deps.state.claim_post(ref, "zendesk", "501", "first-run", 600) == "claimed"  # busy drafting
    worker._config, worker._deps, worker._live = deps.config, deps, None
    try:
        ids = [deps.state.record_event("zendesk", f"storm-{n}", "501", "customer.replied") for n in range(20)]
        before = len(zendesk.requests)
        results = [worker.process_event.run(inbox_id) for inbox_id in ids]
        reads = [r for r in zendesk.requests[before:] if r[0] == "GET" and r[1].endswith("/tickets/501.json")]
        assert results == ["duplicate"] * 20 and len(reads) == 20
        assert worker.sweep_inbox.run() == 0  # finished: nothing for the sweep to read again
    finally:
        worker._config = worker._deps = None


def test_a_missing_knowledge_store_is_said_in_the_note(tmp_path, env, claude, zendesk):
    docs = tmp_path / "docs"
    docs.mkdir()
    deps = build(tmp_path, claude, zendesk_account(zendesk.url),
                 knowledge={"sources": [{"type": "folder", "path": str(docs), "kind": "article"}]})
    zendesk.add_ticket(601, "Refund", CUSTOMER, description="When will my refund arrive?")
    run(deps, "zendesk", 601, "d-601")
    [note] = ours(zendesk, 601)
    assert "knowledge store" in note["body"] and "is empty" in note["body"] and "knowledge sync" in note["body"]


def test_a_run_whose_claim_was_taken_over_while_it_drafted_does_not_post(tmp_path, env, claude, zendesk):
    """A run frozen past its lease (a paused VM: no heartbeat either): another run takes the claim over; only that
    one may post."""
    from sqlalchemy import update

    from deskdraft.state import posts

    deps = build(tmp_path, claude, zendesk_account(zendesk.url))
    zendesk.add_ticket(701, "Refund", CUSTOMER, description="When will my refund arrive?")
    ref = f"zendesk:701:{zendesk.comments(701)[0]['id']}"

    def slow_model(request):  # while this run waits on the model, its lease runs out and is taken over
        with deps.state.engine.begin() as conn:
            conn.execute(update(posts).where(posts.c.draft_ref == ref).values(lease_until=0))
        assert deps.state.claim_post(ref, "zendesk", "701", "taker", 60) == "taken_over"
        return good_draft(request)

    claude.default = slow_model
    _, outcome = run(deps, "zendesk", 701, "d-701")
    assert outcome.kind == "in_progress" and ours(zendesk, 701) == []
    assert deps.state.post_status(ref) == "claimed" and deps.state.claim_owner(ref) == "taker"  # left alone


def test_a_live_run_slower_than_its_lease_keeps_its_claim(tmp_path, env, claude, zendesk):
    """The heartbeat: a model call three leases long; another run asking meanwhile finds the claim busy, and the
    slow run posts once."""
    deps = build(tmp_path, claude, zendesk_account(zendesk.url), queue={"claim_timeout_seconds": 1})
    zendesk.add_ticket(702, "Refund", CUSTOMER, description="When will my refund arrive?")
    ref = f"zendesk:702:{zendesk.comments(702)[0]['id']}"
    seen = []

    def slow_model(request):
        import time

        time.sleep(3.0)
        seen.append(deps.state.claim_post(ref, "zendesk", "702", "other-run", 1))
        return good_draft(request)

    claude.default = slow_model
    _, outcome = run(deps, "zendesk", 702, "d-702")
    assert seen == ["busy"]
    assert outcome.kind == "escalated" and len(ours(zendesk, 702)) == 1  # no intents configured: a handoff
    assert deps.state.post_status(ref) == "posted"


def test_a_taken_over_claim_whose_dead_holder_posted_is_recorded_not_posted_again(tmp_path, env, claude, zendesk):
    """The dead run posted after our first read of the ticket: the taker reads it again and records that post."""
    from sqlalchemy import update

    from deskdraft.state import posts

    deps = build(tmp_path, claude, zendesk_account(zendesk.url))
    zendesk.add_ticket(703, "Refund", CUSTOMER, description="When will my refund arrive?")
    ref = f"zendesk:703:{zendesk.comments(703)[0]['id']}"
    _, first = run(deps, "zendesk", 703, "d-703")
    assert first.kind == "escalated"  # no intents configured: a handoff note, posted once
    with deps.state.engine.begin() as conn:  # as if the run had died right after its post, before recording it
        conn.execute(update(posts).where(posts.c.draft_ref == ref).values(status="claimed", owner="dead",
                                                                            lease_until=0))
    original_fetch = deps.connectors["zendesk"].fetch_ticket
    calls = []

    def fetch_without_our_post(ticket_id):  # the first read predates the dead run's post
        ticket = original_fetch(ticket_id)
        calls.append(ticket_id)
        if len(calls) == 1:
            from dataclasses import replace
            return replace(ticket, comments=tuple(c for c in ticket.comments if c.author_role != "self"))
        return ticket

    deps.connectors["zendesk"].fetch_ticket = fetch_without_our_post
    _, outcome = run(deps, "zendesk", 703, "d-703-again")
    assert outcome.kind == "already_posted" and len(ours(zendesk, 703)) == 1
    assert deps.state.post_status(ref) == "posted"
