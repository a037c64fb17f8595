"""The review pass over real HTTP to each vendor's fake: API calls follow changes, not open drafts, and no agent
reply is missed (one landing during a pass included)."""
from __future__ import annotations

import pytest

from deskdraft.state import State
from drafting.review_pass import OVERLAP_SECONDS, review_account
from tests.drafting.review_desks import Clock, add_drafts, running

OPEN_DRAFTS = 300


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(tmp_path, clock) -> State:
    return State(f"sqlite:///{tmp_path / 'state.db'}", clock=clock.epoch)


def review(connector, state: State, clock: Clock):
    return review_account(connector, state, accept_after_days=7, now=clock.epoch())


def reviewed(state: State, account: str) -> dict[str, str]:
    from sqlalchemy import select

    from deskdraft.state import drafts

    with state.engine.connect() as conn:
        rows = conn.execute(select(drafts.c.ticket_id, drafts.c.outcome).where(
            drafts.c.account == account, drafts.c.outcome.is_not(None))).all()
    return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize("kind", ["zendesk", "intercom", "freshdesk"])
def test_calls_follow_changes_not_open_drafts(kind, clock, state, monkeypatch):
    with running(kind, clock, monkeypatch) as (desk, connector):
        add_drafts(desk, state, range(1000, 1000 + OPEN_DRAFTS), created_at=clock.epoch())
        clock.advance(minutes=2)
        first = review(connector, state, clock)  # catching up: every ticket changed when we posted
        assert first.read == OPEN_DRAFTS and first.recorded == 0

        clock.advance(seconds=OVERLAP_SECONDS + 60)
        reads_before, before = len(desk.ticket_reads()), len(desk.fake.requests)
        idle = review(connector, state, clock)
        # The overlap lists the catch-up's changes again (within OVERLAP_SECONDS of the newest): listed, not read.
        assert idle.read == 0 and len(desk.ticket_reads()) == reads_before
        assert len(desk.fake.requests) - before <= 5  # listing pages only: 300 tickets are 1 to 5 pages

        answered, nudged, touched = range(1000, 1010), range(1100, 1105), range(1200, 1203)
        for n in answered:
            desk.agent_replies(n)
        for n in nudged:
            desk.customer_writes(n, "Any news?")
        for n in touched:
            desk.touch(n)
        clock.advance(minutes=2)
        reads_before, before = len(desk.ticket_reads()), len(desk.fake.requests)
        busy = review(connector, state, clock)
        changed = len(answered) + len(nudged) + len(touched)
        assert busy.read == changed and busy.recorded == len(answered)
        assert len(desk.ticket_reads()) - reads_before == changed
        calls = len(desk.fake.requests) - before
        assert calls <= 6 + 3 * changed < OPEN_DRAFTS  # listing pages, then at most three calls a changed ticket
        assert sorted(reviewed(state, kind)) == [str(n) for n in answered]


@pytest.mark.parametrize("kind", ["zendesk", "intercom", "freshdesk"])
def test_a_reply_landing_during_a_pass_is_read_by_the_next(kind, clock, state, monkeypatch):
    with running(kind, clock, monkeypatch) as (desk, connector):
        add_drafts(desk, state, range(1, 41), created_at=clock.epoch())
        clock.advance(minutes=2)
        review(connector, state, clock)
        clock.advance(seconds=OVERLAP_SECONDS + 60)
        for n in (15, 30):
            desk.touch(n)
        clock.advance(minutes=2)
        # The pass reads ticket 15, then 30; while it reads 30, an agent answers on 15, already read.
        app, landed = desk.fake.app.wsgi_app, []

        def reply_while_reading(environ, start_response):
            if "/30" in environ.get("PATH_INFO", "") and not landed:
                landed.append(clock.advance(seconds=1))
                desk.agent_replies(15)
            return app(environ, start_response)

        desk.fake.app.wsgi_app = reply_while_reading
        during = review(connector, state, clock)
        assert landed and during.read == 2 and reviewed(state, kind) == {}
        clock.advance(minutes=2)
        after = review(connector, state, clock)
        assert after.read == 1 and list(reviewed(state, kind)) == ["15"]


