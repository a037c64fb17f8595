"""The worker caps glibc's malloc arenas before its threads start (deskdraft/allocator.py): without the cap each new
thread gets an arena of its own, and the free space left in them is what made the worker's RSS creep up in a soak."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
THREADS = 8

# Fires the worker's own worker_init handlers (or not), then has THREADS threads each hold a malloc'd block at the
# same time, and prints glibc's per-arena report (malloc_stats writes one "Arena n:" block per arena to stderr).
PROBE = f"""
import ctypes, sys, threading
from celery.signals import worker_init
import deskdraft.worker_signals
if sys.argv[1] == "worker_init":
    worker_init.send(sender=None)
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
all_holding = threading.Barrier({THREADS} + 1)
counted = threading.Event()
def hold():
    libc.malloc(64 * 1024 - 64)  # below the mmap threshold: served from this thread's arena
    all_holding.wait()
    counted.wait()
threads = [threading.Thread(target=hold) for _ in range({THREADS})]
for t in threads:
    t.start()
all_holding.wait()
libc.malloc_stats()
counted.set()
"""


def arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="arenas are glibc's")
def test_the_worker_caps_malloc_arenas_before_its_threads_start():
    assert arenas("plain") > 2  # the probe sees glibc's default: an arena per new thread
    assert arenas("worker_init") <= 2


def test_malloc_arena_max_in_the_environment_wins(monkeypatch):
    from deskdraft import allocator

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert allocator.limit_arenas() == 4
