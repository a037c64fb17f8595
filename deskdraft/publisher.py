"""Publishing an accepted event to the broker without letting the broker hold the webhook request.

The inbox row is committed before we publish, and the worker's sweep re-enqueues whatever stays pending, so a
publish that is slow or fails loses nothing. The request therefore does not wait for it at all: it hands the id to
one background thread per process and answers 202. That thread publishes in order; a frozen broker (a stopped
process, a partitioned host: TCP accepted, nothing answered) holds it only as long as the producer's socket
timeouts (broker_timeouts), and while the broker is failing the thread retries each second with the ids waiting in
a bounded queue; past its bound new ids are left to the sweep.

Before, each request waited up to `queue.publish_timeout_seconds` for its own publish on a pool of 32 threads:
two thread handoffs and a wait per webhook for an outcome that never changed the answer (benchmarks/ack.py).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from deskdraft.bounded import Overdue, with_waiting

if TYPE_CHECKING:
    from deskdraft.settings import Config

log = logging.getLogger(__name__)


class BackgroundPublisher:
    """`publisher(inbox_id)` queues the id for the publishing thread and returns at once; Overdue when `max_waiting`
    ids are already queued (the broker has been down a while: the sweep sends the rest).

    `publish(ids)` sends the ids that were waiting together, up to `max_batch`, in order: on a busy web process one
    broker write then carries several webhooks (task_sender)."""

    def __init__(self, publish: Callable[[list[int]], Any], max_waiting: int = 10_000, retry_seconds: float = 1.0,
                 max_batch: int = 100) -> None:
        self._publish = publish
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        # A SimpleQueue, not a Queue: Queue.put takes a lock every request thread and this thread share, and a
        # holder descheduled by the GIL left the others blocked on it (more GIL handoffs, benchmarks/ack.py).
        self._waiting: queue.SimpleQueue[int | threading.Event] = queue.SimpleQueue()  # ids, and join()'s marks
        self._retry_seconds = retry_seconds
        self._broker_down = False
        self.sent = 0
        threading.Thread(target=self._run, name="publish", daemon=True).start()
        atexit.register(self.join, 1.0)  # a process stopping (gunicorn's graceful stop) sends what it accepted

    def __call__(self, inbox_id: int) -> None:
        if self._waiting.qsize() >= self._max_waiting:
            raise Overdue("the broker is not keeping up: too many messages already waiting")
        self._waiting.put(inbox_id)

    def join(self, timeout: float) -> bool:
        """Wait until every id queued before this call was published (tests and shutdown); False on timeout."""
        published = threading.Event()
        self._waiting.put(published)  # set once the ids ahead of it in the queue are sent
        return published.wait(timeout)

    def _run(self) -> None:
        while True:
            taken = with_waiting(self._waiting.get(), self._waiting, self._max_batch)
            ids = [item for item in taken if isinstance(item, int)]
            if ids:
                self._publish_until_sent(ids)
            for item in taken:
                if isinstance(item, threading.Event):
                    item.set()

    def _publish_until_sent(self, ids: list[int]) -> None:
        # A failed publish is tried again every `retry_seconds` while later ids wait behind it in memory: a broker
        # blip delays them by a second, not by the sweep's minutes. Only an outage long enough to fill the queue
        # leaves new ids to the sweep (__call__). Logged once per outage, not once per id.
        while True:
            try:
                self._publish(ids)
            except Exception as exc:
                if not self._broker_down:
                    log.error("broker publish failed (%s: %s); retrying every %.1f s, webhooks still answered 202",
                              type(exc).__name__, exc, self._retry_seconds)
                    self._broker_down = True
                time.sleep(self._retry_seconds)
                continue
            self.sent += len(ids)
            if self._broker_down:
                log.warning("broker publish works again; %d ids waiting", self._waiting.qsize())
                self._broker_down = False
            return


__all__ = ["BackgroundPublisher", "Overdue", "TaskMessages", "broker_timeouts", "task_sender"]

PROCESS_EVENT = "worker.process_event"  # the task's registered name in worker.py


def task_sender(config: Config) -> Callable[[list[int]], Any]:
    """`send(inbox_ids)`: a process_event message per id on the worker's queue, from a producer-only Celery app.

    By name, so the web process never imports worker.py and with it the model client, the pipeline and the
    knowledge store (3 s of `import anthropic` alone per gunicorn worker at start)."""
    from celery import Celery

    from deskdraft.queue_transport import broker_settings

    app = Celery("deskdraft-producer", set_as_current=False)
    app.conf.update(**broker_settings(config), **broker_timeouts(config.queue.broker_url,
                                                                  config.queue.publish_timeout_seconds),
                    task_default_queue=config.queue.name, task_serializer="json", accept_content=["json"])
    return TaskMessages(app, config.queue.name)


class TaskMessages:
    """Celery task messages (protocol 2, as `send_task` writes them) for one task with one int argument, published
    on one long-lived connection by the publishing thread.

    `send_task` rebuilt the same headers, re-resolved routing and declarations, copied and re-bound the queue and
    took a producer from the pool for every message: 57% of the web process's CPU at 16 webhooks in flight
    (py-spy, benchmarks/ack.py). The message is the same; only that work is done once. tests/e2e run a real worker
    on these messages, and tests/test_publisher.py compares them with send_task's.
    """

    def __init__(self, app: Any, queue_name: str, task_name: str = PROCESS_EVENT) -> None:
        self._app = app
        self._queue = app.amqp.queues[queue_name]
        self._task_name = task_name
        self._producer: Any = None
        self._put_many: Callable[[list[bytes]], Any] | None = None  # set on connecting, for virtual transports
        self._envelope: Envelope
        self._origin = ""  # gen<pid>@<host>, as Celery writes it: set on connecting, in the process that publishes

    @property
    def queue_name(self) -> str:
        return str(self._queue.name)

    def headers(self, task_id: str, inbox_id: int) -> dict[str, Any]:
        return {"lang": "py", "task": self._task_name, "id": task_id, "shadow": None, "eta": None, "expires": None,
                "group": None, "group_index": None, "retries": 0, "timelimit": [None, None], "root_id": task_id,
                "parent_id": None, "argsrepr": f"({inbox_id},)", "kwargsrepr": "{}",
                "origin": self._origin, "ignore_result": None,
                "replaced_task_nesting": 0, "stamped_headers": None, "stamps": {}}

    @staticmethod
    def body(inbox_id: int) -> bytes:
        return json.dumps([[inbox_id], {}, {"callbacks": None, "errbacks": None, "chain": None,
                                            "chord": None}]).encode()

    def __call__(self, inbox_ids: list[int]) -> None:
        """Publish one message per id, in order. On the embedded broker and Redis they go in one write (a file of
        envelopes, one LPUSH); on RabbitMQ one publish each."""
        producer = self._producer or self._connect()
        try:
            if self._put_many is not None:
                ids = random_uuids(2 * len(inbox_ids))  # a task id and a delivery tag each
                self._put_many([self._envelope.render(ids[2 * n], inbox_id, ids[2 * n + 1])
                                for n, inbox_id in enumerate(inbox_ids)])
                return
            for inbox_id, task_id in zip(inbox_ids, random_uuids(len(inbox_ids)), strict=True):
                producer.publish(self.body(inbox_id), exchange="", routing_key=self._queue.name,
                                 content_type="application/json", content_encoding="utf-8",
                                 headers=self.headers(task_id, inbox_id), delivery_mode=2, declare=(), retry=False,
                                 correlation_id=task_id, reply_to="")
        except Exception:
            self.close()  # a broken connection is not reused; the next message connects again
            raise

    def _connect(self) -> Any:
        from kombu import Producer

        self._origin = f"gen{os.getpid()}@{socket.gethostname()}"
        connection = self._app.connection_for_write()
        channel = connection.default_channel
        producer = Producer(channel)
        producer.maybe_declare(self._queue)  # as send_task does: on RabbitMQ a message to a missing queue is dropped
        self._put_many = _raw_put_many(channel, self._queue.name)
        if self._put_many is not None:
            self._envelope = Envelope(channel, self)
            if not self._envelope.matches(channel, self):  # a kombu whose envelope differs: its own path
                log.warning("kombu's message envelope is not the expected one: publishing through kombu's Producer")
                self._put_many = None
        self._producer = producer
        return producer

    def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                producer.connection.release()


def random_uuids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs, as uuid.uuid4() makes them, from one read of the OS's randomness.

    uuid4() reads 16 bytes per call, and each read (getrandom) gives up the GIL: at two ids per message that was
    two GIL handoffs per webhook in a process whose request threads queue for it (benchmarks/ack.py)."""
    randomness = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=randomness[n:n + 16], version=4)) for n in range(0, 16 * count, 16)]