def test_a_failed_read_holds_the_cursor_until_it_succeeds(clock, state, monkeypatch):
    with running("zendesk", clock, monkeypatch) as (desk, connector):
        add_drafts(desk, state, range(1, 11), created_at=clock.epoch())
        clock.advance(minutes=2)
        review(connector, state, clock)
        clock.advance(seconds=OVERLAP_SECONDS + 60)
        desk.agent_replies(3)
        desk.agent_replies(7)
        clock.advance(minutes=2)
        desk.fake.fail_next(503, times=2, path_contains="/tickets/3/comments")  # both attempts of one read
        failed = review(connector, state, clock)
        assert failed.failed == 1 and reviewed(state, "zendesk") == {"7": "accepted"}
        clock.advance(hours=2)  # far past the overlap: only the held-back mark brings ticket 3 back
        again = review(connector, state, clock)
        assert again.read == 1 and reviewed(state, "zendesk") == {"3": "accepted", "7": "accepted"}


@pytest.mark.parametrize("kind", ["zendesk", "freshdesk"])
def test_solved_and_kept_is_read_once_when_its_clock_runs_out(kind, clock, state, monkeypatch):
    with running(kind, clock, monkeypatch) as (desk, connector):
        add_drafts(desk, state, range(1, 4), action="reply", created_at=clock.epoch())
        desk.solve(1)
        clock.advance(minutes=2)
        assert review(connector, state, clock).recorded == 0  # solved, but not for seven days yet
        for _ in range(6):
            clock.advance(days=1)
            assert review(connector, state, clock).read == 0  # nothing changed, nothing due
        clock.advance(days=1)
        due = review(connector, state, clock)
        assert due.read == 3 and reviewed(state, kind) == {"1": "accepted"}  # 2 and 3 are still open
        clock.advance(days=1)
        assert review(connector, state, clock).read == 0


def test_a_draft_older_than_the_review_horizon_is_still_judged(clock, state, monkeypatch):
    with running("intercom", clock, monkeypatch) as (desk, connector):
        add_drafts(desk, state, range(1, 3), created_at=clock.epoch())
        clock.advance(minutes=2)
        review(connector, state, clock)
        clock.advance(days=45)  # past autonomy.window_days (30): the old pass never looked at these again
        review(connector, state, clock)
        desk.agent_replies(2)
        clock.advance(minutes=2)
        assert review(connector, state, clock).recorded == 1 and reviewed(state, "intercom") == {"2": "accepted"}


def test_a_pass_that_dies_keeps_its_checkpoints_and_frees_the_turn(clock, state, monkeypatch):
    monkeypatch.setattr("drafting.review_pass.CHECKPOINT_READS", 10)
    with running("zendesk", clock, monkeypatch) as (desk, connector):
        add_drafts(desk, state, range(1, 61), created_at=clock.epoch())
        clock.advance(minutes=2)
        assert state.take_review_turn("zendesk", clock.epoch() + 60)  # another pass is running: this one waits
        assert review(connector, state, clock).read == 0 and not desk.ticket_reads()
        state.release_review_turn("zendesk")
        read, fetch = [], connector.fetch_ticket

        def dies_at_the_25th(ticket_id):
            if len(read) == 24:
                raise MemoryError("worker killed")
            read.append(ticket_id)
            return fetch(ticket_id)

        monkeypatch.setattr(connector, "fetch_ticket", dies_at_the_25th)
        with pytest.raises(MemoryError):
            review(connector, state, clock)
        monkeypatch.setattr(connector, "fetch_ticket", fetch)
        again = review(connector, state, clock)  # the turn was released; 20 reads were checkpointed
        assert again.read == 60 - 20
