"""The configured retriever the worker (and replay) hold: the knowledge store opened once on first use, queried by
many threads, handed over or closed on a config reload. The search itself is knowledge/retrieve.py's `retrieve`;
`Retriever.__call__` is the one entry point that applies config.knowledge and an account's scope to it."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from deskdraft.settings import Config, HelpdeskAccount


class RetrievalUnavailable(RuntimeError):
    """The knowledge store cannot be read right now (held by another process): retried later."""


class Retriever:
    """Callable query → passages (best first, under the score floor dropped); opens Chroma lazily.

    `Retriever(config)(query)` searches everything (no scope filter); a helpdesk account's drafts should go through
    `for_account(account)` (or pass `account=`), which sees the shared documents (scope "") plus the account's own
    `knowledge_scope`. `locale` (the customer's language) puts an article's version in that language first.
    """

    def __init__(self, config: Config, previous: Retriever | None = None) -> None:
        """`previous`: the retriever of the config being replaced. Its open store is taken over when the new config
        points at the same store, and closed otherwise (releasing the embedded directory's lock for the new one)."""
        self._config = config
        self._store: Any = None
        self._lock = threading.Lock()
        self._closed = False
        if previous is not None:
            if previous.store_key() == self.store_key():
                self._store = previous._hand_over()
            else:
                previous.close()

    def store_key(self) -> tuple[Any, ...]:
        """What identifies the store itself; top_k, min_score, hybrid and sources do not."""
        k = self._config.knowledge
        return (k.url, None if k.url else self._config.chroma_path, k.collection, k.embedding, k.threads)

    def _hand_over(self) -> Any:
        with self._lock:
            store, self._store = self._store, None
            return store

    def store(self) -> Any:
        from knowledge.store import StoreBusy, open_store

        with self._lock:
            if self._closed:
                raise RetrievalUnavailable("the knowledge store was replaced by a config reload")
            if self._store is None:
                k = self._config.knowledge
                try:
                    self._store = open_store(None if k.url else self._config.chroma_path, k.url, k.collection,
                                             k.embedding, k.threads)
                except StoreBusy as exc:
                    raise RetrievalUnavailable(str(exc)) from exc
                except Exception as exc:
                    if not k.url:
                        raise
                    # A Chroma server down or restarting: the job retries with backoff, no "no draft" note yet.
                    raise RetrievalUnavailable(f"the Chroma server cannot be reached: {exc}") from exc
            return self._store

    def __call__(self, query: str, *, account: HelpdeskAccount | None = None, locale: str | None = None,
                 kinds: Any = None, embedding: Any = None) -> list[Any]:
        from knowledge.retrieve import retrieve

        k = self._config.knowledge
        scope = None if account is None else (account.knowledge_scope or "")
        store = self.store()
        try:
            return retrieve(store, query, k=k.top_k, min_score=k.min_score, kinds=kinds, locale=locale,
                            scope=scope, hybrid=k.hybrid, embedding=embedding)
        except Exception as exc:
            if getattr(store, "_closed", False):  # a reload closed it under a run in flight: retry on the new one
                raise RetrievalUnavailable("the knowledge store was replaced by a config reload") from exc
            if k.url and _server_unreachable(exc):  # a Chroma server restart: retried with backoff
                raise RetrievalUnavailable(f"the Chroma server cannot be reached: {type(exc).__name__}") from exc
            raise

    def health(self) -> tuple[bool, str]:
        """knowledge.health.knowledge_store_health on this retriever's open store."""
        from knowledge.health import knowledge_store_health

        return knowledge_store_health(self._config, self.store())

    def for_account(self, account: HelpdeskAccount) -> Callable[..., list[Any]]:
        """query (and locale=, kinds=, embedding=) → passages this account may be grounded on."""
        return lambda query, locale=None, kinds=None, embedding=None: self(query, account=account, locale=locale,
                                                                           kinds=kinds, embedding=embedding)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
                self._store = None


def _server_unreachable(exc: BaseException) -> bool:
    """A transport failure talking to the Chroma server (refused, reset, timed out), not a bad query."""
    import httpx

    return isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError))
