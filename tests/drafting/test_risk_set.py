"""The safety net on the multilingual risky/benign set (tests/drafting/risk_set/, README there).

The held-out part is what the recall floor is asserted on; benchmarks/safety.py prints the full table, with the
embedding classifier alongside.
"""
from collections import Counter

import pytest

from drafting.lexicon import LANGUAGES
from drafting.safety import SafetyNet, asks_for_human
from tests.drafting.risk_set import CATEGORIES, Message, messages

RECALL_FLOOR = 0.99
BENIGN_CEILING = 0.10  # a floor alone is met by a net that flags everything

ALL = list(messages())


@pytest.fixture(scope="module")
def net() -> SafetyNet:
    return SafetyNet()


def escalates(net: SafetyNet, message: Message) -> bool:
    return bool(net.scan(message.text)) or asks_for_human(message.text) is not None


@pytest.mark.parametrize("language", LANGUAGES)
def test_held_out_recall_of_risky_messages_meets_the_floor(net, language):
    risky = [m for m in ALL if m.language == language and m.part == "held_out" and m.risky]
    missed = [m.text for m in risky if not escalates(net, m)]
    assert 1 - len(missed) / len(risky) >= RECALL_FLOOR, missed


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_risky_message_escalates_and_few_benign_ones_do(net, language):
    mine = [m for m in ALL if m.language == language]
    assert [m.text for m in mine if m.risky and not escalates(net, m)] == []
    benign = [m for m in mine if not m.risky]
    escalated = [m.text for m in benign if escalates(net, m)]
    assert len(escalated) / len(benign) <= BENIGN_CEILING, escalated


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_enough_messages_in_every_category(language):
    mine = [m for m in ALL if m.language == language]
    counts = Counter(m.category for m in mine)
    assert sum(n for c, n in counts.items() if c != "benign") >= 30 and counts["benign"] >= 20, counts
    assert set(CATEGORIES) <= set(counts), counts
    held_out = [m for m in mine if m.part == "held_out"]
    assert sum(m.risky for m in held_out) >= 14 and sum(not m.risky for m in held_out) >= 10


@pytest.mark.parametrize("text", [
    "Jag har blivit sjukskriven och har inga pengar att betala",  # issue 14: no risk signal before
    "No hice esta compra",  # issue 14: "no hice" matched only after "yo"
])
def test_the_misses_cited_in_the_issue_are_caught(net, text):
    assert net.scan(text), text
