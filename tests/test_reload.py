"""Config edits in a running worker: drafting goes on through every reloadable change (the replaced knowledge
store is closed, so its embedded lock does not block the new one), restart-only changes are refused by name,
and a missing or empty knowledge store is reported when sources are configured."""
from __future__ import annotations

import threading
import time

import pytest
import yaml

import worker
from deskdraft.settings import load_config
from knowledge.chunking import Chunk
from knowledge.health import knowledge_store_health
from knowledge.retriever import RetrievalUnavailable
from knowledge.store import open_store
from tests.conftest import config_text

DOC = Chunk(id="refunds#0", text="Refunds are paid back within 5 business days", title="Refunds",
            url="https://help.acme.test/refunds", kind="policy", locale="", source_id="refunds",
            updated_at="2026-01-01T00:00:00Z", content_hash="r1")


def ingest(path: str) -> None:
    with open_store(path, None, "deskdraft-kb", "hash") as store:
        store.upsert([DOC])


@pytest.fixture
def running(tmp_path, secrets):
    """The worker module configured from a config file, as `celery -A worker` does, with a filled store."""
    path = tmp_path / "config.yaml"
    path.write_text(config_text(tmp_path / "var"))
    config = load_config(path)
    ingest(config.chroma_path)
    worker.configure(config)
    yield path
    if worker._deps is not None:
        worker._deps.retrieve.close()
        worker._deps.state.dispose()
    worker._config = worker._deps = worker._live = None


def edit(path, **changes) -> None:
    raw = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        raw.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(raw))
    time.sleep(1.1)  # LiveConfig looks at the file at most once a second


def test_drafting_goes_on_through_knowledge_edits_under_load(running, tmp_path):
    errors: list[BaseException] = []
    served = [0]
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                assert worker.deps().retrieve(DOC.text)[0].id == "refunds#0"
                served[0] += 1
            except RetrievalUnavailable:
                pass  # a run caught mid-reload: the task retries it on the new store
            except BaseException as exc:  # anything else is what the issue saw: drafting stopped
                errors.append(exc)
                return

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        first = worker.deps()
        edit(running, knowledge__top_k=3, knowledge__min_score=0.01)  # same store: handed over, not reopened
        second = worker.deps()
        assert second is not first and second.config.knowledge.top_k == 3
        assert second.retrieve.store() is first.retrieve._store or first.retrieve._store is None
        other = tmp_path / "kb2"
        ingest(str(other))
        edit(running, knowledge__path=str(other))  # another store: the old one is closed, its lock released
        third = worker.deps()
        assert third.config.chroma_path == str(other)
        before = served[0]
        time.sleep(1.0)
        assert served[0] > before, "retrieval stopped after the edit"
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert errors == []
    assert worker._live.error is None


@pytest.mark.parametrize("dotted,value", [("state__url", "sqlite:////tmp/elsewhere.db"),
                                          ("queue__concurrency", 7), ("queue__broker_url", "redis://127.0.0.1:1/0"),
                                          ("webhooks__max_body_bytes", 1234)])
def test_restart_only_edits_are_refused_by_name(running, dotted, value):
    first = worker.deps()
    edit(running, **{dotted: value})
    assert worker.deps() is first  # the running values stay in force
    assert "needs a restart" in worker._live.error and dotted.replace("__", ".") in worker._live.error


def test_knowledge_store_health(tmp_path, make_config):
    sources = {"sources": [{"type": "folder", "path": str(tmp_path), "kind": "article"}]}
    config = make_config(knowledge=sources)
    ok, reason = knowledge_store_health(config)
    assert not ok and "missing" in reason
    open_store(config.chroma_path, None, "deskdraft-kb", "hash").close()  # what a worker start used to create
    ok, reason = knowledge_store_health(config)
    assert not ok and "empty" in reason and "knowledge sync" in reason
    ingest(config.chroma_path)
    assert knowledge_store_health(config) == (True, f"1 chunks in the knowledge store at {config.chroma_path}")
    assert knowledge_store_health(make_config())[0]  # no sources configured: nothing is expected yet