def _raw_put_many(channel: Any, queue_name: str) -> Callable[[list[bytes]], Any] | None:
    """How to put encoded envelopes on the queue in one write, for the transports where kombu itself stores the JSON
    envelope (the embedded broker and Redis); None for the others (RabbitMQ: the Producer path)."""
    from deskdraft.queue_transport import Channel as EmbeddedChannel

    if isinstance(channel, EmbeddedChannel):
        return lambda envelopes: channel.put_encoded(queue_name, envelopes)
    if hasattr(channel, "_create_client") and hasattr(channel, "_q_for_pri"):
        # kombu's Redis channel builds a new redis.Redis client (and its table of 169 reply callbacks) for every
        # publish: 0.25 ms of a 0.48 ms publish. This channel is the publishing thread's alone: one client serves.
        client, key = channel._create_client(), channel._q_for_pri(queue_name, 0)  # priority 0: the queue's name
        # LPUSH of several values pushes them left one after the other: BRPOP takes them in the order given.
        return lambda envelopes: client.lpush(key, *envelopes)
    return None


class Envelope:
    """The JSON envelope kombu's virtual transports store for one process_event message, as bytes, built from a
    template made once by kombu itself.

    Producer.publish, the envelope's dicts and two JSON encodings cost 0.2 ms of the publishing thread's CPU per
    webhook, and that thread shares the web process's GIL with the requests and the inbox writer
    (benchmarks/ack.py). Only the task id, the delivery tag and the inbox id change between messages, so kombu
    prepares one message with markers in their places and each message is that text with the markers replaced.
    tests/test_publisher.py reads both back with kombu and compares them with send_task's message.
    """

    TASK_ID, TAG, ARGS, BODY = "00000000-task-4000-8000-id0000000000", "00000000-tag0-4000-8000-000000000000", \
        "987654321987", "<body>"

    def __init__(self, channel: Any, messages: TaskMessages) -> None:
        self._text = json.dumps(self._kombu_message(channel, messages, self.TASK_ID, self.TAG, int(self.ARGS),
                                                    self.BODY))
        self._encode = lambda body: str(channel.encode_body(body, channel.body_encoding)[0])

    def render(self, task_id: str, inbox_id: int, tag: str) -> bytes:
        body = self._encode(TaskMessages.body(inbox_id).decode())
        return (self._text.replace(self.TASK_ID, task_id).replace(self.TAG, tag)
                .replace(self.ARGS, str(inbox_id)).replace(self.BODY, body)).encode()

    def matches(self, channel: Any, messages: TaskMessages) -> bool:
        """The rendered text decodes to the message kombu itself builds (checked once, on connecting)."""
        task_id, tag, inbox_id = str(uuid.uuid4()), str(uuid.uuid4()), 12345
        expected = self._kombu_message(channel, messages, task_id, tag, inbox_id, TaskMessages.body(inbox_id))
        return bool(json.loads(self.render(task_id, inbox_id, tag)) == json.loads(json.dumps(expected)))

    @staticmethod
    def _kombu_message(channel: Any, messages: TaskMessages, task_id: str, tag: str, inbox_id: int,
                       body: Any) -> dict[str, Any]:
        """What Producer.publish and the channel's basic_publish hand to the transport's _put."""
        message = channel.prepare_message(body, 0, "application/json", "utf-8", messages.headers(task_id, inbox_id),
                                          {"delivery_mode": 2, "correlation_id": task_id, "reply_to": ""})
        if isinstance(body, bytes):
            message["body"], encoding = channel.encode_body(body, channel.body_encoding)
        else:  # the template's marker stands where the encoded body will be
            encoding = channel.body_encoding
        message["properties"].update(body_encoding=encoding, delivery_tag=tag)
        message["properties"]["delivery_info"].update(exchange="", routing_key=messages.queue_name)
        return dict(message)


def broker_timeouts(broker_url: str | None, timeout: float) -> dict[str, Any]:
    """Celery settings for the web process (the producer) so a stuck publish thread frees itself soon too:
    socket and connect timeouts per transport, and no kombu reconnect loop (its default retries forever)."""
    seconds = max(timeout * 4, 0.2)  # a little longer than the request waits: slow is fine here, stuck is not
    settings: dict[str, Any] = {"broker_connection_timeout": seconds, "broker_connection_retry": False,
                                "broker_connection_max_retries": 1}
    scheme = (broker_url or "").split("://", 1)[0]
    if scheme in ("redis", "rediss"):
        settings["broker_transport_options"] = {"socket_timeout": seconds, "socket_connect_timeout": seconds,
                                                "retry_on_timeout": False, "max_retries": 1}
    elif scheme in ("amqp", "amqps", "pyamqp"):
        settings["broker_transport_options"] = {"read_timeout": seconds, "write_timeout": seconds,
                                                "max_retries": 1}
    return settings
