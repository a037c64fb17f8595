import pytest

from drafting.overrides import ACCEPTED, DISCARDED, LIGHT_EDIT, REWRITTEN, classify, similarity

DRAFT = ("Thanks for reaching out. Your refund reaches your card within 5 business days of us receiving "
         "the item. You can follow it under Orders in your account.")


@pytest.mark.parametrize("sent, outcome", [
    (DRAFT, ACCEPTED),
    (DRAFT.replace("Thanks for reaching out.", "Hi Casey, thanks for reaching out!"), ACCEPTED),
    (DRAFT.replace("You can follow it under Orders in your account.", "Let me know if it does not arrive."),
     LIGHT_EDIT),
    ("Hi Casey, your refund was issued today. It usually reaches the card within 5 business days; "
     "check Orders in your account.", REWRITTEN),
    ("I have escalated this to our billing team, who will contact you tomorrow.", DISCARDED),
])
def test_outcome_bands(sent, outcome):
    review = classify(DRAFT, sent)
    assert review.outcome == outcome, review
    assert review.overridden == (outcome in (REWRITTEN, DISCARDED))


def test_what_changed_is_named():
    review = classify(DRAFT, "We are so sorry. Refunds take 10 business days, see https://acme.test/refunds "
                             "for the full policy and the steps to request one from your account page today.")
    assert {"facts", "tone"} <= set(review.changes)
    assert "language" in classify(DRAFT, "Ihre Erstattung kommt in 5 Werktagen.", "en", "de").changes


def test_similarity_ignores_case_and_punctuation():
    assert similarity("Hello, World!", "hello world") == 1.0
    assert similarity("", "") == 1.0


def test_a_draft_stored_with_the_name_placeholder_is_compared_with_the_name_the_agent_sent():
    from connectors.base import Comment, Person, Ticket
    from deskdraft.state import DraftRecord
    from drafting.review import judge

    short = "Hi [CUSTOMER_NAME], your refund is on its way."
    ours = Comment("2", "9", "self", "note", False, False, "t2")
    sent = Comment("3", "8", "agent", "Hi Casey Customer, your refund is on its way.", True, False, "t3")
    ticket = Ticket("zendesk", "1", "Refund", "open", "7", "u", (ours, sent),
                    people=(Person("Casey Customer", None, "customer"),))
    draft = DraftRecord("zendesk:1:1", "zendesk", "1", "refund", "note", "2", 0.9, short, "en", None, 0.0)
    assert judge(ticket, draft).outcome == ACCEPTED  # unchanged but for the name, which the model could not know
