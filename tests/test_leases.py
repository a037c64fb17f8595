"""The lease heartbeat (deskdraft/leases.py) on a real database: a held claim outlives its lease while the run lives,
is free within one lease once renewals stop, and a renewal that finds the claim taken marks it lost."""
from __future__ import annotations

import time

from sqlalchemy import update

from deskdraft import leases
from deskdraft.state import State, posts

LEASE = 0.6  # renewed every 0.2 s


def test_a_held_claim_outlives_its_lease_and_is_free_soon_after_release(tmp_path):
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    keeper = leases.LeaseKeeper(state, LEASE)
    assert state.claim_post("z:1:1", "z", "1", "run-a", LEASE) == "claimed"
    with keeper.holding("z:1:1", "run-a"):
        time.sleep(4 * LEASE)  # four leases long: only the heartbeat keeps it
        assert state.claim_post("z:1:1", "z", "1", "run-b", LEASE) == "busy"
        assert not keeper.lost("z:1:1", "run-a")
    time.sleep(LEASE + 0.3)  # the run is gone (as if killed): nobody renews
    assert state.claim_post("z:1:1", "z", "1", "run-b", LEASE) == "taken_over"


def test_a_renewal_that_finds_the_claim_taken_marks_it_lost(tmp_path):
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    keeper = leases.LeaseKeeper(state, LEASE)
    assert state.claim_post("z:1:2", "z", "1", "run-a", LEASE) == "claimed"
    with keeper.holding("z:1:2", "run-a"):
        with state.engine.begin() as conn:  # run A froze past its lease and run B took the claim over
            conn.execute(update(posts).where(posts.c.draft_ref == "z:1:2").values(owner="run-b"))
        keeper.renew_all()
        assert keeper.lost("z:1:2", "run-a")
        assert state.still_holds("z:1:2", "run-a", LEASE) is False


def test_one_keeper_per_state_and_lease(tmp_path):
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    assert leases.keeper(state, 90) is leases.keeper(state, 90)
    assert leases.keeper(state, 30) is not leases.keeper(state, 90)
    assert ":task-1:" in leases.owner_id("task-1") and leases.owner_id("task-1") != leases.owner_id("task-1")
