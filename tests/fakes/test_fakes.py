"""The fakes are only useful if they behave like the real services: these tests pin that down."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import anthropic
import httpx
import pytest

from tests.conftest import FIXTURES
from tests.fakes import FakeClaude, FakeZendesk, serve, sign_zendesk, zendesk_event

EMAIL, TOKEN = "bot@acme.test", "tok"
CUSTOMER, AGENT, TICKET = 20_001, 30_001, 7

GO_ZENDESK = FIXTURES / "zendesk" / "go-zendesk"  # go-zendesk's mock API bodies


def go_zendesk(name: str) -> dict:
    return json.loads((GO_ZENDESK / name).read_text(encoding="utf-8"))


@pytest.fixture
def zd() -> FakeZendesk:
    fake = FakeZendesk(email=EMAIL, token=TOKEN)
    fake.add_user(CUSTOMER, "Casey Customer", "end-user")
    fake.add_user(AGENT, "Avery Agent", "agent")
    fake.add_ticket(TICKET, "Where is my order?", CUSTOMER, tags=["order"], description="It has not arrived.")
    yield fake
    assert fake.errors == []


@pytest.fixture
def zd_http(zd: FakeZendesk) -> httpx.Client:
    with serve(zd.app) as srv, httpx.Client(base_url=srv.url, auth=(f"{EMAIL}/token", TOKEN), timeout=5) as http:
        yield http


@pytest.fixture
def claude() -> tuple[FakeClaude, anthropic.Anthropic]:
    fake = FakeClaude(api_key="test")
    with serve(fake.app) as srv:
        yield fake, anthropic.Anthropic(api_key="test", base_url=srv.url, max_retries=0,
                                        _strict_response_validation=True)
    assert fake.errors == []


def assert_same_shape(ours: dict, theirs: dict, where: str) -> None:
    """Every key the vendor sends is present, and non-null values have the vendor's JSON type."""
    assert set(theirs) <= set(ours), f"{where}: missing {sorted(set(theirs) - set(ours))}"
    for key, value in theirs.items():
        if value is not None and ours[key] is not None:
            assert type(ours[key]) is type(value), f"{where}.{key}: {type(ours[key])} vs {type(value)}"


# ----- Zendesk: shapes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture, method, path, key", [
    ("GET/ticket.json", "GET", f"/api/v2/tickets/{TICKET}.json", "ticket"),
    ("PUT/ticket.json", "PUT", f"/api/v2/tickets/{TICKET}.json", "ticket"),
    ("GET/ticket_comments.json", "GET", f"/api/v2/tickets/{TICKET}/comments.json?page[size]=100", "comments"),
    ("GET/user.json", "GET", f"/api/v2/users/{CUSTOMER}.json", "user"),
    ("GET/users.json", "GET", f"/api/v2/users/show_many.json?ids={CUSTOMER},{AGENT}", "users"),
])
def test_zendesk_shapes_match_go_zendesk_fixtures(zd_http, fixture, method, path, key):
    theirs = go_zendesk(fixture)
    body = {"ticket": {"comment": {"body": "Drafted note", "public": False}}} if method == "PUT" else None
    ours = zd_http.request(method, path, json=body).raise_for_status().json()

    assert_same_shape(ours, theirs, fixture)
    if isinstance(theirs[key], list):
        assert ours[key], f"{fixture}: empty {key}"
        for item in ours[key]:
            assert_same_shape(item, theirs[key][0], f"{fixture}.{key}[]")
    else:
        assert_same_shape(ours[key], theirs[key], f"{fixture}.{key}")


def test_put_returns_an_audit_shaped_like_zendesks(zd_http):
    audit = go_zendesk("GET/ticket_audit.json")["audit"]
    comment_event = next(e for e in audit["events"] if e["type"] == "Comment")

    ours = zd_http.put(f"/api/v2/tickets/{TICKET}", json={"ticket": {"comment": {"body": "x", "public": False}}})

    assert_same_shape(ours.json()["audit"], audit, "audit")
    assert_same_shape(ours.json()["audit"]["events"][0], comment_event, "audit.events[Comment]")
    assert ours.json()["audit"]["via"]["channel"] == "api"


