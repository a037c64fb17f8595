"""FreshdeskConnector against FakeFreshdesk over real HTTP, and the fake's shapes against Freshdesk's sample JSON."""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base import REF_PREFIX
from connectors.budget import LocalBudget as RequestBudget
from connectors.freshdesk import FreshdeskConnector
from connectors.http import PermanentHelpdeskError, TransientHelpdeskError
from tests.conftest import FIXTURES
from tests.fakes.freshdesk import FakeFreshdesk
from tests.fakes.server import serve

KEY, ME, CUSTOMER, AGENT, CC, TICKET = "fd-api-key", 77, 1_001, 2_001, 1_002, 42
SAMPLES = FIXTURES / "freshdesk" / "python-freshdesk"


@pytest.fixture
def fd() -> FakeFreshdesk:
    fake = FakeFreshdesk(api_key=KEY, agent_id=ME)
    fake.add_contact(CUSTOMER, "Casey Customer", "casey@example.test")
    fake.add_contact(CC, "Chris Colleague", "chris@example.test")
    fake.add_agent(AGENT, "Avery Agent")
    fake.add_ticket(TICKET, "Where is my order?", CUSTOMER, "It has not arrived.\nOrder #1234.", tags=["order"])
    yield fake
    assert fake.errors == []


@pytest.fixture
def url(fd: FakeFreshdesk) -> str:
    with serve(fd.app) as srv:
        yield srv.url


class FakeClock:
    """time for the rate budget: only `sleep` moves it, so spacing is exact and the test takes no time."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1_000.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def build(make_config, monkeypatch, url):
    monkeypatch.setenv("TEST_FRESHDESK_KEY", KEY)
    monkeypatch.setenv("TEST_FRESHDESK_SECRET", "secret")
    made = []

    def connector(clock=None, **overrides) -> FreshdeskConnector:
        account = {"type": "freshdesk", "base_url": url, "api_token_env": "TEST_FRESHDESK_KEY",
                   "webhook_secret_env": "TEST_FRESHDESK_SECRET", "max_attempts": 3, **overrides}
        config = make_config(helpdesks={"freshdesk": account})
        extra = {"clock": clock, "sleep": clock.sleep} if clock else {}
        made.append(FreshdeskConnector(config.helpdesks["freshdesk"], config.webhooks, **extra))
        return made[-1]
    yield connector
    for c in made:
        c.close()


@pytest.fixture
def fdc(build) -> FreshdeskConnector:
    return build()


# ----- the fake's shapes match Freshdesk's sample responses -------------------------------------------------------

ACCOUNT_DEFINED = {"custom_fields"}  # each account defines its own ticket fields: only the type is compared


def assert_same_shape(ours, theirs, where: str) -> None:
    """Every key the sample has is present (extra keys tolerated); non-null values have the sample's JSON type."""
    assert set(theirs) <= set(ours), f"{where}: missing {sorted(set(theirs) - set(ours))}"
    for key, value in theirs.items():
        if value is None or ours[key] is None:
            continue
        assert type(ours[key]) is type(value), f"{where}.{key}: {type(ours[key]).__name__} vs {type(value).__name__}"
        if isinstance(value, dict) and value and key not in ACCOUNT_DEFINED:
            assert_same_shape(ours[key], value, f"{where}.{key}")


@pytest.mark.parametrize("sample, method, path, body", [
    ("ticket_1.json", "GET", f"/api/v2/tickets/{TICKET}?include=requester,stats", None),
    ("ticket_1_updated.json", "PUT", f"/api/v2/tickets/{TICKET}", {"tags": ["hello", "world"], "priority": 3}),
    ("note_1.json", "POST", f"/api/v2/tickets/{TICKET}/notes", {"body": "<div>This is a private note</div>"}),
    ("reply_1.json", "POST", f"/api/v2/tickets/{TICKET}/reply", {"body": "<div>This is a reply</div>"}),
    ("agent_1.json", "GET", "/api/v2/agents/me", None),
    ("agent_1.json", "GET", f"/api/v2/agents/{AGENT}", None),
    ("contact.json", "GET", f"/api/v2/contacts/{CUSTOMER}", None),
])
def test_fake_shapes_match_python_freshdesk_samples(url, sample, method, path, body):
    theirs = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    with httpx.Client(base_url=url, auth=(KEY, "X")) as http:
        ours = http.request(method, path, json=body).raise_for_status().json()
    assert_same_shape(ours, theirs, sample)


