"""Log lines: UTC timestamps, the ticket's ids inside a job (and only there), JSON by the config switch."""
from __future__ import annotations

import io
import json
import logging
import re
import threading

import pytest

from deskdraft import logging_setup
from deskdraft.settings import LoggingSettings


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = None

    def configure(as_json: bool) -> io.StringIO:
        nonlocal handler
        handler = logging_setup.configure(LoggingSettings(json=as_json, level="INFO"), stream)
        return stream
    yield configure
    logging.getLogger().removeHandler(handler)


def test_text_lines_have_a_utc_timestamp_and_the_ids_inside_a_job(capture):
    stream = capture(False)
    log = logging.getLogger("deskdraft.test")
    log.info("starting")
    with logging_setup.log_context(account="zendesk", ticket="101", inbox=7):
        log.warning("drafting")
    first, second = stream.getvalue().splitlines()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO ", first) and "account=" not in first
    assert "account=zendesk ticket=101 inbox=7 drafting" in second


def test_json_lines_carry_the_ids_as_fields(capture):
    stream = capture(True)
    log = logging.getLogger("deskdraft.test")
    with logging_setup.log_context(account="intercom", ticket="55", inbox=9):
        log.error("posted %s", "note")
    log.info("outside")
    inside, outside = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert inside["message"] == "posted note" and inside["level"] == "ERROR" and inside["time"].endswith("Z")
    assert (inside["account"], inside["ticket"], inside["inbox"]) == ("intercom", "55", 9)
    assert "account" not in outside and "ids" not in outside


def test_ids_do_not_leak_between_worker_threads(capture):
    stream = capture(False)
    log = logging.getLogger("deskdraft.test")
    barrier = threading.Barrier(2)

    def job(ticket: str) -> None:
        with logging_setup.log_context(account="zendesk", ticket=ticket, inbox=int(ticket)):
            barrier.wait()
            log.info("job %s", ticket)

    threads = [threading.Thread(target=job, args=(t,)) for t in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for line in stream.getvalue().splitlines():
        ticket = line.rsplit(" ", 1)[1]
        assert f"ticket={ticket} inbox={ticket} job {ticket}" in line
