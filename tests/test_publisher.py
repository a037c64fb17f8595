"""The broker publish never holds a webhook request (issue #18): the request hands the id over and answers."""
from __future__ import annotations

import threading
import time

import pytest

from deskdraft.bounded import Overdue
from deskdraft.publisher import BackgroundPublisher, broker_timeouts


def test_a_broker_that_never_answers_costs_the_request_nothing():
    frozen = threading.Event()
    batches: list[list[int]] = []
    publisher = BackgroundPublisher(lambda ids: (frozen.wait(), batches.append(ids)))
    started = time.monotonic()
    for inbox_id in range(50):
        publisher(inbox_id)
    assert time.monotonic() - started < 0.05
    assert batches == []  # the thread is stuck on the first one
    assert not publisher.join(0.1)  # nothing is published yet: join says so
    frozen.set()
    assert publisher.join(5)
    assert [i for batch in batches for i in batch] == list(range(50))  # in order, each once, once it answers
    assert len(batches) < 50  # the ids that waited together went together


def test_when_too_many_are_waiting_the_rest_is_refused_at_once_for_the_sweep():
    frozen = threading.Event()
    publisher = BackgroundPublisher(lambda _: frozen.wait(), max_waiting=3)
    for inbox_id in range(4):  # the first is taken by the thread, three wait
        publisher(inbox_id)
        time.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(Overdue, match="too many"):
        publisher(99)
    assert time.monotonic() - started < 0.01
    frozen.set()
    assert publisher.join(5)


def test_a_broker_blip_delays_the_waiting_ids_by_a_retry_not_by_the_sweep():
    """Before, ids queued in the second after a failure were dropped to the sweep (minutes later)."""
    attempts: list[tuple[list[int], float]] = []
    sent: list[int] = []

    def publish(ids: list[int]) -> None:
        attempts.append((list(ids), time.monotonic()))
        if len(attempts) <= 2:
            raise ConnectionError("refused")  # the first two tries meet a broker that is restarting
        sent.extend(ids)

    publisher = BackgroundPublisher(publish, retry_seconds=0.05)
    for inbox_id in (1, 2, 3):
        publisher(inbox_id)
    assert publisher.join(5)
    assert sent == [1, 2, 3] and publisher.sent == 3  # in order, each once, none left behind
    assert attempts[0][0] == attempts[1][0] == attempts[2][0] and attempts[0][0][0] == 1  # the same batch, retried
    assert attempts[1][1] - attempts[0][1] >= 0.04  # retried after a pause, not in a tight loop


@pytest.mark.parametrize("url, keys", [
    ("redis://127.0.0.1:6379/0", {"socket_timeout", "socket_connect_timeout"}),
    ("amqp://guest:guest@127.0.0.1:5672//", {"read_timeout", "write_timeout"}),
])
def test_each_broker_gets_socket_timeouts_and_no_endless_reconnects(url, keys):
    settings = broker_timeouts(url, 0.03)
    assert keys <= settings["broker_transport_options"].keys()
    assert settings["broker_transport_options"]["max_retries"] == 1
    assert settings["broker_connection_timeout"] <= 1


def test_embedded_broker_keeps_its_own_transport_options():
    assert "broker_transport_options" not in broker_timeouts(None, 0.03)


def _embedded(tmp_path):
    folders = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path),
               "control_folder": str(tmp_path / "control")}
    return "filesystem://", folders  # kombu's own transport: TaskMessages goes through its Producer


def _embedded_ours(tmp_path):
    from deskdraft.queue_transport import SCHEME

    return f"{SCHEME}://", _embedded(tmp_path)[1]  # the broker scripts/run uses: the template envelope


def _redis(tmp_path):
    from tests.e2e.test_spine import redis_url

    return redis_url(), {}