def test_fake_conversations_match_the_sample_list(fd, url):
    fd.add_conversation(TICKET, AGENT, "This is a private note", private=True)
    fd.add_conversation(TICKET, AGENT, "This is a reply")
    theirs = json.loads((SAMPLES / "conversations.json").read_text(encoding="utf-8"))
    with httpx.Client(base_url=url, auth=(KEY, "X")) as http:
        response = http.get(f"/api/v2/tickets/{TICKET}/conversations").raise_for_status()
    ours = response.json()
    for mine, sample in zip(ours, theirs, strict=True):
        assert_same_shape(mine, sample, "conversations.json[]")
        assert (mine["private"], mine["source"], mine["incoming"]) == (sample["private"], sample["source"], False)
    assert all(name in response.headers  # httpx headers look up case-insensitively
               for name in ("X-RateLimit-Total", "X-RateLimit-Remaining", "X-RateLimit-Used-CurrentRequest"))


def test_fake_notes_are_private_unless_told_and_validate_strictly(fd, url):
    with httpx.Client(base_url=url, auth=(KEY, "X")) as http:
        assert http.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "x"}).json()["private"] is True
        public = http.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "x", "private": False})
        assert public.json()["private"] is False
        wrong_type = http.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "x", "private": "true"})
        unknown = http.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "x", "public": False})
        over = http.get(f"/api/v2/tickets/{TICKET}/conversations", params={"per_page": 101})
        form = http.post(f"/api/v2/tickets/{TICKET}/notes", data={"body": "x"})
    assert (wrong_type.status_code, wrong_type.json()["errors"][0]["code"]) == (400, "datatype_mismatch")
    assert (unknown.status_code, unknown.json()["errors"][0]["code"]) == (400, "invalid_field")
    assert (over.status_code, over.json()["errors"][0]["field"]) == (400, "per_page")
    assert form.status_code == 415
    assert len(fd.writes) == 2


# ----- reading a ticket --------------------------------------------------------------------------------------------

def test_full_thread_with_pagination_over_250_conversations(fd, fdc):
    for n in range(250):
        fd.add_conversation(TICKET, CUSTOMER if n % 2 else AGENT, f"message {n}")
    ticket = fdc.fetch_ticket(str(TICKET))
    assert len(ticket.comments) == 251
    assert ticket.comments[0].id == "description" and ticket.comments[0].body == "It has not arrived.\nOrder #1234."
    assert [c.body for c in ticket.comments[1:]] == [f"message {n}" for n in range(250)]
    assert [c.id for c in ticket.comments[1:]] == [str(c["id"]) for c in fd.conversations(TICKET)]
    pages = [path for method, path in fd.requests if "/conversations" in path]
    assert pages == [f"/api/v2/tickets/{TICKET}/conversations?page={n}&per_page=100" for n in (1, 2, 3)]
    assert (ticket.status, ticket.tags, ticket.requester_id, ticket.subject) == ("open", ("order",), str(CUSTOMER),
                                                                                  "Where is my order?")
    assert ticket.url.endswith(f"/a/tickets/{TICKET}")


def test_exactly_one_full_page_without_link_reads_one_empty_page(fd, fdc):
    for n in range(100):
        fd.add_conversation(TICKET, CUSTOMER, f"message {n}")
    assert len(fdc.fetch_ticket(str(TICKET)).comments) == 101
    pages = [path for method, path in fd.requests if "/conversations" in path]
    assert pages == [f"/api/v2/tickets/{TICKET}/conversations?page={n}&per_page=100" for n in (1, 2)]


def test_a_link_to_another_host_is_never_followed(fdc):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = int(request.url.params.get("page", "1"))
        items = [{"id": page * 1000 + n, "user_id": CUSTOMER, "body_text": "hi", "incoming": True, "private": False,
                  "source": 0, "created_at": f"2026-01-0{page}T00:00:00Z"} for n in range(100 if page == 1 else 3)]
        return httpx.Response(200, json=items, headers={"Link": '<https://evil.example/steal?page=2>; rel="next"'})

    fdc._http = httpx.Client(base_url="http://fd.test", auth=(KEY, "X"), transport=httpx.MockTransport(handler))
    assert len(fdc._all_conversations("5")) == 103
    assert all(u.startswith("http://fd.test/") for u in seen) and len(seen) == 2


