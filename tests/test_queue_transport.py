"""The embedded broker never hands a consumer a half-written message (kombu's own filesystem transport can)."""
from __future__ import annotations

import threading

from kombu import Connection

from deskdraft import queue_transport


def test_concurrent_publish_and_consume_lose_and_corrupt_nothing(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
               "control_folder": str(tmp_path / "control"), "polling_interval": 0.01}
    url = f"{queue_transport.SCHEME}://"
    sent = 300
    payload = "x" * 200_000  # big enough that a write takes a while

    def publish() -> None:
        with Connection(url, transport_options=options) as conn:
            q = conn.SimpleQueue("jobs")
            for n in range(sent):
                q.put({"n": n, "pad": payload})
            q.close()

    received = []
    with Connection(url, transport_options=options) as conn:
        q = conn.SimpleQueue("jobs")  # declared (as the worker does at start) before anything is published
        producer = threading.Thread(target=publish)
        producer.start()
        while len(received) < sent:
            message = q.get(timeout=30)  # a partial file would raise JSONDecodeError here
            received.append(message.payload["n"])
            assert message.payload["pad"] == payload
            message.ack()
        q.close()
    producer.join()
    assert sorted(received) == list(range(sent))
    assert not list(folder.glob("*.partial"))
