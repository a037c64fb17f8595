"""Caps glibc's malloc arenas in the worker, whose RSS otherwise creeps up for an hour or more under load.

glibc gives each new thread its own arena until there are 8 per core. The worker has some 40 threads (its pool,
Chroma's Rust runtime, the heartbeat), so on 2 cores it ends with 16 arenas, and memory freed in one arena is only
ever reused by the threads bound to it: the free space inside them grew 3-4 MB a minute in a soak at 10 webhooks/s
while the memory in use (Python objects, malloc's in-use bytes) stayed flat. Two arenas stop that (README,
"Memory:"), and the worker still keeps up with 10 drafts/s: the GIL serializes most of its allocations anyway.

The cap must be set before the threads start, so the worker calls `limit_arenas()` on Celery's `worker_init`.
MALLOC_ARENA_MAX in the environment wins: glibc reads it itself and this module then changes nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform

log = logging.getLogger(__name__)

DEFAULT_ARENAS = 2
M_ARENA_MAX = -8  # glibc's malloc.h


def limit_arenas(arenas: int = DEFAULT_ARENAS) -> int | None:
    """Cap this process's malloc arenas; the cap in force (None: not glibc, or it refused)."""
    from_env = os.environ.get("MALLOC_ARENA_MAX", "").strip()
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)  # already applied by glibc at start-up
    if platform.libc_ver()[0] != "glibc":
        return None  # musl (Alpine) and others: their allocators have no per-thread arenas to cap
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError) as exc:
        log.warning("malloc arenas not capped: %s", exc)
        return None
    return arenas if ok == 1 else None
