"""Tickets with drafts of ours waiting for a verdict, told to each vendor's fake, and what agents do next.

Used by test_review_pass.py (a few hundred drafts) and benchmarks/review_calls.py (10,000). Everything is written
straight into the fakes (as if typed in the helpdesk), so the only HTTP calls counted are the review pass's own.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import REF_PREFIX
from connectors.freshdesk import FreshdeskConnector
from connectors.intercom import IntercomConnector
from connectors.zendesk import ZendeskConnector
from deskdraft.settings import HelpdeskAccount, WebhookSettings
from deskdraft.state import State
from tests.fakes.freshdesk import FakeFreshdesk
from tests.fakes.intercom import FakeIntercom
from tests.fakes.server import serve
from tests.fakes.zendesk import FakeZendesk

WEBHOOKS = WebhookSettings(max_body_bytes=1 << 20, timestamp_tolerance_seconds=300)
QUESTION = "My parcel never arrived. Can you help?"
DRAFT = "Sorry about that! We have sent a replacement; it arrives within 3 working days."
CUSTOMER, AGENT = 20_001, 30_001
TOKEN = "review-token"


class Clock:
    """One settable clock for the fakes, the connectors and the state: a simulated hour passes in seconds."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) - timedelta(days=30)

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _account(name: str, kind: str, url: str, **extra: Any) -> HelpdeskAccount:
    return HelpdeskAccount(name=name, type=kind, base_url=url, email="bot@acme.test" if kind == "zendesk" else None,
                           api_token_env="REVIEW_TOKEN", webhook_secret_env="REVIEW_SECRET", agent_user_id=None,
                           timeout_seconds=10, max_attempts=2, **extra)


class ZendeskReview:
    kind = "zendesk"

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeZendesk(email="bot@acme.test", token=TOKEN, clock=clock)
        self.fake.add_user(CUSTOMER, "Casey Customer", "end-user")
        self.fake.add_user(AGENT, "Avery Agent", "agent")
        self._clock = clock

    def connector(self, url: str) -> ZendeskConnector:
        return ZendeskConnector(_account(self.kind, self.kind, url), WEBHOOKS, clock=self._clock.epoch)

    def open_with_post(self, n: int, public: bool, ref_of: Any) -> tuple[str, str]:
        """A customer's question and our post under it; returns (question id, our comment id)."""
        self.fake.add_ticket(n, f"Parcel {n}", CUSTOMER, description=QUESTION)
        question = str(self.fake.comments(n)[0]["id"])
        ours = self.fake.add_comment(n, self.fake.agent_user_id, f"{DRAFT}\n\n{REF_PREFIX} {ref_of(question)}",
                                     public=public, via="api")
        return question, str(ours["id"])

    def agent_replies(self, n: int, text: str = DRAFT) -> None:
        self.fake.add_comment(n, AGENT, text, public=True)

    def customer_writes(self, n: int, text: str) -> None:
        self.fake.add_comment(n, CUSTOMER, text, public=True)

    def touch(self, n: int) -> None:
        self.fake.update_ticket(n, priority="high")

    def solve(self, n: int) -> None:
        self.fake.update_ticket(n, status="solved")

    def ticket_reads(self) -> list[str]:
        return [p for m, p in self.fake.requests if m == "GET" and p.split("?")[0].count("/") == 4
                and p.startswith("/api/v2/tickets/")]


