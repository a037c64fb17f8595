"""Replies in the customer's language, through the real pipeline with the gate open on order_status.

Real parts in one process (as tests/test_recovery.py): pipeline.handle with worker.build_deps, the fake Zendesk and
the fake Claude over HTTP on loopback, SQLite state, an embedded Chroma store. The gate is opened the way production
opens it: five accepted reviews under today's prompt, model and knowledge snapshot.
"""
from __future__ import annotations

import pytest

import pipeline
import worker
from deskdraft.settings import parse_config
from tests.conftest import AGENT_EMAIL, ZENDESK_TOKEN, config_text
from tests.e2e.desks import SECRETS
from tests.fakes.claude import FakeClaude
from tests.fakes.server import serve
from tests.fakes.zendesk import FakeZendesk

CUSTOMER, AGENT = 8101, 8102
INTENT = "order_status"
REPLIES = {
    "en": "Orders ship within 2 days and the tracking link arrives by email once the parcel leaves.",
    "de": "Bestellungen werden innerhalb von 2 Tagen versandt. Den Tracking-Link erhalten Sie per E-Mail, sobald "
          "das Paket unterwegs ist.",
    "pl": "Zamówienia wysyłamy w ciągu 2 dni, a link do śledzenia przesyłki przychodzi e-mailem po nadaniu paczki.",
}
KB = {
    "shipping.md": "---\ntitle: Shipping times\nurl: https://help.acme.test/shipping\nlocale: en\n---\n# Shipping\n\n"
                   "Where is my order? Orders ship within 2 days. Tracking links arrive by email once the parcel "
                   "leaves.\n",
    "versand.md": "---\ntitle: Versandzeiten\nurl: https://help.acme.test/de/versand\nlocale: de\n---\n# Versand\n\n"
                  "Wo ist meine Bestellung? Jede Bestellung wird innerhalb von 2 Tagen versandt. Der Tracking-Link "
                  "kommt per E-Mail.\n",
    # A help center with a Polish article, in a deployment with no Polish reply template.
    "wysylka.md": "---\ntitle: Czas wysyłki\nurl: https://help.acme.test/pl/wysylka\nlocale: pl\n---\n# Wysyłka\n\n"
                  "Gdzie jest moje zamówienie? Każde zamówienie wysyłamy w ciągu 2 dni.\n",
}
CONFIG = {
    "defaults": {"override_threshold": 0.5, "min_reviewed": 5, "min_confidence": 0.5},
    "intents": {
        INTENT: {"description": "Where is my order, tracking, delivery dates", "autonomy": "auto_send",
                 "examples": ["Where is my order?", "My parcel has not arrived", "Tracking number please",
                              "Wo ist meine Bestellung?", "Mein Paket ist noch nicht angekommen",
                              "Gdzie jest moje zamówienie?", "Moja paczka jeszcze nie dotarła"]},
        "password_reset": {"description": "Sign-in trouble", "autonomy": "draft",
                           "examples": ["I forgot my password", "I can't log in", "Ich habe mein Passwort vergessen",
                                        "Zapomniałem hasła"]},
    },
    "autonomy": {"knowledge_snapshot": "xlingual"}, "routing": {"min_probability": 0.3},
    "brand": {"name": "Acme"}, "drafting": {"public_link_domains": ["acme.test"]},
}


@pytest.fixture
def stack(tmp_path, monkeypatch):
    for name, value in {**SECRETS, "TEST_ANTHROPIC_KEY": "sk-test"}.items():
        monkeypatch.setenv(name, value)
    zendesk = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN)
    zendesk.add_user(CUSTOMER, "Casey Customer", "end-user")
    zendesk.add_user(AGENT, "Alex Agent", "agent")
    claude = FakeClaude(api_key="sk-test")
    servers = [serve(zendesk.app), serve(claude.app)]
    zendesk.url, claude.url = servers[0].url, servers[1].url
    config = parse_config(config_text(tmp_path / "var", zendesk_url=zendesk.url, claude_url=claude.url, **CONFIG),
                          str(tmp_path / "config.yaml"))
    _ingest(config, tmp_path)
    deps = worker.build_deps(config)
    _open_gate(deps)
    yield deps, zendesk, claude
    for server in servers:
        server.stop()
    deps.drafter.close()
    deps.state.dispose()


def _ingest(config, tmp_path) -> None:
    from knowledge.ingest import ingest_folder
    from knowledge.store import open_store

    folder = tmp_path / "kb"
    folder.mkdir()
    for name, text in KB.items():
        (folder / name).write_text(text, encoding="utf-8")
    with open_store(config.chroma_path, None, config.knowledge.collection, config.knowledge.embedding) as store:
        ingest_folder(store, folder, kind="policy")


