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


def _options(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir(exist_ok=True)
    return folder, {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
                    "control_folder": str(tmp_path / "control"), "polling_interval": 0.01}


def _envelopes(channel, numbers):
    """Messages as the web process's publisher writes them: kombu's JSON envelope, several in one file."""
    from kombu.utils.json import dumps

    envelopes = []
    for n in numbers:
        message = channel.prepare_message(dumps({"n": n}), 0, "application/json", "utf-8", {}, {})
        message["body"], encoding = channel.encode_body(message["body"], channel.body_encoding)
        message["properties"].update(body_encoding=encoding, delivery_tag=f"tag-{n}")
        message["properties"]["delivery_info"].update(exchange="", routing_key="jobs")
        envelopes.append(dumps(message).encode())
    return envelopes


def test_a_file_of_several_messages_is_handed_out_one_at_a_time_in_order(tmp_path):
    folder, options = _options(tmp_path)
    url = f"{queue_transport.SCHEME}://"
    with Connection(url, transport_options=options) as conn:
        channel = conn.default_channel
        channel.queue_declare("jobs")
        channel.put_encoded("jobs", _envelopes(channel, [1, 2, 3]))
        channel.put_encoded("jobs", _envelopes(channel, [4]))
        assert len(list(folder.glob("*.jobs.msg"))) == 2  # one file a batch
        assert channel._size("jobs") == 2  # files before any is taken
        got = [channel.basic_get("jobs", no_ack=True).decode()["n"] for _ in range(4)]
        # A file's messages come in their order, one after the other, and files in the order written, even two
        # in the same millisecond (kombu's names sort by the millisecond, then by a uuid).
        assert got == [1, 2, 3, 4]
        assert channel.basic_get("jobs", no_ack=True) is None
    assert not list(folder.iterdir())  # taken files are removed, nothing left half-claimed


def test_messages_taken_but_not_handed_out_go_back_when_the_channel_closes(tmp_path):
    """A worker stopping gracefully after taking a file of five and handing out two: three go back to the queue."""
    options = _options(tmp_path)[1]
    url = f"{queue_transport.SCHEME}://"
    with Connection(url, transport_options=options) as conn:
        channel = conn.default_channel
        channel.queue_declare("jobs")
        channel.put_encoded("jobs", _envelopes(channel, [1, 2, 3, 4, 5]))
        first_two = [channel.basic_get("jobs", no_ack=True).decode()["n"] for _ in range(2)]
        assert channel._size("jobs") == 3  # held by this channel, still counted
    assert first_two == [1, 2]
    with Connection(url, transport_options=options) as conn:
        channel = conn.default_channel
        rest = []
        while (message := channel.basic_get("jobs", no_ack=True)) is not None:
            rest.append(message.decode()["n"])
    assert rest == [3, 4, 5]


def test_a_line_that_does_not_parse_is_dropped_and_the_rest_still_delivered(tmp_path, caplog):
    folder, options = _options(tmp_path)
    url = f"{queue_transport.SCHEME}://"
    with Connection(url, transport_options=options) as conn:
        channel = conn.default_channel
        channel.queue_declare("jobs")
        good = _envelopes(channel, [1, 2])
        channel.put_encoded("jobs", [good[0], b'{"cut', good[1]])  # as a power cut could leave a file
        (folder / "0_empty.jobs.msg").write_bytes(b"")  # and an empty one, the oldest
        got = [channel.basic_get("jobs", no_ack=True) for _ in range(2)]
        assert [m.decode()["n"] for m in got] == [1, 2]
        assert channel.basic_get("jobs", no_ack=True) is None
    assert sum("does not parse" in r.message for r in caplog.records) == 2


def test_a_file_left_taken_by_a_killed_consumer_goes_back_into_the_queue(tmp_path, caplog, monkeypatch):
    """A consumer renames a file to .taken, reads it and removes it; killed in between, the file stayed there,
    undelivered, forever. Past ORPHAN_SECONDS it is delivered again; a fresh claim is left to its consumer."""
    import time

    monkeypatch.setattr(queue_transport, "ORPHAN_SECONDS", 0.5)
    folder, options = _options(tmp_path)
    with Connection(f"{queue_transport.SCHEME}://", transport_options=options) as conn:
        channel = conn.default_channel
        channel.queue_declare("jobs")
        channel.put_encoded("jobs", _envelopes(channel, [1, 2]))
        channel.put_encoded("jobs", _envelopes(channel, [3]))
        older, newer = sorted(folder.glob("*.jobs.msg"))
        older.rename(f"{older}.taken")  # a consumer claimed it and was killed before reading it
        assert channel.basic_get("jobs", no_ack=True).decode()["n"] == 3  # too fresh to be an orphan yet
        time.sleep(0.6)
        newer.write_bytes(b"".join(_envelopes(channel, [4])))
        in_hand = newer.rename(f"{newer}.taken")  # a live consumer's claim, just made
        got = []
        while (message := channel.basic_get("jobs", no_ack=True)) is not None:
            got.append(message.decode()["n"])
    assert got == [1, 2]
    assert "taken by a consumer that died" in caplog.text
    assert [p.name for p in folder.iterdir()] == [in_hand.name]  # the live claim is its consumer's


def test_files_named_before_the_upgrade_are_taken_before_those_named_since(tmp_path):
    """kombu's names (and this transport's before nanosecond names) start with monotonic milliseconds, which sort
    after the zero-padded nanoseconds. A worker upgraded with messages still queued must not leave them for last."""
    import uuid

    folder, options = _options(tmp_path)
    url = f"{queue_transport.SCHEME}://"
    with Connection(url, transport_options=options) as conn:
        channel = conn.default_channel
        channel.queue_declare("jobs")
        for n, stamp in ((1, 912_345), (2, 5_734_001)):  # written before the upgrade, in this order
            (folder / f"{stamp}_{uuid.uuid4()}.jobs.msg").write_bytes(_envelopes(channel, [n])[0])
        channel.put_encoded("jobs", _envelopes(channel, [3]))  # after it
        channel.put_encoded("jobs", _envelopes(channel, [4]))
        got = [channel.basic_get("jobs", no_ack=True).decode()["n"] for _ in range(4)]
    assert got == [1, 2, 3, 4]
