"""The worker's view of the knowledge store: opened once on first use, queried by many threads."""
from __future__ import annotations

import threading
from typing import Any, Callable

from pipeline import RetrievalUnavailable
from settings import Config, HelpdeskAccount


class Retriever:
    """Callable query → passages (best first, under the score floor dropped); opens Chroma lazily.

    `Retriever(config)(query)` searches everything (no scope filter); a helpdesk account's drafts should go through
    `for_account(account)` (or pass `account=`), which sees the shared documents (scope "") plus the account's own
    `knowledge_scope`. `locale` (the ticket's or the customer's language) keeps passages in that language or in none.
    """

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

    def __call__(self, query: str, *, account: HelpdeskAccount | None = None, locale: str | None = None,
                 kinds: Any = None) -> list[Any]:
        from knowledge.retrieve import retrieve

        k = self._config.knowledge
        scope = None if account is None else (account.knowledge_scope or "")
        return retrieve(self.store(), query, k=k.top_k, min_score=k.min_score, kinds=kinds, locale=locale,
                        scope=scope, hybrid=k.hybrid)

    def for_account(self, account: HelpdeskAccount) -> Callable[..., list[Any]]:
        """query (and locale=) → passages this account may be grounded on."""
        return lambda query, locale=None, kinds=None: self(query, account=account, locale=locale, kinds=kinds)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
