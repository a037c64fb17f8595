"""The webhook ack killed at each step loses nothing (deskdraft/queue_transport.py: no fsync on the message file,
because the inbox row is the durable copy).

Each case runs the real app (SQLite inbox, embedded broker) in a child process, posts one signed delivery, and
SIGKILLs the process at one step: inside the inbox transaction, after its commit, with the message half written (by
the publishing thread, after the answer), after the message is in the queue. Then the helpdesk sends the delivery
again (no answer, or a 202 it never got the body of: both retry) to a fresh process. Whatever the step, the event is
in the inbox exactly once and pending (so the sweep sends it to a worker if no message does), and every message in
the queue parses and names it. A message file whose data never reached the disk (a power cut after the rename) is
dropped by the consumer, which goes on with the next one.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kombu import Connection

from deskdraft.queue_transport import broker_settings
from deskdraft.settings import load_config
from deskdraft.state import State
from tests.conftest import ZENDESK_SECRET, ZENDESK_TOKEN, config_text
from tests.fakes.zendesk import sign_zendesk, zendesk_event

REPO = Path(__file__).resolve().parents[1]

# Each fault is installed in the child before the request; it SIGKILLs the process at that point.
KILL = "os.kill(os.getpid(), signal.SIGKILL)"
FAULTS = {
    "inside the inbox transaction": f"""
        from deskdraft import inbox_batch
        insert = inbox_batch.InboxBatch._insert
        def insert_then_die(self, *a, **k):
            insert(self, *a, **k)  # the rows are written, the transaction is not committed
            {KILL}
        inbox_batch.InboxBatch._insert = insert_then_die""",
    "after the commit, before publishing": f"""
        from deskdraft import queue_transport
        queue_transport.Channel.put_encoded = lambda *a, **k: {KILL}""",
    "message half written, not renamed": f"""
        from deskdraft import queue_transport
        queue_transport.os = __import__("types").SimpleNamespace(**{{**vars(os), "replace": lambda *a: {KILL}}})""",
    "message in the queue, before the answer": f"""
        from deskdraft import queue_transport
        put = queue_transport.Channel.put_encoded
        def put_then_die(self, *a, **k):
            put(self, *a, **k)
            {KILL}
        queue_transport.Channel.put_encoded = put_then_die""",
    "none": "",
}

CHILD = """
import os, signal, sys, json
import webhooks
app = webhooks.create_app()
with app.app_context():
    state = webhooks._service("state")
    webhooks._service("enqueue")
{fault}
body = sys.stdin.buffer.read()
headers = json.loads(os.environ["ACK_HEADERS"])
response = app.test_client().post("/webhooks/zendesk", data=body, headers=headers)
with app.app_context():
    webhooks._service("enqueue").join(5)  # the publishing thread's work (and its faults) before the process ends
print(response.status_code)
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(config_text(tmp_path / "var", queue={"name": "crash-test"}))
    return path


def deliver(config_path: Path, body: bytes, fault: str) -> subprocess.CompletedProcess:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {**sign_zendesk(ZENDESK_SECRET, body, stamp), "Content-Type": "application/json"}
    env = {**os.environ, "DESKDRAFT_CONFIG": str(config_path), "TEST_ZENDESK_TOKEN": ZENDESK_TOKEN,
           "TEST_ZENDESK_SECRET": ZENDESK_SECRET, "ACK_HEADERS": json.dumps(headers), "PYTHONPATH": str(REPO)}
    script = CHILD.format(fault=textwrap.indent(textwrap.dedent(FAULTS[fault]), "    "))
    return subprocess.run([sys.executable, "-c", script], input=body, env=env, cwd=REPO, capture_output=True,
                          timeout=60)


def queued_inbox_ids(config_path: Path) -> list[int]:
    """Every message the worker would get from the queue folder, read through the same transport."""
    settings = broker_settings(load_config(config_path))
    ids = []
    with Connection(settings["broker_url"], transport_options=settings["broker_transport_options"]) as conn:
        queue = conn.SimpleQueue("crash-test")
        while True:
            try:
                message = queue.get(timeout=0.3)
            except queue.Empty:
                break
            ids.append(message.decode()[0][0])  # Celery protocol 2: [args, kwargs, embed]
            message.ack()
        queue.close()
    return ids


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "none"])
def test_a_kill_at_any_step_of_the_ack_loses_nothing(config_path, fault):
    body = json.dumps(zendesk_event(4242, event_id="evt-crash")).encode()
    crashed = deliver(config_path, body, fault)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]

    retried = deliver(config_path, body, "none")  # the helpdesk got no answer: it sends the delivery again
    assert retried.returncode == 0, retried.stderr.decode()[-2000:]
    assert retried.stdout.split()[-1] in (b"202", b"200")  # queued, or a duplicate of the row the crash committed

    state = State(load_config(config_path).database_url)
    [event] = state.events()
    assert (event.event_id, event.status) == ("evt-crash", "pending")
    assert [s["step"] for s in state.audit_trail("zendesk", "4242")] == ["event_received"]
    assert [e.id for e in state.stalled_events(-1)] == [event.id]  # the sweep's query finds it, message or not
    assert set(queued_inbox_ids(config_path)) <= {event.id}


def test_a_message_lost_to_a_power_cut_is_dropped_and_the_next_one_read(config_path):
    first = json.dumps(zendesk_event(1, event_id="evt-1")).encode()
    second = json.dumps(zendesk_event(2, event_id="evt-2")).encode()
    for body in (first, second):
        assert deliver(config_path, body, "none").stdout.split()[-1] == b"202"
    folder = Path(broker_settings(load_config(config_path))["broker_transport_options"]["data_folder_in"])
    oldest = sorted(folder.glob("*.msg"))[0]
    oldest.write_bytes(b"")  # renamed, but its data never reached the disk

    state = State(load_config(config_path).database_url)
    ids = {e.event_id: e.id for e in state.events()}
    assert queued_inbox_ids(config_path) == [ids["evt-2"]]
    assert {e.id for e in state.stalled_events(-1)} == set(ids.values())  # evt-1 comes back with the sweep
