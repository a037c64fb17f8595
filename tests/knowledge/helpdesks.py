"""Three fake helpdesks seeded with help-center articles and solved tickets, and connectors pointed at them."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.freshdesk import FreshdeskConnector
from connectors.intercom import IntercomConnector
from connectors.zendesk import ZendeskConnector
from deskdraft.settings import HelpdeskAccount, KnowledgeSource, WebhookSettings
from tests.fakes.freshdesk import FakeFreshdesk
from tests.fakes.intercom import FakeIntercom
from tests.fakes.server import serve
from tests.fakes.zendesk import FakeZendesk

WEBHOOKS = WebhookSettings(max_body_bytes=1 << 20, timestamp_tolerance_seconds=300)
PII = ("casey@example.com", "4111 1111 1111 1111", "+44 20 7946 0958", "DE89 3704 0044 0532 0130 00",
       "221B Baker Street")
QUESTION = ("My parcel never came. Email me at casey@example.com or call +44 20 7946 0958; I paid with card "
            "4111 1111 1111 1111. Refund to DE89 3704 0044 0532 0130 00, I live at 221B Baker Street.")
ANSWER = "Sorry about that! We have refunded the order; it shows on your statement within 5 working days."


class Clock:
    """A settable clock: the fakes stamp records with it, and Zendesk's export hides the last minute."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) - timedelta(days=2)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def account(name: str, kind: str, url: str, **extra: object) -> HelpdeskAccount:
    return HelpdeskAccount(name=name, type=kind, base_url=url, email="bot@acme.test" if kind == "zendesk" else None,
                           api_token_env=f"KB_{name.upper()}_TOKEN", webhook_secret_env="KB_SECRET",
                           agent_user_id=None, timeout_seconds=5, max_attempts=2, **extra)  # type: ignore[arg-type]


@dataclass
class Helpdesks:
    zendesk: FakeZendesk
    intercom: FakeIntercom
    freshdesk: FakeFreshdesk
    clock: Clock
    connectors: dict

    def sources(self, folder: str | None = None) -> list[KnowledgeSource]:
        found = [KnowledgeSource(type=t, kind="past_ticket" if t == "past_tickets" else "article", account=a)
                 for a in ("zd", "ic", "fd") for t in ("helpcenter", "past_tickets")]
        if folder:
            found.append(KnowledgeSource(type="folder", kind="policy", path=folder))
        return found


def seed_zendesk(fake: FakeZendesk) -> None:
    fake.help_center_locales = ["en-us", "de"]
    fake.add_user(20_001, "Casey Customer", "end-user")
    fake.add_user(30_001, "Avery Agent", "agent")
    fake.add_article(101, "Returns", "<h2>How long</h2><p>Return within 30 days.</p><h2>Labels</h2><p>Print the "
                     "label from your order page.</p>")
    fake.add_article(101, "Rücksendungen", "<p>Rücksendung innerhalb von 30 Tagen.</p>", locale="de")
    fake.add_article(102, "Shipping times", "<p>Orders ship in two working days.</p>")
    fake.add_article(103, "Upcoming sale", "<p>Not public yet.</p>", draft=True)
    for n in range(104, 109):  # enough to need a second page at page[size]=100? no: the test sets a small size
        fake.add_article(n, f"Gift cards {n}", f"<p>Gift card rule number {n}.</p>")
    fake.add_ticket(7, "Parcel missing", 20_001, description=QUESTION)
    fake.add_comment(7, 30_001, "Internal: refund approved.", public=False)
    fake.add_comment(7, 30_001, ANSWER)
    fake.update_ticket(7, status="solved")
    fake.add_ticket(8, "Still open", 20_001, description="Where is it?")  # open: not a past resolution
    fake.add_ticket(9, "No answer", 20_001, description="Hello?")
    fake.update_ticket(9, status="closed")  # closed without a public answer: skipped


def seed_intercom(fake: FakeIntercom, now: int) -> None:
    fake.add_contact("c1", "Casey Customer")
    fake.add_admin("500", "Avery Agent")
    fake.add_article("201", "Reset your password", "<p>Use the link on the sign-in page.</p>", updated_at=now)
    fake.add_article("202", "Delivery", "<p>We deliver in 3 days.</p>", updated_at=now,
                     translations={"en": {}, "fr": {"title": "Livraison", "body": "<p>Livraison en 3 jours.</p>"},
                                   "de": {"title": "Lieferung", "body": "<p>Entwurf</p>", "state": "draft"}})
    fake.add_article("203", "Draft article", "<p>wip</p>", state="draft", updated_at=now)
    fake.add_conversation("9001", "c1", QUESTION, created_at=now)
    fake.add_part("9001", "admin", "500", ANSWER, created_at=now)
    fake.set_state("9001", "closed", at=now)
    fake.add_conversation("9002", "c1", "Is this open?", created_at=now)  # open: not listed


def seed_freshdesk(fake: FakeFreshdesk) -> None:
    fake.add_contact(11, "Casey Customer", email="casey@example.com")
    fake.add_agent(12, "Avery Agent")
    fake.add_solution_category(2, "General")
    fake.add_solution_folder(3, 2, "Getting started")
    fake.add_solution_article(4, 3, "Changing account details", "<p>Open <b>account details</b> and edit.</p>")
    fake.add_solution_article(5, 3, "Adding a payment method", "<p>Draft text.</p>", status=1)
    fake.add_solution_article(6, 3, "Opening hours", "<p>We answer 9 to 5.</p>")
    fake.add_ticket(21, "Parcel missing", 11, QUESTION)
    fake.add_conversation(21, 12, ANSWER)
    fake.update_ticket(21, status=4)
    fake.add_ticket(22, "Open one", 11, "Still waiting")


@contextmanager
def running_helpdesks(monkeypatch) -> Iterator[Helpdesks]:
    clock = Clock()
    zd = FakeZendesk(email="bot@acme.test", token="zt", clock=clock)
    ic = FakeIntercom(token="it", admin_id="991", clock=lambda: clock().timestamp())
    fd = FakeFreshdesk(api_key="fk", clock=clock)
    seed_zendesk(zd)
    seed_intercom(ic, int(clock().timestamp()))
    seed_freshdesk(fd)
    clock.advance(minutes=5)  # Zendesk's incremental export leaves out the last minute
    for name, token in (("ZD", "zt"), ("IC", "it"), ("FD", "fk")):
        monkeypatch.setenv(f"KB_{name}_TOKEN", token)
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(fake.app)).url for name, fake in (("zd", zd), ("ic", ic), ("fd", fd))}
        connectors = {
            "zd": ZendeskConnector(account("zd", "zendesk", urls["zd"]), WEBHOOKS),
            "ic": IntercomConnector(account("ic", "intercom", urls["ic"], admin_id="991"), WEBHOOKS),
            "fd": FreshdeskConnector(account("fd", "freshdesk", urls["fd"]), WEBHOOKS),
        }
        try:
            yield Helpdesks(zd, ic, fd, clock, connectors)
        finally:
            for connector in connectors.values():
                connector.close()
    assert zd.errors == [] and ic.errors == [] and fd.errors == []
