"""A change of embedding model is a knowledge change: the gate's measurement restarts (autonomy.restart_on)."""
from types import SimpleNamespace

from knowledge.epoch import knowledge_epoch


def config(snapshot: str, embedding: str) -> SimpleNamespace:
    return SimpleNamespace(autonomy=SimpleNamespace(knowledge_snapshot=snapshot),
                           knowledge=SimpleNamespace(embedding=embedding))


def test_changing_the_embedding_model_changes_the_knowledge_epoch():
    before = knowledge_epoch(config("2026-11", "minilm-int8"))
    after = knowledge_epoch(config("2026-11", "multilingual-e5-small"))
    assert before != after
    assert knowledge_epoch(config("2026-12", "multilingual-e5-small")) != after  # the admin's label still counts
    assert knowledge_epoch(config("2026-11", "multilingual-e5-small")) == after  # and nothing else moves it


def test_drafts_measured_before_the_embedding_was_recorded_still_count():
    # Those were all made with minilm-int8 and carry the bare label.
    assert knowledge_epoch(config("2026-11", "minilm-int8")) == "2026-11"
