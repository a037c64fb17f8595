"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections over asyncio, requests built
beforehand, so the client spends little CPU per request (the server shares the machine's cores with it).

`closed_loop` keeps `connections` requests in flight for `seconds` (throughput); `open_loop` sends at a set rate
whatever the answers do (latency at that rate: a slow answer does not slow the sender, so queueing shows in p99).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def share(self, status: int) -> float:
        return self.statuses.get(status, 0) / max(1, sum(self.statuses.values()))

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             "Content-Type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _closed(host: str, port: int, requests: Iterator[bytes], connections: int, seconds: float) -> Result:
    result = Result()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                raw = next(requests, None)
                if raw is None:
                    return
                started = time.perf_counter()
                status = await _exchange(reader, writer, raw)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


async def _open(host: str, port: int, requests: Iterator[bytes], rate: float, seconds: float,
                pool: int) -> Result:
    result = Result()
    free: asyncio.Queue = asyncio.Queue()
    for _ in range(pool):
        free.put_nowait(await asyncio.open_connection(host, port))

    async def one(raw: bytes, due: float) -> None:
        reader, writer = await free.get()
        status = await _exchange(reader, writer, raw)
        # From when it was due, not when a connection was free: waiting for one is part of the latency.
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        free.put_nowait((reader, writer))

    tasks = []
    started = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = started + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        raw = next(requests, None)
        if raw is None:
            break
        tasks.append(asyncio.ensure_future(one(raw, due)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    while not free.empty():
        free.get_nowait()[1].close()
    return result


def closed_loop(host: str, port: int, requests: Iterator[bytes], connections: int, seconds: float) -> Result:
    return asyncio.run(_closed(host, port, requests, connections, seconds))


def open_loop(host: str, port: int, requests: Iterator[bytes], rate: float, seconds: float,
              pool: int = 64) -> Result:
    return asyncio.run(_open(host, port, requests, rate, seconds, pool))
