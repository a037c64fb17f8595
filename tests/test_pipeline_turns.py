"""routing.burst_seconds: customer messages close together are one turn; an older unanswered one is context."""
from __future__ import annotations

from connectors.base import Comment, Ticket
from pipeline import customer_turns


def said(n: int, at: str) -> Comment:
    return Comment(id=str(n), author_id="c", author_role="customer", body=f"message {n}", public=True,
                   via_api=False, created_at=at)


def test_the_burst_is_the_messages_within_burst_seconds_of_each_other():
    ticket = Ticket(account="zendesk", id="1", subject="s", status="open", requester_id="c", url="", comments=(
        said(1, "2026-11-30T08:00:00Z"), said(2, "2026-11-30T10:00:00Z"), said(3, "2026-11-30T10:01:00Z")))
    burst, earlier = customer_turns(ticket, burst_seconds=120)
    assert [c.id for c in burst] == ["2", "3"] and [c.id for c in earlier] == ["1"]
    burst, _ = customer_turns(ticket)  # no window: every unanswered message, as before
    assert [c.id for c in burst] == ["1", "2", "3"]