def test_roles_customer_other_agent_our_own_note_and_automation(fd, fdc):
    fd.add_conversation(TICKET, AGENT, "Let me check.")                                   # another agent's reply
    fd.add_conversation(TICKET, AGENT, "Warehouse says Tuesday", private=True)             # their private note
    fd.add_conversation(TICKET, CC, "Adding my colleague's view.")                          # a CC'd contact, incoming
    fd.add_conversation(TICKET, AGENT, "Auto: we got it", source=15)                        # an automation rule
    fd.add_conversation(TICKET, CUSTOMER, "Typed by an agent for Casey", incoming=False)   # on the contact's behalf
    note_id = fdc.post_note(str(TICKET), f"Draft for the agent\n{REF_PREFIX} freshdesk:{TICKET}:abc")
    fd.add_conversation(TICKET, CUSTOMER, "Any news?")                                    # the requester, incoming
    comments = fdc.fetch_ticket(str(TICKET)).comments
    got = [(c.author_role, c.public, c.via_api) for c in comments]
    assert got == [
        ("customer", True, False),  # the description
        ("agent", True, False), ("agent", False, False), ("customer", True, False), ("agent", True, True),
        ("customer", True, True), ("self", False, False), ("customer", True, False),
    ]
    ours = comments[6]
    assert ours.id == note_id and ours.body == f"Draft for the agent\n{REF_PREFIX} freshdesk:{TICKET}:abc"
    assert comments[-1].from_customer and not comments[5].from_customer
    ticket = fdc.fetch_ticket(str(TICKET))
    assert ticket.posted_refs() == {f"freshdesk:{TICKET}:abc"}
    # Agents are looked up once per connector; the requester and we are never looked up.
    lookups = [path for method, path in fd.requests if path.startswith("/api/v2/agents/")]
    assert sorted(lookups) == sorted(["/api/v2/agents/me", f"/api/v2/agents/{AGENT}", f"/api/v2/agents/{CC}"])


def test_outbound_email_description_is_the_agents(fd, fdc):
    fd.add_ticket(43, "Your renewal", CUSTOMER, "Hi Casey, your plan renews soon.", source=10, responder_id=AGENT)
    first = fdc.fetch_ticket("43").comments[0]
    assert (first.author_role, first.author_id) == ("agent", str(AGENT))


def test_configured_agent_id_skips_agents_me(fd, build):
    connector = build(agent_user_id=str(ME))
    connector.fetch_ticket(str(TICKET))
    assert ("GET", "/api/v2/agents/me") not in fd.requests


def test_missing_ticket_is_none(fdc):
    assert fdc.fetch_ticket("999") is None


def test_wrong_key_is_permanent_and_not_retried(fd, build, monkeypatch):
    connector = build()
    monkeypatch.setenv("TEST_FRESHDESK_KEY", "not-the-key")
    with pytest.raises(PermanentHelpdeskError) as raised:
        connector.fetch_ticket(str(TICKET))
    assert raised.value.status == 401 and "invalid_credentials" in str(raised.value)
    assert len(fd.auth_failures) == 1


def test_429_with_retry_after_then_success(fd, fdc):
    fd.fail_next(429, retry_after=1, path_contains="/conversations")
    started = time.monotonic()
    ticket = fdc.fetch_ticket(str(TICKET))
    assert ticket is not None and time.monotonic() - started >= 0.9
    assert [p for m, p in fd.requests if "/conversations" in p] == [
        f"/api/v2/tickets/{TICKET}/conversations?page=1&per_page=100"] * 2


def test_a_long_retry_after_is_left_to_the_celery_retry(fd, fdc):
    fd.fail_next(429, retry_after=3600)
    with pytest.raises(TransientHelpdeskError) as raised:
        fdc.fetch_ticket(str(TICKET))
    assert raised.value.retry_after == 3600 and len(fd.requests) == 1


# ----- writing -----------------------------------------------------------------------------------------------------

def test_post_note_is_private_explicitly_and_escaped(fd, fdc):
    note_id = fdc.post_note(str(TICKET), "Refund <b>approved</b> & sent\nline two")
    write = fd.writes[-1]
    assert (write["method"], write["path"]) == ("POST", f"/api/v2/tickets/{TICKET}/notes")
    assert write["json"] == {"body": "<div>Refund &lt;b&gt;approved&lt;/b&gt; &amp; sent<br>line two</div>",
                             "private": True}
    assert write["headers"]["Content-Type"] == "application/json"
    stored = fd.conversations(TICKET)[-1]
    assert (str(stored["id"]), stored["private"], stored["user_id"], stored["source"]) == (note_id, True, ME, 2)


def test_post_reply_is_public(fd, fdc):
    reply_id = fdc.post_reply(str(TICKET), "Hi Casey,\nit ships Tuesday.")
    write = fd.writes[-1]
    assert (write["path"], write["json"]) == (f"/api/v2/tickets/{TICKET}/reply",
                                              {"body": "<div>Hi Casey,<br>it ships Tuesday.</div>"})
    stored = fd.conversations(TICKET)[-1]
    assert (str(stored["id"]), stored["private"], stored["source"], stored["to_emails"]) == (
        reply_id, False, 0, ["casey@example.test"])


