"""Publishing an accepted event to the broker without letting the broker hold the webhook request.

The inbox row is committed before we publish, and the worker's sweep re-enqueues whatever stays pending, so a
publish that is slow or fails loses nothing: the request waits at most `timeout` seconds for it and answers 202
either way. A frozen broker (a stopped process, a partitioned host) accepts TCP and then never answers, so socket
timeouts alone are not enough: the wait itself is bounded (bounded.py).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from deskdraft.bounded import BoundedCalls, Overdue

if TYPE_CHECKING:
    from deskdraft.settings import Config


class BoundedPublisher:
    """`publish(inbox_id)` with the request waiting at most `timeout` seconds; raises Overdue past it.

    A publish still running after the wait goes on in the background (it may still succeed: the worker drops a
    second copy of an event that is no longer pending). When every thread is stuck on a frozen broker, new events
    are left to the sweep at once instead of queueing in memory.
    """

    QUIET_SECONDS = 1.0  # after a failure, requests do not wait on the broker at all for this long

    def __init__(self, publish: Callable[[int], Any], timeout: float, threads: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._publish = publish
        self._calls = BoundedCalls(timeout, threads, "publish")
        self._clock = clock
        self._quiet_until = float("-inf")

    def __call__(self, inbox_id: int) -> None:
        # A broker that just missed a deadline or refused is most likely still down: for a second, requests hand
        # the publish to a free thread and answer without waiting (a circuit breaker), so an outage costs the acks
        # nothing; if the broker was only slow, the message still goes out. No free thread: the sweep sends it.
        if self._clock() < self._quiet_until:
            self._calls.start(self._publish, inbox_id)
            return
        try:
            self._calls.run(self._publish, inbox_id)
        except Exception:
            self._quiet_until = self._clock() + self.QUIET_SECONDS
            raise


__all__ = ["BoundedPublisher", "Overdue", "broker_timeouts", "task_sender"]

PROCESS_EVENT = "worker.process_event"  # the task's registered name in worker.py


def task_sender(config: Config) -> Callable[[int], Any]:
    """`send(inbox_id)`: a process_event message on the worker's queue, from a producer-only Celery app.

    By name (send_task), so the web process never imports worker.py and with it the model client, the pipeline and
    the knowledge store (3 s of `import anthropic` alone per gunicorn worker at start)."""
    from celery import Celery

    from deskdraft.queue_transport import broker_settings

    app = Celery("deskdraft-producer", set_as_current=False)
    app.conf.update(**broker_settings(config), **broker_timeouts(config.queue.broker_url,
                                                                  config.queue.publish_timeout_seconds),
                    task_default_queue=config.queue.name, task_serializer="json", accept_content=["json"])
    return lambda inbox_id: app.send_task(PROCESS_EVENT, (inbox_id,), retry=False)


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
