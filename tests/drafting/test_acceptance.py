"""Honest evidence: a public reply is accepted only on a positive signal."""
from connectors.base import Comment, Ticket
from deskdraft.state import DraftRecord
from drafting import acceptance, overrides
from drafting.review import judge

DAY = 86400


def _c(id_, role, body, public=True):
    return Comment(id_, id_, role, body, public, False, "2026-11-30T10:00:00Z")


def _ticket(*later, status="open"):
    return Ticket("zendesk", "9", "Login", status, "c", "u", (
        _c("1", "customer", "I forgot my password, how do I reset it?"),
        _c("2", "self", "Hi, I'm the assistant. Use the Forgot password link."),
        _c("3", "self", "[deskdraft] Sent to the customer automatically\ndeskdraft-ref: zendesk:9:1", public=False),
        *later))


REPLY = DraftRecord("zendesk:9:1", "zendesk", "9", "password_reset", "reply", "2", 0.9, "Use the link.", "en",
                    None, created_at=1000.0)


def outcome(ticket, now=1000.0 + 60, days=7):
    review = judge(ticket, REPLY, now, days)
    return None if review is None else (review.outcome, review.overridden)


def test_silence_is_not_acceptance():
    assert outcome(_ticket()) is None
    assert outcome(_ticket(), now=1000.0 + 30 * DAY) is None  # still open: nobody said anything


def test_a_solved_ticket_accepts_only_after_the_configured_days():
    assert outcome(_ticket(status="solved"), now=1000.0 + 6 * DAY) is None
    assert outcome(_ticket(status="solved"), now=1000.0 + 7 * DAY) == (overrides.ACCEPTED, False)
    assert outcome(_ticket(status="solved"), now=1000.0 + 2 * DAY, days=1) == (overrides.ACCEPTED, False)


def test_the_customer_confirming_accepts():
    for text in ("Thanks, that worked!", "Danke, hat geklappt", "Merci, ça marche", "Gracias, ya funciona",
                 "Tack, det fungerar nu"):
        assert outcome(_ticket(_c("4", "customer", text))) == (overrides.ACCEPTED, False), text


def test_follow_ups_that_say_it_failed_are_overrides():
    for text in ("human", "Mensch", "I still can't log in, this is useless", "that didn't help, human please",
                 "I forgot my password, how do I reset it???"):
        assert outcome(_ticket(_c("4", "customer", text))) == (overrides.DISCARDED, True), text


def test_a_thanks_with_a_but_or_a_new_question_is_not_yet_known():
    for text in ("Thanks, but it still does not work", "Thanks. And how do I change my email address?"):
        assert outcome(_ticket(_c("4", "customer", text))) is None, text


def test_an_agent_stepping_in_is_an_override():
    assert outcome(_ticket(_c("4", "agent", "Let me help you with this instead."))) == (overrides.REWRITTEN, True)


def test_confirms_is_strict():
    assert acceptance.confirms("Perfect, thank you")
    assert not acceptance.confirms("thank you, but no")
    assert not acceptance.confirms("Thanks? It does not work")
