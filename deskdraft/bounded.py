"""Calls that may block on another machine (broker, database) must not hold a webhook request past a set time.

Socket timeouts do not cover everything: a stopped server process still completes TCP handshakes and ACKs what we
send (its kernel does), then never answers. So the request never makes such a call itself: the inbox write waits on
the group commit's writer for a bounded time (group_commit.py), and the broker publish is handed to a background
thread without waiting (publisher.py). Either one refuses new work at once when too much is already waiting.
"""
from __future__ import annotations

import queue
from typing import Any, TypeVar

Item = TypeVar("Item")


class Overdue(RuntimeError):
    """The call did not finish in time (it may still finish later), or too much work was already waiting."""


def with_waiting(first: Item, waiting: Any, limit: int) -> list[Item]:
    """`first` and whatever else is already waiting in `waiting` (a queue.Queue or SimpleQueue), up to `limit` in
    all, without blocking: the batch a background thread handles in one go."""
    batch = [first]
    while len(batch) < limit:
        try:
            batch.append(waiting.get_nowait())
        except queue.Empty:
            break
    return batch
