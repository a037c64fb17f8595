"""/healthz: one word per component, 503 when any is not ok, and nothing an outsider should read."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from deskdraft import health
from deskdraft.state import State
from webhooks import create_app

FORBIDDEN = ("sqlite", "/tmp", "redis://", "Traceback", "Error", "config.yaml", "min_probability")


def app_for(config, state):
    return create_app(config, enqueue=lambda _: None, state=state).test_client()


def ready(config) -> None:
    (Path(config.data_dir).resolve() / "broker" / "queue").mkdir(parents=True, exist_ok=True)


def test_all_ok_is_200(make_config):
    config = make_config()
    state = State(config.database_url)
    ready(config)
    state.heartbeat("w1", 1)
    response = app_for(config, state).get("/healthz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ok", "components": {"config": "ok", "database": "ok", "broker": "ok",
                                                            "knowledge": "ok", "worker": "ok"}}


def test_no_worker_heartbeat_is_degraded_and_named(make_config):
    config = make_config()
    state = State(config.database_url)
    ready(config)
    response = app_for(config, state).get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "degraded" and response.json["components"]["worker"] == "never_seen"


def test_a_stale_heartbeat_is_degraded(make_config):
    config = make_config()
    ready(config)
    old = State(config.database_url, clock=lambda: time.time() - health.STALE_AFTER - 5)
    old.heartbeat("w1", 1)
    response = app_for(config, State(config.database_url)).get("/healthz")
    assert response.json["components"]["worker"] == "stale"


def test_unreachable_broker_says_so_without_its_address(make_config):
    config = make_config(queue={"broker_url": "redis://127.0.0.1:1/0"})
    state = State(config.database_url)
    state.heartbeat("w1", 1)
    report = health.Health(lambda: config, lambda: state, lambda: None).report()
    assert report["components"]["broker"] == "unavailable" and report["status"] == "degraded"
    assert not any(word in str(report) for word in FORBIDDEN)


def test_knowledge_store_missing_then_empty_then_ok_when_sources_are_configured(make_config, tmp_path):
    import chromadb
    folder = tmp_path / "docs"
    folder.mkdir()
    config = make_config(knowledge={"sources": [{"type": "folder", "path": str(folder)}]})
    state = State(config.database_url)
    assert health.knowledge(config) == "missing"
    client = chromadb.PersistentClient(path=config.chroma_path)
    collection = client.get_or_create_collection(config.knowledge.collection)
    assert health.knowledge(config) == "empty"
    collection.add(ids=["a"], documents=["refunds take 5 days"], embeddings=[[0.1, 0.2, 0.3]])
    assert health.knowledge(config) == "ok"
    report = health.Health(lambda: config, lambda: state, lambda: None).report()
    assert report["components"]["knowledge"] == "ok"


def test_no_store_and_no_sources_is_not_a_fault(make_config):
    assert health.knowledge(make_config()) == "ok"


def test_a_refused_config_edit_is_named_but_not_quoted(make_config, tmp_path):
    path = tmp_path / "config.yaml"
    from tests.conftest import config_text
    path.write_text(config_text(tmp_path / "var"))
    from deskdraft.settings import load_config
    config = load_config(path)
    state = State(config.database_url)
    ready(config)
    state.heartbeat("w1", 1)
    client = app_for(config, state)
    assert client.get("/healthz").json["components"]["config"] == "ok"
    path.write_text(path.read_text().replace("min_score: 0.05", "min_score: lots"))
    time.sleep(health.CACHE_SECONDS + 0.1)
    deadline = time.monotonic() + 10
    while (body := client.get("/healthz")).json["components"]["config"] != "error":
        assert time.monotonic() < deadline, body.json
        time.sleep(0.2)
    assert body.status_code == 503
    assert not any(word in body.get_data(as_text=True) for word in (*FORBIDDEN, "min_score", "lots"))


@pytest.mark.parametrize("probes", [50])
def test_probes_are_answered_from_a_short_cache(make_config, probes):
    config = make_config()
    state = State(config.database_url)
    calls = []
    h = health.Health(lambda: config, lambda: (calls.append(1), state)[1], lambda: None)
    for _ in range(probes):
        h.report()
    assert len(calls) == 2  # one report: the database check and the heartbeat read
