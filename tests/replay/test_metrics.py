"""Metrics, the paired test and the forecast's gate arithmetic, as tables (pure functions, no servers)."""
from __future__ import annotations

import pytest

from connectors.base import Comment, Ticket
from deskdraft.replay import experiment, forecast, metrics
from deskdraft.replay.collect import examples_from_ticket, parse_since
from drafting import gate


def result(**over):
    base = {"example_id": "x", "labelled_intent": None, "intent": "order_status", "handoff": False,
            "handoff_reasons": [], "passages": [{"id": "a", "kind": "article", "text": "Orders ship in two days.",
                                                  "score": 0.8}],
            "grounded": True, "draft": "Orders ship in two days.", "confidence": 0.9, "cited": ["a"], "invented": [],
            "problems": [], "missing": [], "needs_human": False, "outcome": "accepted", "similarity": 0.95,
            "overridden": False, "changes": [], "input_tokens": 10, "output_tokens": 5, "seconds": 0.1}
    return {**base, **over}


@pytest.mark.parametrize("over, metric, expected", [
    ({}, "groundedness", 1.0),
    ({"draft": "Orders ship in two days. Also we sell unicorns on Mars."}, "groundedness", 0.5),
    ({"cited": []}, "groundedness", 0.0),
    ({"invented": ["P9"]}, "citation_validity", 0.0),
    ({"draft": "Refunds take 5 business days."}, "policy_claim_cited", 0.0),
    ({"draft": "Refunds take 5 business days.", "passages": [{"id": "a", "kind": "policy", "text": "", "score": 1}]},
     "policy_claim_cited", 1.0),
    ({"draft": None}, "agreement", 0.95),
    ({"draft": None, "similarity": None, "overridden": None}, "accepted", None),
    ({"confidence": 0.9, "similarity": 0.4}, "calibration_error", pytest.approx(0.25)),
    ({"handoff": True}, "handoff", 1.0),
])
def test_metric_table(over, metric, expected):
    assert metrics.METRICS[metric](result(**over)) == expected


def test_paired_test_needs_a_real_difference():
    assert experiment.paired([1, 1, 1], [1, 1, 1]) == 1.0
    assert experiment.paired([1.0] * 40, [0.0] * 40) < 0.001
    same_mean = experiment.compare_metric("agreement", [(result(similarity=s), result(similarity=s)) for s in
                                                        (0.1, 0.5, 0.9)])
    assert same_mean["verdict"] == "no significant difference"
    lower = experiment.compare_metric("handoff", [(result(handoff=True), result(handoff=False))] * 30)
    assert lower["verdict"] == "B better"  # fewer handoffs is better


def test_reviews_needed_is_where_the_gates_own_bound_drops_under_the_threshold():
    policy = gate.Policy("auto_send", 0.05, 200, 0.8, False)
    n = forecast.reviews_needed(0.01, policy)
    assert n is not None and n >= 200
    assert gate.wilson_upper(round(0.01 * n), n) < 0.05
    assert gate.wilson_upper(round(0.01 * (n - 1)), n - 1) >= 0.05 or n == 200
    assert forecast.reviews_needed(0.06, policy) is None


def test_examples_pair_each_customer_burst_with_the_next_public_agent_answer():
    def c(n, role, body, public=True):
        return Comment(str(n), role, role, body, public, False, "2026-11-01T00:00:00Z")

    ticket = Ticket("zd", "1", "Help casey@example.com", "solved", "9", "", (
        c(1, "customer", "Hi"), c(2, "customer", "my card 4111 1111 1111 1111 failed"), c(3, "agent", "note", False),
        c(4, "self", "our draft"), c(5, "agent", "Try again now."), c(6, "customer", "Thanks!")), tags=("refund",))
    [example] = examples_from_ticket(ticket, {"refund"})
    assert example.id == "zd:1:2" and example.intent == "refund" and example.agent_reply == "Try again now."
    assert [t.body for t in example.turns] == ["Hi", "my card [CARD] failed"] and "[EMAIL]" in example.subject
    assert example.question == "Hi\n\nmy card [CARD] failed"


def test_since_accepts_durations_and_dates_and_names_the_bad_value():
    assert parse_since("2026-09-01").year == 2026
    with pytest.raises(ValueError, match="--since 'soon'"):
        parse_since("soon")