def test_responses_are_json_with_zendesk_rate_limit_headers(zd_http):
    first = zd_http.get(f"/api/v2/tickets/{TICKET}")
    second = zd_http.get(f"/api/v2/tickets/{TICKET}.json")

    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert first.headers["X-Rate-Limit"] == "700"
    assert int(second.headers["X-Rate-Limit-Remaining"]) == int(first.headers["X-Rate-Limit-Remaining"]) - 1


def test_the_description_is_the_first_comment_by_the_requester(zd, zd_http):
    ticket = zd_http.get(f"/api/v2/tickets/{TICKET}").json()["ticket"]
    first = zd.comments(TICKET)[0]

    assert ticket["description"] == first["body"] == "It has not arrived."
    assert first["author_id"] == ticket["requester_id"] == CUSTOMER


# ----- Zendesk: pagination ---------------------------------------------------------------------------------------

def test_cursor_pagination_walks_250_comments_in_three_pages(zd, zd_http):
    for n in range(249):
        zd.add_comment(TICKET, CUSTOMER if n % 2 else AGENT, f"comment {n}", public=n % 3 != 0)
    expected = [c["id"] for c in zd.comments(TICKET)]

    pages, url = [], f"/api/v2/tickets/{TICKET}/comments.json?page[size]=100"
    while url:
        page = zd_http.get(url).raise_for_status().json()
        pages.append(page)
        url = page["links"]["next"] if page["meta"]["has_more"] else None

    assert [len(p["comments"]) for p in pages] == [100, 100, 50]
    assert [p["meta"]["has_more"] for p in pages] == [True, True, False]
    seen = [c["id"] for p in pages for c in p["comments"]]
    assert len(expected) == 250 and seen == expected == sorted(expected)


def test_cursor_pagination_backwards_and_descending(zd, zd_http):
    for n in range(4):
        zd.add_comment(TICKET, CUSTOMER, f"comment {n}")
    ids = [c["id"] for c in zd.comments(TICKET)]

    newest = zd_http.get(f"/api/v2/tickets/{TICKET}/comments", params={"page[size]": 2, "sort_order": "desc"}).json()
    older = zd_http.get(newest["links"]["next"]).json()
    back = zd_http.get(older["links"]["prev"]).json()

    assert [c["id"] for c in newest["comments"]] == ids[:-3:-1]
    assert [c["id"] for c in older["comments"]] == ids[-3:-5:-1]
    assert back["comments"] == newest["comments"]


def test_without_page_size_zendesk_uses_offset_pagination(zd, zd_http):
    for n in range(120):
        zd.add_comment(TICKET, CUSTOMER, f"comment {n}")

    body = zd_http.get(f"/api/v2/tickets/{TICKET}/comments.json").json()

    assert "meta" not in body and body["count"] == 121 and len(body["comments"]) == 100
    assert zd_http.get(body["next_page"]).json()["next_page"] is None


def test_page_size_over_100_is_rejected(zd_http):
    response = zd_http.get(f"/api/v2/tickets/{TICKET}/comments", params={"page[size]": 101})

    assert response.status_code == 400
    assert response.json()["error"] == "InvalidPaginationParameter"


# ----- Zendesk: auth and faults ----------------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [
    None,
    (f"{EMAIL}/token", "wrong"),
    ("someone@acme.test/token", TOKEN),
    (EMAIL, TOKEN),  # password-style basic auth with the token as password: not the token scheme
])
def test_bad_credentials_get_401(zd, auth):
    with serve(zd.app) as srv:
        response = httpx.get(f"{srv.url}/api/v2/tickets/{TICKET}.json", auth=auth)

    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}
    assert zd.auth_failures[-1]["path"] == f"/api/v2/tickets/{TICKET}.json"


