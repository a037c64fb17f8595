"""The periodic review pass: find agents' answers to our drafts by asking each helpdesk what changed.

Agents' replies call no webhook of ours, so we look; but re-reading every ticket with an open draft costs API calls
in proportion to open drafts (10,000 open drafts, three calls each, every five minutes). Instead, per helpdesk
account, a cursor in state holds the newest `updated_at` processed, on the helpdesk's own clock. A pass lists the
tickets changed since `mark - overlap` (one call per page of 100 to 1,000 tickets), skips those already read at that
same `updated_at`, and reads only those with a draft no review has judged yet, however old the draft. So calls
follow changes, not open drafts.

One verdict comes with no change to list: a public reply is accepted when the ticket stays solved for
`accept_after_days`. Those drafts are read once, in the pass after that clock runs out.

One pass per account at a time (a turn in state): the first pass after an upgrade reads every ticket with a waiting
draft once, which can take longer than the interval, and saves checkpoints as it goes so a pass that dies does not
read them all again.

Nothing is lost: the cursor is saved only after the reads; a ticket whose read failed holds the mark back to its
change; the overlap re-lists changes stamped late (a write committed after our listing, or the helpdesk's clock
behind ours); a reply landing during a pass moves its ticket's `updated_at` past what we read, so the next pass
reads it again.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from connectors.base import Connector
from connectors.http import HelpdeskError
from deskdraft.state import ReviewCursor, State
from drafting import review

log = logging.getLogger(__name__)

OVERLAP_SECONDS = 600.0  # re-list this much before the mark: late commits and clock skew up to ten minutes
TURN_SECONDS = 1800.0  # a pass holds its account's turn this long, renewed at each checkpoint; a dead one's lapses
CHECKPOINT_READS = 200


@dataclass(frozen=True)
class PassReport:
    account: str
    listed: int  # distinct tickets the helpdesk said changed
    read: int  # tickets read in full (what costs API calls)
    recorded: int  # reviews recorded
    failed: int  # reads that failed: their changes stay ahead of the cursor


def review_account(connector: Connector, state: State, accept_after_days: float, now: float | None = None,
                   overlap: float = OVERLAP_SECONDS) -> PassReport:
    """One pass over one helpdesk account; a failed listing raises (HelpdeskError) and leaves the cursor as it was.
    A pass that finds another one still running on the account does nothing (read 0)."""
    now = time.time() if now is None else now
    account = connector.account
    if not state.take_review_turn(account, now + TURN_SECONDS):
        log.info("review: %s: the previous pass is still running", account)
        return PassReport(account, 0, 0, 0, 0)
    try:
        return _review(connector, state, accept_after_days, now, overlap)
    except BaseException:
        state.release_review_turn(account)
        raise


def _review(connector: Connector, state: State, accept_after_days: float, now: float,
            overlap: float) -> PassReport:
    account, started = connector.account, time.monotonic()
    cursor = state.review_cursor(account) or _first_cursor(state, account, now)
    changes: dict[str, float] = {}
    for change in connector.changed_tickets(cursor.mark - overlap):
        changes[change.ticket_id] = max(change.updated_at, changes.get(change.ticket_id, change.updated_at))
    fresh = [t for t, stamp in changes.items() if cursor.seen.get(t) != stamp]
    wait = accept_after_days * 86400
    due = state.unreviewed_replies_created(account, None if cursor.due_mark is None else cursor.due_mark - wait,
                                           now - wait)
    recorded, read, failed = 0, {}, set()
    for ticket_id in sorted(state.tickets_with_unreviewed_drafts(account, fresh) | due):
        try:
            ticket = connector.fetch_ticket(ticket_id)
        except HelpdeskError as exc:
            log.warning("review: %s ticket %s not read: %s", account, ticket_id, exc)
            failed.add(ticket_id)
            continue
        if ticket is not None:
            recorded += review.observe(
                ticket, state, lambda step, _t=ticket_id, **detail: state.log(account, _t, step, None, **detail),
                accept_after_days, now)
        if ticket_id in changes:
            read[ticket_id] = changes[ticket_id]
            if len(read) % CHECKPOINT_READS == 0:  # a pass that dies from here on does not read these again
                state.save_review_cursor(account, ReviewCursor(cursor.mark, {**cursor.seen, **read}, cursor.due_mark),
                                         hold_until=now + (time.monotonic() - started) + TURN_SECONDS)
    state.save_review_cursor(account, _advanced(cursor, changes, read, failed, due, now, overlap))
    return PassReport(account, len(changes), len(read) + len(due - set(read) - failed), recorded, len(failed))


def _first_cursor(state: State, account: str, now: float) -> ReviewCursor:
    """Start at the oldest draft still waiting for a verdict (its ticket changed when we posted it), else now."""
    oldest = state.oldest_unreviewed_draft(account)
    return ReviewCursor(mark=min(now, oldest) if oldest is not None else now, seen={}, due_mark=None)


def _advanced(cursor: ReviewCursor, changes: dict[str, float], read: dict[str, float], failed: set[str],
              due: set[str], now: float, overlap: float) -> ReviewCursor:
    mark = max([cursor.mark, *changes.values()])
    held = [changes[t] for t in failed if t in changes]
    if held:  # listed again next time, and not in `seen`, so read again
        mark = min(mark, min(held))
    seen = {t: stamp for t, stamp in {**cursor.seen, **read}.items() if stamp >= mark - overlap}
    due_mark = cursor.due_mark if failed & due else now
    return ReviewCursor(mark=mark, seen=seen, due_mark=due_mark)
