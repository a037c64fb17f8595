"""The autonomy gate as a decision table: a reply needs every condition at once."""
import pytest

from drafting.gate import ESCALATE, NOTE, REPLY, Policy, Signals, Stats, decide, gate_open, wilson_upper

EARNED = Stats(reviewed=400, overridden=4)  # 1% overridden, upper bound ~2.5%
AUTO = Policy(autonomy="auto_send", override_threshold=0.05, min_reviewed=200, min_confidence=0.8, risky=False)
SURE = Signals(confidence=0.9)


def with_(policy=AUTO, **changes):
    return Policy(**{**policy.__dict__, **changes})


def test_everything_earned_goes_public():
    decision = decide(AUTO, EARNED, SURE)
    assert decision.action == REPLY and decision.gate_open


@pytest.mark.parametrize("policy, stats, signals, action, reason", [
    (with_(autonomy="draft"), EARNED, SURE, NOTE, "autonomy is draft"),
    (with_(autonomy="manual"), EARNED, SURE, ESCALATE, "autonomy is manual"),
    (with_(risky=True), EARNED, SURE, ESCALATE, "risky intent"),
    (AUTO, Stats(150, 0), SURE, NOTE, "150 of 200 reviewed"),
    (AUTO, Stats(400, 20), SURE, NOTE, "not under 5.0%"),  # 5% measured: bound above the threshold
    (AUTO, Stats(200, 6), SURE, NOTE, "upper bound"),  # 3% measured, but the bound is over 5%
    (AUTO, EARNED, Signals(confidence=0.79), NOTE, "under the floor 0.80"),
    (AUTO, EARNED, Signals(confidence=0.95, needs_human=("risk: chargeback",)), ESCALATE, "chargeback"),
    (AUTO, EARNED, Signals(confidence=0.95, holds=("customer is frustrated",)), NOTE, "frustrated"),
    (AUTO, EARNED, Signals(confidence=0.95, paused=True), NOTE, "paused"),
    (AUTO, EARNED, Signals(confidence=0.95, model_available=False), NOTE, "no model"),
])
def test_any_missing_condition_keeps_it_private(policy, stats, signals, action, reason):
    decision = decide(policy, stats, signals)
    assert decision.action == action
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_demotion_follows_the_numbers():
    assert gate_open(AUTO, Stats(400, 4))[0]
    assert not gate_open(AUTO, Stats(440, 24))[0]  # overrides rose: back to drafts, no admin action needed


def test_wilson_upper_bound():
    assert wilson_upper(0, 0) == 1.0
    assert wilson_upper(0, 200) == pytest.approx(0.0188, abs=1e-3)
    assert wilson_upper(10, 200) > 0.05 > 10 / 200 - 0.01
    assert wilson_upper(200, 200) == 1.0
