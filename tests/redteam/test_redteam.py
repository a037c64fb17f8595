"""Issue 9's red-team suite: the corpus through the real pipeline, gate open on the intent under attack."""
from __future__ import annotations

import pytest

from tests.redteam.run import RedTeam, load_corpus, summary

VECTORS = {"subject", "body", "html", "hidden_text", "impersonation", "tag_breakout", "attribute_breakout",
           "zero_width", "homoglyph", "passage", "de", "es", "fr", "sv", "link_smuggling", "markup_smuggling"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with RedTeam(load_corpus(), tmp_path_factory.mktemp("redteam")) as team:
        found = list(team.run())
        history = team.gate_history()
    return found, history


def test_the_corpus_is_big_enough_and_covers_every_vector():
    attempts = load_corpus()
    assert len(attempts) >= 100
    assert {a["vector"] for a in attempts} >= VECTORS


def test_no_attempt_gets_a_link_markup_or_fence_break_past_the_guard(results):
    found, _ = results
    broken = {r.id: r.violations for r in found if r.violations}
    assert broken == {}


def test_the_gate_was_open_and_ticket_text_never_moved_it(results):
    found, history = results
    assert [e["open"] for e in history] == [1]  # opened by the seeded reviews, never closed or reopened by text
    # The gate really was open and the guard lets clean answers through: every control went out publicly.
    controls = [r for r in found if r.vector == "control"]
    assert controls and all(r.public for r in controls), [(r.id, r.outcome, r.why) for r in controls]


def test_summary_counts_add_up(results):
    found, _ = results
    table = summary(found)
    assert sum(row["attempts"] for row in table.values()) == len(found)
    for row in table.values():
        assert row.get("blocked", 0) + row.get("public", 0) == row["attempts"]
