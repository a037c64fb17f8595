"""Hypothesis strategies for webhook requests an attacker (or a broken helpdesk) could send, and the property every
answer must hold. Used by tests/test_fuzz_webhooks.py (a few thousand cases) and benchmarks/fuzz.py (10,000+)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.e2e.desks import SECRETS
from tests.fakes.freshdesk import freshdesk_webhook
from tests.fakes.intercom import intercom_notification
from tests.intake_support import SIGNERS

DESKS = ("zendesk", "intercom", "freshdesk")

# Header text a client can put on the wire (latin-1, no CR/LF), including the bytes that crashed compare_digest.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=80)
json_scalars = st.none() | st.booleans() | st.integers() | st.integers(min_value=10 ** 18, max_value=10 ** 40) \
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=80)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
id_like = st.one_of(
    st.text(max_size=70), st.integers(), st.integers(min_value=2 ** 63 - 5, max_value=10 ** 30),
    st.sampled_from(["../../admins", "7/notes", "\u0661\u0662", "\uff17", "7\x00", "1" * 65, "conv_123", "7",
                     " 42 ", "notif_1", "-1", "0x10", "1e3", "%2e%2e", "7?x=1"]),
    json_values)


def valid_payload(desk: str, ticket: Any = "7") -> dict[str, Any]:
    if desk == "zendesk":
        return {"ticket_id": ticket}
    if desk == "intercom":
        return intercom_notification("conversation.user.replied", "7")
    return freshdesk_webhook(7)


@st.composite
def mutated_payload(draw: Any, desk: str) -> dict[str, Any]:
    """A real delivery with one field replaced by anything: where parsers trip."""
    payload = valid_payload(desk)
    choice = draw(st.integers(0, 5))
    if desk == "zendesk":
        if choice == 0:
            payload = {"type": draw(st.sampled_from(["zen:event-type:ticket.created",
                                                     "zen:event-type:ticket.comment_added", "x"])),
                       "id": draw(id_like), "detail": draw(st.just({"id": draw(id_like)}) | json_values),
                       "event": draw(json_values)}
        else:
            payload["ticket_id"] = draw(id_like)
    elif desk == "intercom":
        if choice == 0:
            payload["id"] = draw(id_like)
        elif choice == 1:
            payload["topic"] = draw(st.text(max_size=40) | json_values)
        elif choice == 2:
            payload["data"] = draw(json_values)
        else:
            payload["data"]["item"]["id"] = draw(id_like)
    else:
        if choice == 0:
            payload["freshdesk_webhook"] = draw(json_values)
        elif choice == 1:
            payload["freshdesk_webhook"]["triggered_event"] = draw(st.text(max_size=60) | json_values)
        else:
            payload["freshdesk_webhook"]["ticket_id"] = draw(id_like)
    if draw(st.booleans()):
        payload[draw(st.text(max_size=8))] = draw(json_values)
    return payload


def _nested(depth: int) -> bytes:
    return b'{"ticket_id": "7", "x": ' + b"[" * depth + b"]" * depth + b"}"


bodies = {desk: st.one_of(
    mutated_payload(desk).map(lambda p: json.dumps(p).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.integers(1, 3000).map(_nested),
    st.integers(300, 6000).map(lambda n: b'{"ticket_id": ' + b"9" * n + b"}"),
    st.sampled_from([b"", b"{", b"null", b'{"ticket_id": NaN}', b'{"ticket_id": "\\ud800"}', b"\xff\xfe",
                     b'{"ticket_id": "7"}' * 2]),
) for desk in DESKS}

SIGNATURE_HEADERS = ("X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp", "X-Hub-Signature",
                     "X-Deskdraft-Secret", "Authorization", "X-Zendesk-Webhook-Invocation-Id")


@dataclass(frozen=True)
class FuzzRequest:
    desk: str
    body: bytes
    signed: bool
    headers: dict[str, str] = field(default_factory=dict)


@st.composite
def requests(draw: Any) -> FuzzRequest:
    desk = draw(st.sampled_from(DESKS))
    body = draw(bodies[desk])
    signed = draw(st.booleans())
    headers = dict(SIGNERS[desk](body)) if signed else {}
    forged = draw(st.dictionaries(st.sampled_from(SIGNATURE_HEADERS), header_text, max_size=3))
    if not signed or draw(st.booleans()):
        # unsigned: forged headers only; signed: sometimes an extra header that is not part of the signature
        headers.update({k: v for k, v in forged.items() if not signed or k == "X-Zendesk-Webhook-Invocation-Id"})
    return FuzzRequest(desk, body, signed, headers)


def check(client: Any, request: FuzzRequest, queued: list[int]) -> int:
    """Send one request; assert the property; return the status. Zero 5xx, a reason on every refusal, and nothing
    enqueued unless the answer is 202."""
    before = len(queued)
    response = client.post(f"/webhooks/{request.desk}", data=request.body,
                           headers={**request.headers, "Content-Type": "application/json"})
    status = response.status_code
    assert status < 500, (status, request, response.get_data(as_text=True)[:300])
    if status == 202:
        assert len(queued) == before + 1
    else:
        assert len(queued) == before, (status, request)
        if status >= 400:
            assert response.json and response.json.get("error"), (status, request)
            # webhooks.py's last-resort 400 exists for production; here it means a handler tripped on a shape.
            assert "does not have the shape" not in response.json["error"], (request, response.json)
    if status in (200, 202):
        assert request.signed or any(SECRETS[k] in str(request.headers) for k in SECRETS), \
            ("accepted without a valid signature", request)
    return status
