"""One driver per helpdesk for the end-to-end tests: the same story told to each vendor's fake, in its own words."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.conftest import AGENT_EMAIL, ZENDESK_SECRET, ZENDESK_TOKEN
from tests.fakes.freshdesk import FakeFreshdesk, freshdesk_webhook, freshdesk_webhook_headers
from tests.fakes.intercom import FakeIntercom, intercom_notification, sign_intercom
from tests.fakes.zendesk import FakeZendesk, sign_zendesk

SECRETS = {"TEST_ZENDESK_TOKEN": ZENDESK_TOKEN, "TEST_ZENDESK_SECRET": ZENDESK_SECRET,
           "TEST_INTERCOM_TOKEN": "intercom-token", "TEST_INTERCOM_SECRET": "intercom-client-secret",
           "TEST_FRESHDESK_KEY": "freshdesk-key", "TEST_FRESHDESK_SECRET": "freshdesk-shared-secret"}


@dataclass(frozen=True)
class Post:
    body: str
    public: bool


class ZendeskDesk:
    name = "zendesk"

    def __init__(self) -> None:
        self.fake = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN)
        self._sent: dict[str, tuple[bytes, dict[str, str]]] = {}
        self._last_stamp: dict[int, float] = {}
        self._lock = threading.Lock()  # deliveries are made from several threads in the outage tests

    def account(self, url: str) -> dict[str, Any]:
        return {"type": "zendesk", "base_url": url, "email": AGENT_EMAIL, "api_token_env": "TEST_ZENDESK_TOKEN",
                "webhook_secret_env": "TEST_ZENDESK_SECRET", "max_attempts": 3}

    def add_people(self, customer: int, agent: int) -> None:
        self.fake.add_user(customer, "Casey Customer", "end-user")
        self.fake.add_user(agent, "Alex Agent", "agent")

    def open_ticket(self, ticket: int, customer: int, subject: str, text: str) -> None:
        self.fake.add_ticket(ticket, subject, customer, description=text)

    def customer_writes(self, ticket: int, customer: int, text: str) -> None:
        self.fake.add_comment(ticket, customer, text, public=True)

    def agent_writes(self, ticket: int, agent: int, text: str) -> None:
        self.fake.add_comment(ticket, agent, text, public=True)

    def api_writes(self, ticket: int, customer: int, text: str) -> None:
        self.fake.add_comment(ticket, customer, text, public=True, via="api")

    def posts(self, ticket: int) -> list[Post]:
        return [Post(c["body"], c["public"]) for c in self.fake.comments(ticket)
                if str(c["author_id"]) == str(self.fake.agent_user_id)]

    def delivery(self, ticket: int, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        """Zendesk's retry of an invocation resends the same signed bytes; a new invocation (another trigger run, a
        second rule) is signed at its own time. The trigger body is the same for every run on a ticket, so two
        invocations are kept at least a second apart, as separate runs are (timestamps have one-second steps)."""
        with self._lock:
            if delivery_id in self._sent:
                return self._sent[delivery_id]
            body = json.dumps({"ticket_id": str(ticket), "title": "from the trigger"}).encode()
            when = max(float(int(time.time())), self._last_stamp.get(ticket, 0.0) + 1)
            self._last_stamp[ticket] = when
            stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._sent[delivery_id] = body, sign_zendesk(ZENDESK_SECRET, body, stamp, invocation_id=delivery_id)
            return self._sent[delivery_id]


class IntercomDesk:
    name = "intercom"

    def __init__(self) -> None:
        self.fake = FakeIntercom(token=SECRETS["TEST_INTERCOM_TOKEN"], admin_id="991")

    def account(self, url: str) -> dict[str, Any]:
        return {"type": "intercom", "base_url": url, "admin_id": "991", "api_token_env": "TEST_INTERCOM_TOKEN",
                "webhook_secret_env": "TEST_INTERCOM_SECRET", "max_attempts": 3}

    def add_people(self, customer: int, agent: int) -> None:
        self.fake.add_contact(str(customer), "Casey Customer")
        self.fake.add_admin(str(agent), "Alex Agent")

    def open_ticket(self, ticket: int, customer: int, subject: str, text: str) -> None:
        self.fake.add_conversation(ticket, str(customer), text, subject=subject)

    def customer_writes(self, ticket: int, customer: int, text: str) -> None:
        self.fake.add_part(ticket, "user", str(customer), text)

    def agent_writes(self, ticket: int, agent: int, text: str) -> None:
        self.fake.add_part(ticket, "admin", str(agent), text)

    def api_writes(self, ticket: int, customer: int, text: str) -> None:
        self.fake.add_part(ticket, "user", str(customer), text, app_package_code="another-integration")

    def posts(self, ticket: int) -> list[Post]:
        return [Post(p["body"] or "", p["part_type"] != "note") for p in self.fake.parts(ticket)
                if p["author"]["type"] == "admin" and str(p["author"]["id"]) == self.fake.admin_id]

    def delivery(self, ticket: int, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(intercom_notification("conversation.user.replied", ticket,
                                                notification_id=delivery_id)).encode()
        return body, sign_intercom(SECRETS["TEST_INTERCOM_SECRET"], body)


class FreshdeskDesk:
    name = "freshdesk"

    def __init__(self) -> None:
        self.fake = FakeFreshdesk(api_key=SECRETS["TEST_FRESHDESK_KEY"], agent_id=77)

    def account(self, url: str) -> dict[str, Any]:
        return {"type": "freshdesk", "base_url": url, "api_token_env": "TEST_FRESHDESK_KEY",
                "webhook_secret_env": "TEST_FRESHDESK_SECRET", "agent_user_id": "77", "max_attempts": 3}

    def add_people(self, customer: int, agent: int) -> None:
        self.fake.add_contact(customer, "Casey Customer")
        self.fake.add_agent(agent, "Alex Agent")

    def open_ticket(self, ticket: int, customer: int, subject: str, text: str) -> None:
        self.fake.add_ticket(ticket, subject, customer, text)

    def customer_writes(self, ticket: int, customer: int, text: str) -> None:
        self.fake.add_conversation(ticket, customer, text)

    def agent_writes(self, ticket: int, agent: int, text: str) -> None:
        self.fake.add_conversation(ticket, agent, text)

    def api_writes(self, ticket: int, customer: int, text: str) -> None:
        self.fake.add_conversation(ticket, customer, text, source=15)  # 15: written by an automation rule

    def posts(self, ticket: int) -> list[Post]:
        return [Post(c["body"], not c["private"]) for c in self.fake.conversations(ticket) if c["user_id"] == 77]

    def delivery(self, ticket: int, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        # Freshdesk sends no delivery id: the rule's body renders {{ticket.updated_at}}, which we vary.
        body = json.dumps(freshdesk_webhook(ticket, updated_at=delivery_id)).encode()
        return body, freshdesk_webhook_headers(SECRETS["TEST_FRESHDESK_SECRET"])


DESKS = {d.name: d for d in (ZendeskDesk, IntercomDesk, FreshdeskDesk)}
