"""The one shape every helpdesk connector has, and the vendor-neutral records it returns.

No code outside connectors/ sees vendor JSON: webhooks and the pipeline only handle these types.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

# Written into every note and reply we post, so a re-run can see on the ticket itself that
# the work is done even when our own database missed the write (crash after the POST).
REF_PREFIX = "deskdraft-ref:"


@dataclass(frozen=True)
class TicketEvent:
    """A webhook delivery worth a look: the job re-reads the ticket before deciding anything."""

    account: str  # the helpdesk account (config key), selected by the webhook URL
    event_id: str  # the vendor's delivery id (or a digest of the body): the inbox dedupe key
    ticket_id: str
    kind: str  # "ticket.created" | "customer.replied" | "ticket.updated"


@dataclass(frozen=True)
class Ignored:
    """A well-formed delivery we do not draft for, with the reason logged and returned."""

    reason: str


class MalformedPayload(ValueError):
    """The body is not what the helpdesk sends: answered with 400 and the reason."""


@dataclass(frozen=True)
class Comment:
    id: str
    author_id: str
    author_role: str  # "customer" | "agent" | "self" (our own assistant user) | "system"
    body: str
    public: bool
    via_api: bool  # created through the API (ours or another integration's), never a customer
    created_at: str

    @property
    def from_customer(self) -> bool:
        return self.author_role == "customer" and not self.via_api


@dataclass(frozen=True)
class Person:
    """Someone the helpdesk's own data names on a ticket: their name is hidden from the model and the index."""

    name: str
    email: str | None
    role: str  # "customer" (the requester) | "agent" | "other" (cc'd or other end users)


@dataclass(frozen=True)
class Ticket:
    account: str
    id: str
    subject: str
    status: str
    requester_id: str
    url: str
    comments: tuple[Comment, ...]
    tags: tuple[str, ...] = ()
    locale: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    people: tuple[Person, ...] = ()  # the requester first; knowledge.redact gives each a stable placeholder

    @property
    def latest(self) -> Comment | None:
        return self.comments[-1] if self.comments else None

    def posted_refs(self) -> set[str]:
        """Draft refs found in comments we authored: proof that a run already posted."""
        refs = set()
        for comment in self.comments:
            if comment.author_role != "self":  # a customer typing a ref must not silence us
                continue
            for line in comment.body.splitlines():
                line = line.strip()
                if line.startswith(REF_PREFIX):
                    refs.add(line[len(REF_PREFIX):].strip())
        return refs


@dataclass(frozen=True)
class ChangedTicket:
    """One entry of a helpdesk's "changed since" listing: which ticket, and when (the helpdesk's clock) it changed."""

    ticket_id: str
    updated_at: float  # epoch seconds, as the helpdesk stamped it

    @classmethod
    def from_iso(cls, ticket_id: Any, updated_at: str) -> ChangedTicket:
        """Zendesk and Freshdesk stamp `2026-11-30T20:42:10Z`; a missing stamp sorts first (it is re-listed)."""
        when = datetime.fromisoformat(updated_at.replace("Z", "+00:00")).timestamp() if updated_at else 0.0
        return cls(str(ticket_id), when)


class Connector(Protocol):
    """One per helpdesk; built from an account's config, holds its own HTTP client."""

    type: ClassVar[str]
    account: str

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes,
                      payload: Mapping[str, Any]) -> TicketEvent | Ignored: ...

    def fetch_ticket(self, ticket_id: str) -> Ticket | None: ...  # None: the ticket is gone

    def changed_tickets(self, since: float) -> Iterator[ChangedTicket]: ...
    # every ticket changed at or after `since` (epoch seconds), through the vendor's incremental listing, all pages;
    # a ticket may come more than once. The review pass (drafting/review_pass.py) reads only these.

    def post_note(self, ticket_id: str, body: str) -> str: ...  # internal; returns the new comment's id

    def post_reply(self, ticket_id: str, body: str) -> str: ...  # public; only when the gate says so

    def escalate(self, ticket_id: str, body: str, tags: Sequence[str], group: str | None) -> str: ...
    # handoff: an internal note with the summary, plus tags and (when given) the group/team that owns it

    def route_handoff(self, ticket_id: str, tags: Sequence[str], group: str | None) -> None: ...
    # escalate's tags and group on their own, idempotent: a retry completes a handoff whose note is already there

    def close(self) -> None: ...