def test_escalate_posts_the_note_then_merges_tags_and_sets_the_group(fd, fdc):
    note_id = fdc.escalate(str(TICKET), "Legal threat: needs a lead", ["legal", "order"], "12")
    assert [(w["method"], w["path"]) for w in fd.writes] == [
        ("POST", f"/api/v2/tickets/{TICKET}/notes"), ("PUT", f"/api/v2/tickets/{TICKET}")]
    assert fd.writes[1]["json"] == {"tags": ["order", "legal"], "group_id": 12}
    assert fd.ticket(TICKET)["tags"] == ["order", "legal"] and fd.ticket(TICKET)["group_id"] == 12
    assert str(fd.conversations(TICKET)[-1]["id"]) == note_id and fd.conversations(TICKET)[-1]["private"]


def test_escalate_without_group_only_touches_tags(fd, fdc):
    fdc.escalate(str(TICKET), "Needs a human", ["deskdraft_escalated"], None)
    assert fd.writes[-1]["json"] == {"tags": ["order", "deskdraft_escalated"]}


def test_escalate_refuses_a_group_name_before_writing(fd, fdc):
    with pytest.raises(PermanentHelpdeskError, match="numeric group id"):
        fdc.escalate(str(TICKET), "x", [], "Billing")
    assert fd.writes == []


# ----- the rate budget ---------------------------------------------------------------------------------------------

def test_budget_spaces_every_request_including_retries(fd, build):
    clock = FakeClock()
    connector = build(clock=clock, requests_per_minute=60)  # one request a second
    fd.fail_next(429, retry_after=0, path_contains="/conversations")
    connector.fetch_ticket(str(TICKET))
    connector.post_note(str(TICKET), "note")
    sent = len(fd.requests)
    assert sent == 5  # ticket, agents/me, conversations (429), conversations, note
    assert clock.sleeps == [1.0] * (sent - 1) and clock.now == 1_000.0 + sent - 1


def test_no_budget_means_no_waiting(fd, build):
    clock = FakeClock()
    build(clock=clock).fetch_ticket(str(TICKET))
    assert clock.sleeps == []


def test_budget_lets_idle_time_count_and_queues_threads():
    clock = FakeClock()
    budget = RequestBudget(120, clock, clock.sleep)  # 0.5 s apart
    assert budget.acquire() == 0.0
    clock.now += 10  # idle for a while: the next request goes at once, no burst credit is saved up
    assert budget.acquire() == 0.0 and budget.acquire() == 0.5

    frozen, waits, lock = FakeClock(), [], threading.Lock()
    shared = RequestBudget(60, frozen, lambda s: None)  # time stands still: each thread must get its own slot

    def worker() -> None:
        wait = shared.acquire()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_the_ticket_names_its_requester_and_agents_for_redaction(fd, fdc):
    fd.add_conversation(TICKET, AGENT, "Let me check.")
    fd.add_conversation(TICKET, CUSTOMER, "Thanks Avery!")
    people = fdc.fetch_ticket(str(TICKET)).people
    assert [(p.name, p.email, p.role) for p in people] == [
        ("Casey Customer", "casey@example.test", "customer"), ("Avery Agent", None, "agent")]


def test_changed_tickets_page_on_from_the_last_updated_at(fd, fdc):
    # Each next page is page 1 from the last updated_at seen: past Freshdesk's 300-page limit, and a ticket updated
    # mid-walk (it moves to the end of the ascending list) cannot push an unread one back onto a page already read.
    fd.max_list_pages = 1
    seconds = iter(range(10**6))
    fd._clock = lambda: datetime(2026, 1, 5, tzinfo=UTC) + timedelta(seconds=next(seconds))
    for n in range(2_000, 2_250):
        fd.add_ticket(n, f"Question {n}", CUSTOMER, "Where is my parcel?")
    listing, app = [], fd.app.wsgi_app

    def update_during_the_walk(environ, start_response):
        if environ["PATH_INFO"] == "/api/v2/tickets":
            listing.append(environ["QUERY_STRING"])
            if len(listing) == 2:
                fd.update_ticket(2_000, priority=3)  # already listed; moves to the end
        return app(environ, start_response)

    fd.app.wsgi_app = update_during_the_walk
    changed = list(fdc.changed_tickets(0.0))
    assert {c.ticket_id for c in changed} >= {str(n) for n in range(2_000, 2_250)}
    assert len(listing) == 3 and all("page=1&" in q and "order_type=asc" in q for q in listing)
