"""The web processes' SQLite writers take turns through writer_turns.py: one at a time, across processes, and a
killed holder does not leave the others waiting."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from deskdraft.writer_turns import WriterTurns

HOLD = """
import sys, time
from deskdraft.writer_turns import WriterTurns
turns = WriterTurns(sys.argv[1])
with turns:
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(path, seconds: float) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "holding"
    return child


def _reap(child: subprocess.Popen) -> None:
    child.wait(5)
    assert child.stdout is not None
    child.stdout.close()


def test_another_process_waits_for_the_turn_and_gets_it_as_soon_as_it_is_freed(tmp_path):
    path = tmp_path / "db.writer-turns"
    child = _holder(path, 0.5)
    turns = WriterTurns(str(path))
    started = time.monotonic()
    with turns:
        waited = time.monotonic() - started
    _reap(child)
    turns.close()
    assert 0.3 < waited < 2.0  # held by the other process until it let go, then handed over
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_a_killed_holder_frees_the_turn(tmp_path):
    path = tmp_path / "db.writer-turns"
    child = _holder(path, 60)
    threading.Timer(0.2, child.send_signal, (signal.SIGKILL,)).start()
    turns = WriterTurns(str(path))
    started = time.monotonic()
    with turns:
        assert time.monotonic() - started < 10
    _reap(child)
    turns.close()


def test_threads_of_one_process_take_turns_too(tmp_path):
    """flock does not exclude threads sharing one open file; the turn does."""
    turns = WriterTurns(str(tmp_path / "db.writer-turns"))
    inside, most = [0], [0]

    def write() -> None:
        for _ in range(200):
            with turns:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                time.sleep(0)
                inside[0] -= 1

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    turns.close()
    assert most[0] == 1
