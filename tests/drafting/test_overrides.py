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
