"""The tests/unit guard: a process or a connection past loopback fails the test instead of slowing the suite."""
from __future__ import annotations

import socket
import subprocess

import pytest

from tests.unit.conftest import NotAUnitTest


def test_a_process_is_refused():
    with pytest.raises(NotAUnitTest, match="may not start processes"):
        subprocess.run(["true"], check=False)


def test_a_connection_past_loopback_is_refused():
    with socket.socket() as sock, pytest.raises(NotAUnitTest, match=r"192\.0\.2\.1"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed, so the guard is what answered


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_everything_here_carries_the_unit_marker(request: pytest.FixtureRequest):
    assert request.node.get_closest_marker("unit") is not None
