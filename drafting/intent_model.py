"""Where the worker's intent router comes from: trained on config.yaml's intents (and labelled past
tickets, when an admin gave some), cached on disk under a fingerprint of what it was trained on."""
from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from deskdraft.settings import Config
from drafting.router import IntentRouter, training_set
from drafting.routing import IntentSpec

log = logging.getLogger(__name__)
LABELLED_FILE = "labelled_tickets.csv"  # text,label rows; `flask --app webhooks router train --labelled F` puts it here


def specs(config: Config) -> list[IntentSpec]:
    return [IntentSpec(i.name, i.description, i.examples, i.risky) for i in config.intents.values()]


def labelled_tickets(config: Config) -> list[tuple[str, str]]:
    path = Path(config.data_dir) / LABELLED_FILE
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["text"], row["label"]) for row in csv.DictReader(f) if row.get("text") and row.get("label")]


def fingerprint(intents: Sequence[IntentSpec], past: Sequence[tuple[str, str]], embedding: str) -> str:
    digest = hashlib.sha256(embedding.encode())
    for spec in sorted(intents, key=lambda s: s.name):
        digest.update("\0".join([spec.name, spec.description, *spec.examples]).encode())
    for text, label in past:
        digest.update(f"{label}\0{text}".encode())
    return digest.hexdigest()[:16]


def embedder(name: str, threads: int = 0) -> Callable[[Sequence[str]], np.ndarray]:
    from knowledge.embeddings import build_embedding

    function = build_embedding(name, threads)
    return lambda texts: np.asarray(function(list(texts)), dtype=np.float32)


def load_or_train(config: Config, embed: Callable[[Sequence[str]], np.ndarray] | None = None) -> IntentRouter | None:
    """The router for today's intents; None when fewer than two intents have examples (everything is unknown)."""
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
            return IntentRouter.load(path, embed)
        except (ValueError, OSError, KeyError) as exc:
            log.warning("retraining the intent router: %s", exc)
    router = IntentRouter.train(texts, labels, embed)
    router.save(path)
    log.info("intent router trained on %d examples of %d intents", len(texts), len(set(labels)))
    return router


def describe(router: Any) -> str:
    if router is None:
        return "no router (fewer than two intents with examples)"
    return f"{len(router.classes)} intents, trained on {router.trained_on} examples, T={router.temperature:.2f}"
