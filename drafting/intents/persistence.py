"""Where the worker's intent classifier lives: an .npz file (no pickle) per training set, cached on disk.

It is trained on config.yaml's intents (and labelled past tickets, when an admin gave some) and stored
under a fingerprint of what it was trained on and with which embedding, so a worker restart loads it and
a change of intents or embedding trains a new one. A probe embedding saved with it refuses a load with a
different embedding function than the one it was trained with.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deskdraft.settings import Config
from drafting.intents.classifier import PROBE, Embed, IntentRouter, embed_texts
from drafting.intents.routing import IntentSpec
from drafting.intents.training import c_for, train, training_set

log = logging.getLogger(__name__)
LABELLED_FILE = "labelled_tickets.csv"  # text,label rows; `deskdraft router train --labelled F` puts it here
FORMAT = 1


def save(router: IntentRouter, path: Path) -> None:
    """Write the classifier to path (.npz, no pickle), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        np.savez(f, format=np.array(FORMAT), classes=np.array(router.classes, dtype=np.str_), coef=router.coef,
                 intercept=router.intercept, temperature=np.array(router.temperature),
                 probe=router.probe if router.probe is not None else np.zeros(0, np.float32),
                 calibrated_on=np.array(router.calibrated_on), trained_on=np.array(router.trained_on),
                 examples=router.examples.astype(np.float16), min_similarity=np.array(router.min_similarity))
    os.replace(tmp, path)


def load(path: Path, embed: Embed) -> IntentRouter:
    """Read a saved classifier; refuses one trained with a different embedding function."""
    with np.load(Path(path), allow_pickle=False) as data:
        if int(data["format"]) != FORMAT:
            raise ValueError(f"{path}: router format {int(data['format'])}, this code reads {FORMAT}")
        router = IntentRouter(data["classes"].tolist(), data["coef"], data["intercept"], float(data["temperature"]),
                              embed, data["probe"] if data["probe"].size else None, int(data["calibrated_on"]),
                              int(data["trained_on"]), data["examples"], float(data["min_similarity"]))
    if router.probe is not None:
        now = embed_texts(embed, [PROBE])[0]
        if now.shape != router.probe.shape or float(now @ router.probe) < 0.999:
            raise ValueError(f"{path} was trained with a different embedding; retrain the router")
    return router


def specs(config: Config) -> list[IntentSpec]:
    return [IntentSpec(i.name, i.description, i.examples, i.risky) for i in config.intents.values()]


def labelled_tickets(config: Config) -> list[tuple[str, str]]:
    path = Path(config.data_dir) / LABELLED_FILE
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["text"], row["label"]) for row in csv.DictReader(f) if row.get("text") and row.get("label")]


def fingerprint(intents: Sequence[IntentSpec], past: Sequence[tuple[str, str]], embedding: str) -> str:
    digest = hashlib.sha256(f"{embedding}\0C={c_for(embedding)}".encode())  # a new C is a new model
    for spec in sorted(intents, key=lambda s: s.name):
        digest.update("\0".join([spec.name, spec.description, *spec.examples]).encode())
    for text, label in past:
        digest.update(f"{label}\0{text}".encode())
    return digest.hexdigest()[:16]


def embedder(name: str, threads: int = 0) -> Callable[[Sequence[str]], np.ndarray]:
    """The query side of embedding `name`: customer messages are questions, and retrieval embeds them the same way,
    so one vector per ticket serves both."""
    from knowledge.embeddings import build_embedding

    function = build_embedding(name, threads)
    return lambda texts: np.asarray(function.embed_query(list(texts)), dtype=np.float32)


def load_or_train(config: Config, embed: Embed | None = None) -> IntentRouter | None:
    """The classifier for today's intents; None when fewer than two intents have examples (everything is unknown)."""
    intents = specs(config)
    past = labelled_tickets(config)
    texts, labels = training_set(intents, past)
    if len(set(labels)) < 2:
        log.warning("fewer than two intents with examples in config.yaml: every ticket routes to a human")
        return None
    embed = embed or embedder(config.knowledge.embedding, config.knowledge.threads)
    path = Path(config.data_dir) / "router" / f"router-{fingerprint(intents, past, config.knowledge.embedding)}.npz"
    if path.exists():
        try:
            router = load(path, embed)
            router.embedding_name = config.knowledge.embedding
            return router
        except (ValueError, OSError, KeyError) as exc:
            log.warning("retraining the intent router: %s", exc)
    router = train(texts, labels, embed, c_for(config.knowledge.embedding))
    router.embedding_name = config.knowledge.embedding
    save(router, path)
    log.info("intent router trained on %d examples of %d intents", len(texts), len(set(labels)))
    return router


def describe(router: Any) -> str:
    if router is None:
        return "no router (fewer than two intents with examples)"
    return f"{len(router.classes)} intents, trained on {router.trained_on} examples, T={router.temperature:.2f}"
