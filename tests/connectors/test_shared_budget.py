"""One helpdesk request budget spent by several processes: the shared limiter on Redis (connectors/budget.py)
against the fake Freshdesk over real HTTP, two worker-like processes at once."""
from __future__ import annotations

import multiprocessing

import pytest

from connectors import build_connectors
from connectors.budget import LocalBudget, SharedBudget, shared_store_url
from connectors.http import TransientHelpdeskError, send
from deskdraft.settings import parse_config
from tests.conftest import config_text
from tests.e2e.harness import free_port
from tests.e2e.test_spine import redis_url
from tests.fakes.freshdesk import FakeFreshdesk
from tests.fakes.server import serve

KEY, TICKET, PER_MINUTE = "fd-api-key", 42, 12


def _config_text(tmp_path, fd_url: str, budget_url: str | None) -> str:
    account = {"type": "freshdesk", "base_url": fd_url, "api_token_env": "TEST_FRESHDESK_KEY",
               "webhook_secret_env": "TEST_FRESHDESK_SECRET", "max_attempts": 1,
               "requests_per_minute": PER_MINUTE}
    queue = {"budget_url": budget_url} if budget_url else {}
    return config_text(tmp_path / "var", only_helpdesks={"fd": account}, queue=queue)


def _spend(config_yaml: str, ready, attempts: int, results: multiprocessing.Queue) -> None:
    """One worker process: `attempts` ticket reads from 4 threads, each waiting for the shared budget at most 2 s."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    os.environ.update({"TEST_FRESHDESK_KEY": KEY, "TEST_FRESHDESK_SECRET": "secret"})
    connector = build_connectors(parse_config(config_yaml, "config.yaml"))["fd"]
    connector.budget.max_wait = 2.0
    # Both processes import and connect first, then begin together. A barrier, not a start time: a slow import (a
    # loaded machine, tracemalloc) would have started one process late and spent the budget unevenly.
    ready.wait(60)

    def read(_: int) -> str:
        try:
            send(connector.http, "GET", f"/api/v2/tickets/{TICKET}", attempts=1)
            return "sent"
        except TransientHelpdeskError:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        results.put(list(pool.map(read, range(attempts))))


@pytest.fixture
def fd():
    fake = FakeFreshdesk(api_key=KEY)
    fake.add_contact(1001, "Casey Customer")
    fake.add_ticket(TICKET, "Where is my order?", 1001, "It has not arrived.")
    with serve(fake.app) as server:
        fake.url = server.url
        yield fake
    assert fake.errors == []


def test_two_processes_spend_one_budget(tmp_path, fd):
    url = redis_url()
    text = _config_text(tmp_path, fd.url, url)
    budget = build_connectors(parse_config(text, "config.yaml"))["fd"].budget
    assert isinstance(budget, SharedBudget)
    budget.limiter.clear(budget.item, budget.key)  # a rerun within the minute starts from a full budget
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    ready = spawn.Barrier(2)
    procs = [spawn.Process(target=_spend, args=(text, ready, PER_MINUTE, results)) for _ in range(2)]
    try:
        for proc in procs:
            proc.start()
        outcomes = [results.get(timeout=60) for _ in procs]
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        budget.limiter.clear(budget.item, budget.key)
    reads = [r for r in fd.requests if r == ("GET", f"/api/v2/tickets/{TICKET}")]
    # Each process alone would have sent all twelve of its reads at once (a local budget's first slot is free and a
    # burst queues only within one process): together they sent twelve in the minute, not twenty-four.
    assert sum(o.count("sent") for o in outcomes) == PER_MINUTE == len(reads)
    assert sum(o.count("refused") for o in outcomes) == PER_MINUTE


def test_the_budget_is_shared_on_the_brokers_redis_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_FRESHDESK_KEY", KEY)
    monkeypatch.setenv("TEST_FRESHDESK_SECRET", "secret")
    embedded = parse_config(_config_text(tmp_path, "http://127.0.0.1:9", None), "c.yaml")
    assert shared_store_url(embedded) is None
    assert isinstance(build_connectors(embedded)["fd"].budget, LocalBudget)
    on_redis = parse_config(config_text(tmp_path / "var", queue={"broker_url": "redis://127.0.0.1:6379/3"}), "c.yaml")
    assert shared_store_url(on_redis) == "redis://127.0.0.1:6379/3"
    on_rabbit = parse_config(config_text(tmp_path / "var", queue={"broker_url": "amqp://guest@127.0.0.1//",
                                                                  "budget_url": "redis://127.0.0.1:6379/4"}), "c.yaml")
    assert shared_store_url(on_rabbit) == "redis://127.0.0.1:6379/4"


def test_an_unreachable_budget_store_sends_nothing_and_is_transient(tmp_path, fd, monkeypatch):
    monkeypatch.setenv("TEST_FRESHDESK_KEY", KEY)
    monkeypatch.setenv("TEST_FRESHDESK_SECRET", "secret")
    closed = f"redis://127.0.0.1:{free_port()}/0"
    connector = build_connectors(parse_config(_config_text(tmp_path, fd.url, closed), "c.yaml"))["fd"]
    with pytest.raises(TransientHelpdeskError, match="budget store unreachable"):
        connector.fetch_ticket(str(TICKET))
    assert fd.requests == []