@pytest.mark.parametrize("broker", [_embedded, _embedded_ours, _redis], ids=["kombu-fs", "embedded", "redis"])
def test_the_lean_message_is_the_one_send_task_writes(tmp_path, broker):
    """The publishing thread builds process_event messages itself; the worker must read them exactly as before."""
    from celery import Celery
    from kombu import Connection

    from deskdraft.publisher import PROCESS_EVENT, TaskMessages

    url, options = broker(tmp_path)
    queue_name = f"events-{tmp_path.name}"
    app = Celery("producer", set_as_current=False)
    app.conf.update(broker_url=url, broker_transport_options=options, task_default_queue=queue_name,
                    task_serializer="json", accept_content=["json"])
    app.send_task(PROCESS_EVENT, (41,), retry=False)
    messages_ours = TaskMessages(app, queue_name)
    messages_ours([42, 43])  # two webhooks that waited together: one write on the embedded broker and Redis
    assert (messages_ours._put_many is None) == url.startswith("filesystem"), "which path was taken"
    with Connection(url, transport_options=options) as connection:
        channel = connection.default_channel
        messages = [channel.basic_get(queue_name, no_ack=True) for _ in range(3)]
        assert channel.basic_get(queue_name, no_ack=True) is None
    messages_ours.close()
    if not url.startswith("filesystem"):  # kombu's own transport: a file each, same millisecond, any order
        order = [m.headers["argsrepr"] for m in messages]
        assert order.index("(42,)") < order.index("(43,)")  # in the order given
    sent_by_celery, ours, second = sorted(messages, key=lambda m: m.headers["argsrepr"])
    assert ours.headers.keys() == sent_by_celery.headers.keys()
    for key in ("lang", "task", "retries", "timelimit", "parent_id", "group", "eta", "expires", "kwargsrepr",
                "shadow", "group_index", "ignore_result", "replaced_task_nesting", "stamped_headers", "stamps"):
        assert ours.headers[key] == sent_by_celery.headers[key], key
    assert ours.headers["argsrepr"] == "(42,)" and second.headers["argsrepr"] == "(43,)"
    assert ours.headers["id"] == ours.headers["root_id"] == ours.properties["correlation_id"]
    assert ours.headers["id"] != second.headers["id"] and ours.delivery_tag != second.delivery_tag
    assert ours.headers["origin"].startswith("gen")
    assert ours.decode() == [[42], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    assert second.decode()[0] == [43]
    assert sent_by_celery.decode() == [[41], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    assert ours.content_type == sent_by_celery.content_type == "application/json"
    assert ours.content_encoding == sent_by_celery.content_encoding
    assert ours.delivery_info["routing_key"] == sent_by_celery.delivery_info["routing_key"] == queue_name
    assert ours.properties.keys() == sent_by_celery.properties.keys()
    for key in ("delivery_mode", "priority", "body_encoding"):  # reply_to: send_task's is for RPC results, unused
        assert ours.properties[key] == sent_by_celery.properties[key], key


def test_an_envelope_that_does_not_decode_as_kombus_is_not_used(tmp_path, monkeypatch):
    """The template is checked against kombu's own message when connecting: a kombu that builds it differently
    gets its Producer path, not a message the worker may misread."""
    from celery import Celery

    from deskdraft.publisher import Envelope, TaskMessages
    from deskdraft.queue_transport import SCHEME

    monkeypatch.setattr(Envelope, "render", lambda self, task_id, inbox_id, tag=None: b'{"body": "x"}')
    app = Celery("producer", set_as_current=False)
    app.conf.update(broker_url=f"{SCHEME}://", broker_transport_options=_embedded(tmp_path)[1],
                    task_default_queue="events", task_serializer="json", accept_content=["json"])
    messages = TaskMessages(app, "events")
    messages([7])
    assert messages._put_many is None
    written = [p for p in tmp_path.iterdir() if p.name.endswith(".msg")]
    assert len(written) == 1 and b'"argsrepr": "(7,)"' in written[0].read_bytes()
    messages.close()
