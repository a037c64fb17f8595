"""Webhook ack against a bare Flask endpoint under the same gunicorn, in the same run, interleaved.

    .venv/bin/python benchmarks/ack.py [--broker redis://127.0.0.1:6379/8] [--rounds 7] [--seconds 5]

Two gunicorn servers with gunicorn.conf.py: deskdraft (`webhooks:create_app()`: verify the Zendesk signature,
parse, SQLite inbox row + audit step, enqueue on the broker; embedded filesystem broker unless --broker) and
benchmarks/bare_flask.py (parse the same body, answer the same 202). Rounds alternate between them, so a noisy
neighbour on the machine hits both alike. Per server: time from start to its first 202, throughput at each of
--connections requests in flight (16 and 64 by default) and its best of those (a server's capacity: bare Flask
peaks at 16, where the inbox's group commit, whose batches grow with concurrency, is still latency-bound),
p50/p99 at --rate requests/s (open loop), and the server's CPU per request
(gunicorn's processes, from /proc). Each deskdraft figure is also printed as a ratio to the bare one.

No worker runs: after each of deskdraft's rounds, outside the measured time, the benchmark empties the queue as a
worker would have. Left undrained (--undrained), the embedded broker's folder grew by about 2,000 message files a
round, 14,000 by the last, and on this disk a new entry in a growing folder cost 35-750 µs against about 35 in a
drained one.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.http_load import Result, closed_loop, open_loop, request_bytes  # noqa: E402
from tests.conftest import ZENDESK_SECRET, ZENDESK_TOKEN, config_text  # noqa: E402
from tests.e2e.harness import free_port  # noqa: E402
from tests.fakes.zendesk import sign_zendesk, zendesk_event  # noqa: E402

HOST = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")


def deliveries(host: str, prefix: str) -> Iterator[bytes]:
    """Signed Zendesk comment events, each a new event id (a repeated one is the cheaper duplicate path)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for n in itertools.count():
        body = json.dumps(zendesk_event(10_000 + n % 5000, event_id=f"{prefix}-{n}")).encode()
        yield request_bytes(host, "/webhooks/zendesk", body, sign_zendesk(ZENDESK_SECRET, body, stamp))


