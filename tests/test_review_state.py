"""What the review pass keeps and looks up in state, on SQLite and PostgreSQL: its cursor, and which drafts wait."""
from __future__ import annotations

from deskdraft.state import ReviewCursor
from tests.test_state import clock, state  # noqa: F401  (fixtures: SQLite, and PostgreSQL when it answers)


def draft(state, ref: str, ticket: str, action: str = "note", account: str = "zendesk") -> None:  # noqa: F811
    state.record_draft(ref, account, ticket, "shipping", action, "c1", 0.9, "text", "en", "p1", "m", "k")


def test_the_cursor_round_trips_and_is_replaced(state):  # noqa: F811
    assert state.review_cursor("zendesk") is None
    state.save_review_cursor("zendesk", ReviewCursor(100.5, {"7": 99.0}, None))
    state.save_review_cursor("zendesk", ReviewCursor(200.0, {"8": 150.0, "9": 190.5}, 300.0))
    assert state.review_cursor("zendesk") == ReviewCursor(200.0, {"8": 150.0, "9": 190.5}, 300.0)
    assert state.review_cursor("intercom") is None


def test_only_unjudged_notes_and_replies_of_that_account_wait(state, clock):  # noqa: F811
    draft(state, "zendesk:1:a", "1")
    draft(state, "zendesk:2:a", "2", action="reply")
    draft(state, "zendesk:3:a", "3")
    state.record_review("zendesk:3:a", "accepted", 1.0, [])
    draft(state, "zendesk:4:a", "4", action="escalate")
    draft(state, "other:5:a", "5", account="other")
    many = [str(n) for n in range(1, 1200)]  # more than one bounded IN list
    assert state.tickets_with_unreviewed_drafts("zendesk", many) == {"1", "2"}
    assert state.oldest_unreviewed_draft("zendesk") == clock.now
    assert state.oldest_unreviewed_draft("nobody") is None


def test_replies_whose_acceptance_clock_ran_out_in_a_window(state, clock):  # noqa: F811
    draft(state, "zendesk:1:a", "1", action="reply")
    clock.now += 100
    draft(state, "zendesk:2:a", "2", action="reply")
    draft(state, "zendesk:3:a", "3")  # a note: judged by an agent's reply, never by a clock
    assert state.unreviewed_replies_created("zendesk", None, clock.now) == {"1", "2"}
    assert state.unreviewed_replies_created("zendesk", clock.now - 100, clock.now) == {"2"}
    assert state.unreviewed_replies_created("zendesk", None, clock.now - 1) == {"1"}


def test_one_pass_per_account_holds_the_turn_until_it_saves_or_lapses(state, clock):  # noqa: F811
    assert state.take_review_turn("zendesk", clock.now + 60)
    assert not state.take_review_turn("zendesk", clock.now + 60)  # a second pass while the first runs
    assert state.take_review_turn("intercom", clock.now + 60)  # accounts are independent
    assert state.review_cursor("zendesk") is None  # the turn's row is no cursor yet
    state.save_review_cursor("zendesk", ReviewCursor(5.0, {}, None), hold_until=clock.now + 60)  # a checkpoint
    assert not state.take_review_turn("zendesk", clock.now + 60)
    state.save_review_cursor("zendesk", ReviewCursor(6.0, {}, None))  # the pass ends
    assert state.take_review_turn("zendesk", clock.now + 60)
    clock.now += 61  # its holder died: the turn lapses
    assert state.take_review_turn("zendesk", clock.now + 60)
    state.release_review_turn("zendesk")
    assert state.take_review_turn("zendesk", clock.now + 60) and state.review_cursor("zendesk").mark == 6.0
