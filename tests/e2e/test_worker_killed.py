"""SIGKILL the worker while it waits on the model: the inbox sweep finishes the job, with exactly one note."""
from __future__ import annotations

import time

import pytest

from tests.e2e.harness import Stack, wait_for
from tests.e2e.test_spine import CUSTOMER, redis_url


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_killed_worker_ends_with_exactly_one_note(broker, tmp_path):
    stack = Stack(tmp_path, broker_url=redis_url() if broker == "redis" else None).start()
    try:
        stack.desk.add_people(CUSTOMER, 5002)
        stack.desk.open_ticket(201, CUSTOMER, "Refund", "Where is my refund?")
        stack.claude.hold(60)
        assert stack.deliver(201, "inv-201").status_code == 202
        assert stack.claude.wait_for_requests(1, timeout=60), "the worker never called the model"
        stack.kill_worker()
        stack.claude.release()  # the held answer goes to a dead socket
        assert stack.notes(201) == []

        stack.start_worker()
        wait_for(lambda: stack.notes(201), timeout=90, what="the note after the restart")
        wait_for(stack.inbox_settled, timeout=30, what="the inbox to settle")
        time.sleep(3)  # room for a late redelivery or sweep to (wrongly) post again
        assert len(stack.notes(201)) == 1
        steps = [s["step"] for s in stack.state.audit_trail("zendesk", "201")]
        assert "requeued" in steps and steps.count("posted") == 1
    finally:
        stack.stop()