def test_bearer_token_is_not_accepted_for_token_auth(zd):
    with serve(zd.app) as srv:
        response = httpx.get(f"{srv.url}/api/v2/users/me", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 401
    assert zd.auth_failures[-1]["authorization"] == f"Bearer {TOKEN}"


def test_429_with_retry_after_then_success(zd, zd_http):
    zd.fail_next(429, retry_after=1)

    limited = zd_http.get(f"/api/v2/tickets/{TICKET}")
    ok = zd_http.get(f"/api/v2/tickets/{TICKET}")

    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert "X-Rate-Limit-Remaining" in limited.headers
    assert ok.status_code == 200 and ok.json()["ticket"]["id"] == TICKET


def test_faults_can_target_one_endpoint_and_repeat(zd, zd_http):
    zd.fail_next(503, times=2, path_contains="/comments")

    assert zd_http.get(f"/api/v2/tickets/{TICKET}").status_code == 200
    assert [zd_http.get(f"/api/v2/tickets/{TICKET}/comments").status_code for _ in range(3)] == [503, 503, 200]


def test_unknown_records_and_routes_are_404(zd_http):
    assert zd_http.get("/api/v2/tickets/999.json").json() == {"error": "RecordNotFound", "description": "Not found"}
    assert zd_http.get("/api/v2/users/999").status_code == 404
    assert zd_http.get("/api/v2/no_such_thing").json()["error"] == "InvalidEndpoint"


def test_delay_next_slows_one_request_and_the_server_is_concurrent(zd):
    zd.delay_next(0.4, times=3)
    with serve(zd.app) as srv:
        def fetch(_: int) -> int:
            return httpx.get(f"{srv.url}/api/v2/users/me", auth=(f"{EMAIL}/token", TOKEN)).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(3) as pool:
            statuses = list(pool.map(fetch, range(3)))
        elapsed = time.monotonic() - started

    assert statuses == [200, 200, 200]
    assert 0.4 <= elapsed < 1.0  # three delayed calls overlapped


# ----- Zendesk: writes -------------------------------------------------------------------------------------------

def test_put_without_public_posts_a_public_comment(zd, zd_http):
    response = zd_http.put(f"/api/v2/tickets/{TICKET}.json", json={"ticket": {"comment": {"body": "Hello"}}})

    latest = zd.comments(TICKET)[-1]
    assert response.status_code == 200 and response.json()["audit"]["events"][0]["public"] is True
    assert latest["public"] is True  # Zendesk's default: a forgotten flag emails the customer
    assert latest["author_id"] == zd.agent_user_id and latest["via"]["channel"] == "api"


def test_put_with_public_false_posts_a_private_note(zd, zd_http):
    payload = {"ticket": {"comment": {"body": "Draft:\n\nThanks <b>for</b> waiting", "public": False}}}

    zd_http.put(f"/api/v2/tickets/{TICKET}.json", json=payload).raise_for_status()

    latest = zd.comments(TICKET)[-1]
    assert latest["public"] is False and latest["body"] == "Draft:\n\nThanks <b>for</b> waiting"
    assert "&lt;b&gt;" in latest["html_body"]
    assert zd.writes == [{"method": "PUT", "path": f"/api/v2/tickets/{TICKET}.json", "json": payload,
                          "headers": zd.writes[0]["headers"]}]
    assert zd.writes[0]["headers"]["authorization"].startswith("Basic ")


def test_put_html_body_and_explicit_author(zd, zd_http):
    comment = {"html_body": "<p>Hi <b>there</b></p>", "public": False, "author_id": AGENT}

    zd_http.put(f"/api/v2/tickets/{TICKET}", json={"ticket": {"comment": comment}}).raise_for_status()

    latest = zd.comments(TICKET)[-1]
    assert (latest["body"], latest["author_id"], latest["html_body"]) == ("Hi there", AGENT, comment["html_body"])


def test_put_edits_tags_group_and_status(zd, zd_http):
    update = {"additional_tags": ["ai_drafted", "order"], "remove_tags": ["order"], "group_id": 42,
              "status": "pending"}

    body = zd_http.put(f"/api/v2/tickets/{TICKET}", json={"ticket": update}).json()
    zd_http.put(f"/api/v2/tickets/{TICKET}", json={"ticket": {"tags": ["replaced"]}}).raise_for_status()

    assert (body["ticket"]["tags"], body["ticket"]["group_id"], body["ticket"]["status"]) == (
        ["ai_drafted"], 42, "pending")
    assert {e["field_name"] for e in body["audit"]["events"]} == {"tags", "group_id", "status"}
    assert zd.ticket(TICKET)["tags"] == ["replaced"]  # plain `tags` overwrites


def test_comment_ids_grow_across_the_account(zd, zd_http):
    zd.add_ticket(8, "Another", CUSTOMER)
    zd_http.put(f"/api/v2/tickets/{TICKET}", json={"ticket": {"comment": {"body": "a", "public": False}}})
    zd.add_comment(8, CUSTOMER, "b")

    ids = [c["id"] for t in (TICKET, 8) for c in zd.comments(t)]
    assert sorted(ids) == sorted(set(ids)) and zd.comments(8)[-1]["id"] == max(ids)


@pytest.mark.parametrize("payload, status", [
    ({"comment": {"body": "no ticket root"}}, 400),
    ({"ticket": {"comment": {"body": "  ", "public": False}}}, 422),
    ({"ticket": {"comment": {"body": "x", "public": "maybe"}}}, 422),
    ({"ticket": {"status": "archived"}}, 422),
])
def test_bad_updates_are_rejected_without_writing(zd, zd_http, payload, status):
    response = zd_http.put(f"/api/v2/tickets/{TICKET}", json=payload)

    assert response.status_code == status and "error" in response.json()
    assert zd.writes == [] and len(zd.comments(TICKET)) == 1


def test_closed_tickets_refuse_updates(zd, zd_http):
    zd.add_ticket(9, "Old", CUSTOMER, status="closed")

    response = zd_http.put("/api/v2/tickets/9", json={"ticket": {"comment": {"body": "x", "public": False}}})

    assert response.status_code == 422 and response.json()["error"] == "RecordInvalid"


# ----- Zendesk: users --------------------------------------------------------------------------------------------

def test_users_me_show_many_and_roles(zd, zd_http):
    me = zd_http.get("/api/v2/users/me.json").json()["user"]
    many = zd_http.get("/api/v2/users/show_many", params={"ids": f"{CUSTOMER},{AGENT},999"}).json()

    assert (me["id"], me["email"], me["role"]) == (zd.agent_user_id, EMAIL, "agent")
    assert [(u["id"], u["role"]) for u in many["users"]] == [(CUSTOMER, "end-user"), (AGENT, "agent")]


# ----- Zendesk: webhooks -----------------------------------------------------------------------------------------

def test_sign_zendesk_matches_an_independent_computation():
    secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
    body = b'{"type":"zen:event-type:ticket.created","detail":{"id":"7"}}'
    timestamp = "2021-03-25T05:09:27Z"
    # printf '%s' "$timestamp$body" | openssl dgst -sha256 -hmac "$secret" -binary | base64
    openssl = "/LtxDaSkgC3ZstRnhBOLqpPZ6Wb8Ct0g+UXNYQO2bNs="
    stdlib = base64.b64encode(hmac.new(secret.encode(), (timestamp + body.decode()).encode(),
                                       hashlib.sha256).digest()).decode()

    headers = sign_zendesk(secret, body, timestamp, invocation_id="8350205582")

    assert headers == {"X-Zendesk-Webhook-Signature": openssl, "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
                       "x-zendesk-webhook-invocation-id": "8350205582"}
    assert stdlib == openssl
    assert "x-zendesk-webhook-invocation-id" not in sign_zendesk(secret, body, timestamp)


def test_zendesk_event_envelopes():
    added = zendesk_event(TICKET, event_id="evt-1", author_is_staff=False, is_public=True, body="Any news?")
    created = zendesk_event(TICKET, type="zen:event-type:ticket.created")

    assert {"type", "account_id", "id", "time", "zendesk_event_version", "subject", "detail", "event"} <= set(added)
    assert (added["id"], added["subject"], added["detail"]["id"]) == ("evt-1", f"zen:ticket:{TICKET}", str(TICKET))
    assert added["event"]["comment"]["body"] == "Any news?"
    assert added["event"]["comment"]["author"] == {"id": str(CUSTOMER), "is_staff": False, "name": "Customer"}
    assert "comment" not in created["event"] and "sequence" in created["event"]["meta"]
    assert added["id"] != zendesk_event(TICKET)["id"]


# ----- Claude ----------------------------------------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"intent": {"type": "string"}}, "required": ["intent"]}


def ask(client: anthropic.Anthropic, **kwargs):
    return client.messages.create(model="claude-test-model", max_tokens=200,
                                  messages=[{"role": "user", "content": "Where is my order?"}], **kwargs)


def test_sdk_gets_structured_json_from_the_queue(claude):
    fake, client = claude
    fake.reply_json({"intent": "order_status"}, input_tokens=12, output_tokens=7)

    message = ask(client, output_config={"format": {"type": "json_schema", "schema": SCHEMA}})

    assert json.loads(message.content[0].text) == {"intent": "order_status"}
    assert (message.model, message.stop_reason, message.usage.output_tokens) == ("claude-test-model", "end_turn", 7)
    assert message.id.startswith("msg_")
    seen = fake.requests[0]
    assert seen["headers"]["Authorization"] == "Bearer test" and "x-api-key" not in seen["headers"]
    assert seen["headers"]["anthropic-version"]
    assert seen["json"]["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert fake.pending == 0


@pytest.mark.parametrize("status, error", [
    (429, anthropic.RateLimitError),
    (529, anthropic.OverloadedError),
    (500, anthropic.InternalServerError),
    (400, anthropic.BadRequestError),
])
def test_queued_failures_raise_the_sdks_error_classes(claude, status, error):
    fake, client = claude
    fake.fail(status)

    with pytest.raises(error) as caught:
        ask(client)

    assert type(caught.value) is error and caught.value.status_code == status
    assert caught.value.request_id.startswith("req_")
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == {
        429: "rate_limit_error", 529: "overloaded_error", 500: "api_error", 400: "invalid_request_error"}[status]


def test_sdk_retries_honour_retry_after_ms(claude):
    fake, client = claude
    fake.fail(529, times=2, retry_after_ms=5)
    fake.reply_text("Thanks for waiting")

    message = ask(client.with_options(max_retries=2))

    assert message.content[0].text == "Thanks for waiting"
    assert [r["headers"]["X-Stainless-Retry-Count"] for r in fake.requests] == ["0", "1", "2"]


def test_wrong_key_is_an_authentication_error(claude):
    fake, client = claude
    fake.reply_text("never sent")

    with pytest.raises(anthropic.AuthenticationError):
        ask(client.with_options(api_key="wrong"))
    assert fake.pending == 1


def test_the_api_validates_required_fields_and_headers(claude):
    _, client = claude
    url = f"{client.base_url}".rstrip("/") + "/v1/messages"
    headers = {"Authorization": "Bearer test", "anthropic-version": "2026-10-21"}

    missing = httpx.post(url, headers=headers, json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    no_version = httpx.post(url, headers={"Authorization": "Bearer test"},
                            json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})

    assert missing.status_code == 400 and missing.json()["error"] == {
        "type": "invalid_request_error", "message": "max_tokens: Field required"}
    assert no_version.status_code == 400 and "anthropic-version" in no_version.json()["error"]["message"]


def test_malformed_output_format_is_a_bad_request(claude):
    fake, client = claude
    fake.reply_json({"intent": "x"})

    with pytest.raises(anthropic.BadRequestError, match="json_schema"):
        ask(client, output_config={"format": {"type": "json_object"}})


def test_empty_queue_says_so_unless_a_default_is_set(claude):
    fake, client = claude

    with pytest.raises(anthropic.InternalServerError, match="no reply queued"):
        ask(client)
    fake.default = lambda request_json: {"echo": request_json["messages"][0]["content"]}
    assert json.loads(ask(client).content[0].text) == {"echo": "Where is my order?"}


def test_hold_keeps_a_call_in_flight_until_released(claude):
    fake, client = claude
    fake.hold(30)
    fake.reply_text("late")
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("text", ask(client).content[0].text))

    worker.start()
    assert fake.wait_for_requests(1)
    time.sleep(0.1)
    assert worker.is_alive() and result == {}  # mid-call: a test may now kill or abandon the worker
    fake.release()
    worker.join(5)

    assert result == {"text": "late"}


def test_the_incremental_export_allows_ten_requests_a_minute():
    now = [datetime(2026, 1, 5, 12, 0, tzinfo=UTC)]
    fake = FakeZendesk(email=EMAIL, token=TOKEN, clock=lambda: now[0])
    start = int((now[0] - timedelta(hours=1)).timestamp())
    with serve(fake.app) as srv, httpx.Client(base_url=srv.url, auth=(f"{EMAIL}/token", TOKEN), timeout=5) as http:
        answers = [http.get("/api/v2/incremental/tickets/cursor.json", params={"start_time": start})
                   for _ in range(11)]
        assert [a.status_code for a in answers] == [200] * 10 + [429]
        assert answers[-1].headers["Retry-After"] == "60" and answers[-1].json()["error"] == "APIRateLimitExceeded"
        assert "X-Rate-Limit" in answers[-1].headers
        now[0] += timedelta(seconds=61)
        assert http.get("/api/v2/incremental/tickets/cursor.json", params={"start_time": start}).status_code == 200
    assert fake.errors == []