def cpu_seconds(master: int) -> float:
    """utime+stime of gunicorn's master and its workers."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == master or int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


class Server:
    def __init__(self, name: str, app: str, env: dict[str, str]) -> None:
        self.name, self.port = name, free_port()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"{HOST}:{self.port}",
             "--access-logfile", "/dev/null", app], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        requests = deliveries(f"{HOST}:{self.port}", f"start-{name}")
        while True:  # the first 202 is what a helpdesk sees: the app is imported and the inbox open
            try:
                if closed_loop(HOST, self.port, requests, 1, 0.001).statuses.get(202):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.perf_counter() - started > 120:
                raise SystemExit(f"{name} did not start")
            time.sleep(0.02)
        self.first_202 = time.perf_counter() - started
        self.requests = deliveries(f"{HOST}:{self.port}", name)
        closed_loop(HOST, self.port, self.requests, 8, 1.0)  # warm-up: every worker thread, every connection

    def measure(self, run) -> tuple[Result, float]:
        before = cpu_seconds(self.proc.pid)
        result = run(self)
        return result, (cpu_seconds(self.proc.pid) - before) / max(1, len(result.latencies_ms)) * 1000

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(20)


def consume(broker: str | None, queue_name: str, data_dir: Path) -> int:
    """Take every message out of the queue, as the worker would have; the count taken (on the embedded broker,
    files of several messages each; on Redis, list entries of several messages each). The inbox rows stay pending:
    that table grows as it would until the retention sweep."""
    if broker:  # Redis, RabbitMQ: the transport's own purge
        from kombu import Connection
        with Connection(broker) as connection:
            return int(connection.default_channel.queue_purge(queue_name) or 0)
    taken = 0
    for entry in os.scandir(data_dir / "broker" / "queue"):
        if entry.name.endswith(f".{queue_name}.msg"):  # a ".partial" being written stays for the next round
            os.unlink(entry.path)
            taken += 1
    return taken


def forget(broker: str, queue_name: str) -> None:
    """Leave no trace on a shared broker: the queue, and on Redis kombu's binding sets for it (a new channel's
    queue_delete knows of no bindings there)."""
    if broker.startswith("redis"):
        import redis
        with redis.Redis.from_url(broker) as client:
            client.delete(queue_name, f"_kombu.binding.{queue_name}", f"_kombu.binding_permanent.{queue_name}")
        return
    from kombu import Connection
    with Connection(broker) as connection:
        connection.default_channel.queue_delete(queue_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default=None, help="e.g. redis://127.0.0.1:6379/8 (default: embedded folders)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="interleaved rounds; this VM's speed drifts within minutes, and 3 rounds were not enough")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--connections", default="16,64",
                        help="requests in flight for the throughput phases, comma-separated: one phase each")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--undrained", action="store_true",
                        help="leave the queue growing across rounds, as this benchmark did before 2026-12-02")
    args = parser.parse_args()
    in_flight = [int(n) for n in args.connections.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        queue = {"name": f"bench-ack-{os.getpid()}", **({"broker_url": args.broker} if args.broker else {})}
        config = Path(tmp) / "ack.yaml"
        config.write_text(config_text(Path(tmp) / "var", queue=queue))
        env = {**os.environ, "DESKDRAFT_CONFIG": str(config), "TEST_ZENDESK_TOKEN": ZENDESK_TOKEN,
               "TEST_ZENDESK_SECRET": ZENDESK_SECRET, "PYTHONPATH": str(REPO)}
        servers = [Server("deskdraft", "webhooks:create_app()", env),
                   Server("bare", "benchmarks.bare_flask:app", env)]
        figures: dict[str, dict[str, list[float]]] = {s.name: {} for s in servers}
        errors: dict[str, dict[int, int]] = {s.name: {} for s in servers}
        consumed: list[int] = []
        try:
            for _ in range(args.rounds):
                for server in servers:
                    measured: list[tuple[str, float]] = []
                    results = []
                    for connections in in_flight:
                        tput, tcpu = server.measure(lambda s, n=connections: closed_loop(
                            HOST, s.port, s.requests, n, args.seconds))
                        results.append(tput)
                        measured += [(f"req/s @{connections}", tput.rate * tput.share(202)),
                                     (f"cpu ms/req @{connections}", tcpu)]
                    lat, lcpu = server.measure(lambda s: open_loop(HOST, s.port, s.requests, args.rate,
                                                                   args.seconds))
                    for result in (*results, lat):  # a 503 is a refusal: it counts as an error, not as throughput
                        for status, count in result.statuses.items():
                            if status != 202:
                                errors[server.name][status] = errors[server.name].get(status, 0) + count
                    peak = max(value for key, value in measured if key.startswith("req/s"))
                    for key, value in (*measured, ("req/s, best level", peak), ("p50 ms", lat.percentile(50)),
                                       ("p99 ms", lat.percentile(99)), ("cpu ms/req @rate", lcpu)):
                        figures[server.name].setdefault(key, []).append(value)
                    if server is servers[0] and not args.undrained:
                        consumed.append(consume(args.broker, queue["name"], Path(tmp) / "var"))
        finally:
            for server in servers:
                server.stop()
            if args.broker:
                forget(args.broker, queue["name"])
    print(f"webhook ack, broker {args.broker or 'embedded folders'}"
          f"{' (queue left undrained)' if args.undrained else ''}, SQLite inbox, {args.rounds} interleaved rounds "
          f"of {args.seconds:.0f} s; throughput with {args.connections} in flight (@N; 'best level': each "
          f"server's best of those, per round), latency at {args.rate:.0f}/s")
    print(f"  first 202 after start: deskdraft {servers[0].first_202:.2f} s, bare {servers[1].first_202:.2f} s")
    if consumed:
        print(f"  queue emptied after each deskdraft round, outside the measured time: "
              f"{statistics.mean(consumed):,.0f} broker entries a round on average")
    for name, counts in errors.items():
        if counts:
            print(f"  {name}: answers other than 202: {counts}")
    for key in figures["deskdraft"]:
        ours, bare = statistics.median(figures["deskdraft"][key]), statistics.median(figures["bare"][key])
        print(f"  {key:17} deskdraft {ours:8.2f}   bare {bare:8.2f}   ratio {ours / bare:5.2f}   "
              f"(rounds: {', '.join(f'{v:.1f}' for v in figures['deskdraft'][key])})")


if __name__ == "__main__":
    main()
