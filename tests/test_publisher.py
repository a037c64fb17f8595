"""The broker publish and the inbox write never hold a request past their bound (issue #18)."""
from __future__ import annotations

import threading
import time

import pytest

from deskdraft.bounded import BoundedCalls, Overdue
from deskdraft.publisher import BoundedPublisher, broker_timeouts


def test_a_call_that_never_returns_costs_the_caller_only_the_timeout():
    release = threading.Event()
    calls = BoundedCalls(0.05, threads=2)
    started = time.monotonic()
    with pytest.raises(Overdue, match="50 ms"):
        calls.run(release.wait)
    assert time.monotonic() - started < 0.5
    release.set()


def test_when_every_thread_is_stuck_new_calls_are_refused_at_once_not_queued():
    release = threading.Event()
    calls = BoundedCalls(0.02, threads=2)
    for _ in range(2):
        with pytest.raises(Overdue):
            calls.run(release.wait)
    started = time.monotonic()
    with pytest.raises(Overdue, match="every thread"):
        calls.run(lambda: "never runs")
    assert time.monotonic() - started < 0.01
    release.set()
    time.sleep(0.05)
    assert calls.run(lambda: "free again") == "free again"


def test_after_a_failure_the_publisher_stops_waiting_but_still_hands_the_message_over():
    now = [100.0]
    sent: list[int] = []
    frozen = threading.Event()

    def publish(inbox_id: int) -> None:
        if not frozen.is_set():
            frozen.wait()
        sent.append(inbox_id)

    publisher = BoundedPublisher(publish, timeout=0.05, threads=4, clock=lambda: now[0])
    with pytest.raises(Overdue):
        publisher(1)  # waited 50 ms: the breaker opens
    started = time.monotonic()
    publisher(2)  # within the quiet second: no wait at all, handed to a free thread
    assert time.monotonic() - started < 0.01
    frozen.set()  # the broker comes back: both messages go out
    time.sleep(0.1)
    assert sorted(sent) == [1, 2]
    now[0] += 2  # the quiet second is over: the next call waits (briefly) again and succeeds
    publisher(3)
    assert sent[-1] == 3


def test_errors_propagate_so_the_request_logs_them():
    publisher = BoundedPublisher(lambda _: (_ for _ in ()).throw(ConnectionError("refused")), timeout=0.5)
    with pytest.raises(ConnectionError):
        publisher(1)


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
