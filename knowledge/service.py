"""The worker's view of the knowledge store: opened once on first use, queried by many threads."""
from __future__ import annotations

import threading
from typing import Any

from pipeline import RetrievalUnavailable
from settings import Config


class Retriever:
    """Callable query → passages (best first, under the score floor dropped); opens Chroma lazily."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._store: Any = None
        self._lock = threading.Lock()

    def store(self) -> Any:
        from knowledge.store import StoreBusy, open_store

        with self._lock:
            if self._store is None:
                k = self._config.knowledge
                try:
                    self._store = open_store(None if k.url else self._config.chroma_path, k.url, k.collection,
                                             k.embedding, k.threads)
                except StoreBusy as exc:
                    raise RetrievalUnavailable(str(exc)) from exc
            return self._store

    def __call__(self, query: str) -> list[Any]:
        from knowledge.retrieve import retrieve

        k = self._config.knowledge
        return retrieve(self.store(), query, k=k.top_k, min_score=k.min_score)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
