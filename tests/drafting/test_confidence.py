import pytest

from drafting.confidence import grounding, score


def signals(**overrides) -> dict:
    return {"best_passage_score": 0.75, "min_score": 0.3, "cited": 2, "invented": 0, "self_report": 1.0} | overrides


def test_strong_grounding_full_citations_and_a_sure_model_is_one():
    assert score(**signals()) == 1.0


@pytest.mark.parametrize("overrides, at_most", [
    ({"cited": 0}, 0.4),  # nothing cited: not grounded, whatever the model says
    ({"invented": 1}, 0.5),  # a made-up citation caps it
    ({"best_passage_score": None}, 0.6),  # nothing retrieved: grounding term is 0
    ({"self_report": 0.0}, 0.7),
    ({"reply_empty": True}, 0.0),
])
def test_each_missing_signal_lowers_the_score(overrides, at_most):
    assert score(**signals(**overrides)) <= at_most


def test_grounding_rescales_between_floor_and_strong_match():
    assert grounding(0.3, 0.3) == 0.0
    assert grounding(0.525, 0.3) == pytest.approx(0.5)
    assert grounding(0.95, 0.3) == 1.0
    assert grounding(None, 0.3) == 0.0


def test_self_report_alone_cannot_carry_a_draft():
    # The model says it is certain but nothing supports it.
    assert score(**signals(best_passage_score=0.1, cited=0, self_report=1.0)) <= 0.3