def _open_gate(deps) -> None:
    from drafting import prompts
    from knowledge.epoch import knowledge_epoch

    for n in range(5):
        ref = f"zendesk:seed:{n}"
        deps.state.record_draft(ref, "zendesk", f"seed-{n}", INTENT, "note", str(n), 0.9, REPLIES["en"], "en",
                                prompts.version(), deps.drafter.model, knowledge_epoch(deps.config))
        deps.state.record_review(ref, "accepted", 1.0, ())


def answering_in(language: str):
    """A model that writes REPLIES[language] whatever it was asked, citing the first passage."""
    def answer(request: dict) -> dict:
        return {"reply": REPLIES[language], "cited_passage_ids": ["P1"], "missing_information": [],
                "needs_human": False, "needs_human_reason": "", "confidence": 0.95}
    return answer


def run(deps, zendesk, ticket: int):
    event = deps.state.record_event("zendesk", f"d-{ticket}-{len(zendesk.comments(ticket))}", str(ticket),
                                    "customer.replied")
    outcome = pipeline.handle(deps.state.get_event(event), deps)
    posts = [c for c in zendesk.comments(ticket) if str(c["author_id"]) == str(zendesk.agent_user_id)]
    trail = deps.state.audit_trail("zendesk", str(ticket))
    return outcome, posts, trail


def step(trail, name: str) -> dict:
    return next(s for s in trail if s["step"] == name)


def test_a_german_customer_gets_a_german_reply_with_german_disclosure(stack):
    deps, zendesk, claude = stack
    claude.default = answering_in("de")
    zendesk.add_ticket(401, "Bestellung", CUSTOMER, description="Wo ist meine Bestellung? Ich warte schon lange.")
    outcome, posts, trail = run(deps, zendesk, 401)
    assert outcome.kind == "public_reply", [(s["step"], s.get("reasons"), s.get("passages")) for s in trail]
    reply = posts[0]
    assert reply["public"] is True
    assert reply["body"].startswith("Hallo, hier ist Deskdraft Assistant, der KI-Assistent von Acme.")
    assert REPLIES["de"] in reply["body"] and "antworten Sie einfach „Mensch“" in reply["body"]
    assert "AI assistant" not in reply["body"] and 'reply "human"' not in reply["body"]
    prompt = claude.requests[-1]["json"]["messages"][0]["content"]
    assert "<language>German (de)</language>" in prompt


def test_an_english_draft_to_a_german_customer_stays_an_internal_note_saying_why(stack):
    deps, zendesk, claude = stack
    claude.default = answering_in("en")
    zendesk.add_ticket(402, "Bestellung", CUSTOMER, description="Wo ist meine Bestellung? Ich warte schon lange.")
    outcome, posts, trail = run(deps, zendesk, 402)
    assert outcome.kind == "posted_note" and [p["public"] for p in posts] == [False]
    assert "reply is in en, the customer wrote in de" in posts[0]["body"]
    assert "reply is in en, the customer wrote in de" in step(trail, "output_guard")["reasons"]


def test_the_latest_message_decides_the_language_not_the_first(stack):
    deps, zendesk, claude = stack
    for ticket, model in ((403, "en"), (405, "de")):
        zendesk.add_ticket(ticket, "Order", CUSTOMER, description="Hello, where is my order? It has been a week.")
        zendesk.add_comment(ticket, AGENT, "We are checking with the warehouse.")
        zendesk.add_comment(ticket, CUSTOMER, "Mein Paket ist noch nicht angekommen, wo ist meine Bestellung?")
        claude.default = answering_in(model)
        outcome, posts, trail = run(deps, zendesk, ticket)
        assert step(trail, "routed")["language"] == "de"
        if model == "en":  # the first message's language: wrong now
            assert outcome.kind == "posted_note" and "the customer wrote in de" in posts[-1]["body"]
        else:
            assert outcome.kind == "public_reply", [(s["step"], s.get("reasons")) for s in trail][-4:]
            assert posts[0]["public"] and "KI-Assistent" in posts[0]["body"]


def test_a_language_without_templates_is_never_public(stack):
    deps, zendesk, claude = stack
    claude.default = answering_in("pl")  # the right language, but there is no Polish disclosure to add
    zendesk.add_ticket(404, "Zamówienie", CUSTOMER, description="Gdzie jest moje zamówienie? Czekam już tydzień.")
    outcome, posts, trail = run(deps, zendesk, 404)
    assert step(trail, "routed")["language"] == "pl"
    assert outcome.kind == "posted_note" and [p["public"] for p in posts] == [False]
    assert "no public reply template in the customer's language (pl)" in posts[0]["body"], posts[0]["body"]
