"""Note templates: what we write into the helpdesk ourselves carries no card number (PCI DSS, issue #15)."""
from types import SimpleNamespace

from drafting import notes


def test_a_handoff_note_copies_what_the_customer_said_without_their_card_or_iban():
    route = SimpleNamespace(intent="payment_dispute", probability=0.9, sentiment="negative", frustrated=False,
                            frustration_reasons=(), language="en")
    body = notes.handoff_note("zendesk:1:2", ["risk: chargeback"], route, 0.4,
                              ["I was charged twice on 4111 1111 1111 1111, order 4500012345.",
                               "Refund to DE89 3704 0044 0532 0130 00 please"], None, [])
    assert "4111 1111 1111 1111" not in body and "[CARD ending 1111]" in body
    assert "DE89" not in body and "[IBAN]" in body
    assert "order 4500012345" in body  # what the agent needs stays
