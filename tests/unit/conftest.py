"""tests/unit: pure and fast. Everything collected here is marked `unit` (see tests/conftest.py) and may not start
processes or reach past loopback, so `scripts/test tests/unit` stays a few-second check."""
from __future__ import annotations

import ipaddress
import socket
import subprocess

import pytest


class NotAUnitTest(RuntimeError):
    """Raised when a test under tests/unit starts a process or connects past loopback: it belongs elsewhere."""


def _refuse_process(popen: subprocess.Popen, args, *rest) -> None:
    raise NotAUnitTest(f"tests/unit may not start processes: {args!r}")


@pytest.fixture(autouse=True)
def unit_test_stays_local(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise NotAUnitTest(f"tests/unit may not connect to {host}")
        real_connect(sock, address)

    # The last step of Popen.__init__, so a refused Popen is still a well-formed object when it is collected.
    monkeypatch.setattr(subprocess.Popen, "_execute_child", _refuse_process)
    monkeypatch.setattr(socket.socket, "connect", loopback_only)