class IntercomReview:
    kind = "intercom"

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeIntercom(token=TOKEN, admin_id="991", clock=clock.epoch)
        self.fake.add_contact(str(CUSTOMER), "Casey Customer")
        self.fake.add_admin(str(AGENT), "Avery Agent")

    def connector(self, url: str) -> IntercomConnector:
        return IntercomConnector(_account(self.kind, self.kind, url, admin_id="991"), WEBHOOKS)

    def open_with_post(self, n: int, public: bool, ref_of: Any) -> tuple[str, str]:
        conversation = self.fake.add_conversation(n, str(CUSTOMER), QUESTION)
        question = str(conversation["source"]["id"])
        body = f"<p>{DRAFT}</p><p>{REF_PREFIX} {ref_of(question)}</p>"
        ours = self.fake.add_part(n, "admin", self.fake.admin_id, body, "comment" if public else "note",
                                  app_package_code=self.fake.app_package_code)
        return question, str(ours["id"])

    def agent_replies(self, n: int, text: str = DRAFT) -> None:
        self.fake.add_part(n, "admin", str(AGENT), text)

    def customer_writes(self, n: int, text: str) -> None:
        self.fake.add_part(n, "user", str(CUSTOMER), text)

    def touch(self, n: int) -> None:
        self.fake.set_state(n, "snoozed")

    def solve(self, n: int) -> None:
        self.fake.set_state(n, "closed")

    def ticket_reads(self) -> list[str]:
        return [p for m, p in self.fake.requests if m == "GET" and p.startswith("/conversations/")]


class FreshdeskReview:
    kind = "freshdesk"

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeFreshdesk(api_key=TOKEN, agent_id=77, clock=clock, rate_limit=100_000)
        self.fake.add_contact(CUSTOMER, "Casey Customer", email="casey@example.com")
        self.fake.add_agent(AGENT, "Avery Agent")

    def connector(self, url: str) -> FreshdeskConnector:
        return FreshdeskConnector(_account(self.kind, self.kind, url), WEBHOOKS)

    def open_with_post(self, n: int, public: bool, ref_of: Any) -> tuple[str, str]:
        self.fake.add_ticket(n, f"Parcel {n}", CUSTOMER, QUESTION)
        ours = self.fake.add_conversation(n, self.fake.agent_id, f"{DRAFT}\n\n{REF_PREFIX} {ref_of('description')}",
                                          private=not public)
        return "description", str(ours["id"])

    def agent_replies(self, n: int, text: str = DRAFT) -> None:
        self.fake.add_conversation(n, AGENT, text)

    def customer_writes(self, n: int, text: str) -> None:
        self.fake.add_conversation(n, CUSTOMER, text)

    def touch(self, n: int) -> None:
        self.fake.update_ticket(n, priority=3)

    def solve(self, n: int) -> None:
        self.fake.update_ticket(n, status=4)

    def ticket_reads(self) -> list[str]:
        return [p for m, p in self.fake.requests if m == "GET" and p.startswith("/api/v2/tickets/")
                and "/conversations" not in p]


DESKS = {d.kind: d for d in (ZendeskReview, IntercomReview, FreshdeskReview)}


def add_drafts(desk: Any, state: State, numbers: range, *, action: str = "note", created_at: float) -> None:
    """Open tickets carrying our post, and the unreviewed draft rows for them, written in one transaction."""
    from sqlalchemy import insert

    from deskdraft.state import drafts

    rows = []
    for n in numbers:
        question, ours = desk.open_with_post(n, action == "reply", lambda q, n=n: f"{desk.kind}:{n}:{q}")
        rows.append({"draft_ref": f"{desk.kind}:{n}:{question}", "account": desk.kind, "ticket_id": str(n),
                     "intent": "shipping", "action": action, "comment_id": ours, "confidence": 0.9, "text": DRAFT,
                     "language": "en", "prompt_version": "t", "model": "m", "knowledge_snapshot": "k",
                     "created_at": created_at})
    with state.engine.begin() as conn:
        conn.execute(insert(drafts), rows)


@contextmanager
def running(kind: str, clock: Clock, monkeypatch: Any = None) -> Iterator[tuple[Any, Any]]:
    """The vendor's fake served on loopback and a connector pointed at it: (desk, connector)."""
    import os

    if monkeypatch is not None:
        monkeypatch.setenv("REVIEW_TOKEN", TOKEN)
    else:
        os.environ["REVIEW_TOKEN"] = TOKEN
    desk = DESKS[kind](clock)
    with serve(desk.fake.app) as server:
        connector = desk.connector(server.url)
        try:
            yield desk, connector
        finally:
            connector.close()
    assert desk.fake.errors == []
