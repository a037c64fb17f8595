"""In-memory stand-ins for what pipeline.handle talks to over the network (the helpdesk, the model, the intent
classifier), so the pipeline's and the worker's decisions can be tested without a process or a socket. The state
database, the routing rules, the safety net, the checks, the confidence score and the gate are the real ones."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import pipeline
from connectors.base import Comment, Ticket
from deskdraft.settings import Config, parse_config
from deskdraft.state import InboxEvent, State
from drafting import prompts
from drafting.claude import ModelDraft
from drafting.safety import SafetyNet
from knowledge.epoch import knowledge_epoch
from knowledge.retrieve import Passage
from tests.conftest import config_text

ACCOUNT = "zendesk"
MODEL = "claude-test-model"
REFUNDS = Passage(id="refunds#0", title="Refunds", url="https://help.acme.test/refunds", kind="policy",
                  text="Refunds are paid back within 5 business days.", score=0.9)


def said(n: int, role: str = "customer", body: str = "", public: bool = True, via_api: bool = False) -> Comment:
    return Comment(id=str(n), author_id=role, author_role=role, body=body or f"message {n}", public=public,
                   via_api=via_api, created_at=f"2026-11-30T10:{n:02d}:00Z")


def ticket(*comments: Comment, ticket_id: str = "7") -> Ticket:
    return Ticket(account=ACCOUNT, id=ticket_id, subject="A question", status="open", requester_id="customer",
                  url="", comments=tuple(comments))


@dataclass
class MemoryDesk:
    """One helpdesk account's tickets in memory; records every write, public or not."""
    tickets: dict[str, Ticket] = field(default_factory=dict)
    posts: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, ticket id, body)
    fail_fetch: list[BaseException] = field(default_factory=list)  # raised by the next fetches, in order
    fail_post: BaseException | None = None

    def fetch_ticket(self, ticket_id: str) -> Ticket | None:
        if self.fail_fetch:
            raise self.fail_fetch.pop(0)
        return self.tickets.get(ticket_id)

    def _write(self, kind: str, ticket_id: str, body: str) -> str:
        if self.fail_post is not None:
            raise self.fail_post
        self.posts.append((kind, ticket_id, body))
        return f"c{len(self.posts)}"

    def post_note(self, ticket_id: str, body: str) -> str:
        return self._write("note", ticket_id, body)

    def post_reply(self, ticket_id: str, body: str) -> str:
        return self._write("public_reply", ticket_id, body)

    def escalate(self, ticket_id: str, body: str, tags: Sequence[str], group: str | None) -> str:
        return self._write("handoff", ticket_id, body)

    def route_handoff(self, ticket_id: str, tags: Sequence[str], group: str | None) -> None:
        pass

    def close(self) -> None:
        pass

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.posts]


@dataclass
class ScriptedModel:
    """The model's side of drafting: answers with a fixed draft citing P1, or raises what it is given."""
    model: str = MODEL
    reply: str = "Refunds are paid back within 5 business days."
    self_confidence: float = 0.95
    error: BaseException | None = None
    calls: int = 0

    def draft(self, ticket: Ticket, passages: Sequence[Any], **kwargs: Any) -> ModelDraft:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return ModelDraft(reply=self.reply, cited_labels=("P1",) if passages else (), missing_information=(),
                          needs_human=False, needs_human_reason="", self_confidence=self.self_confidence,
                          model=self.model, input_tokens=10, output_tokens=10)


class KeywordClassifier:
    """The intent classifier's interface (embed, scores_of_vectors, min_similarity): an intent is sure when the
    first word of its name is in the text (order_status: "order"). Its "embedding" is one keyword hit per intent,
    so routing's embed-once path runs as it does with the real model."""
    min_similarity = 0.0
    embedding_name = "keywords"

    def __init__(self, intents: Sequence[str]) -> None:
        self.intents = list(intents)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[float(name.split("_")[0] in text.lower()) for name in self.intents] for text in texts])

    def scores_of_vectors(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        rows = []
        for hits in vectors:
            rows.append([0.95 if hit else 0.05 / len(self.intents) for hit in hits] if hits.any()
                        else [1 / len(self.intents)] * len(self.intents))
        return self.intents, np.array(rows), np.ones(len(vectors))

    def scores(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        return self.scores_of_vectors(self.embed(texts))


def config(tmp_path: Path, **sections: Any) -> Config:
    return parse_config(config_text(tmp_path / "var", **sections), "unit.yaml")


ORDER_STATUS = {"order_status": {"description": "Where is my order", "examples": ["where is my order"],
                                 "autonomy": "auto_send", "min_reviewed": 20, "min_confidence": 0.5,
                                 "override_threshold": 0.2},
                "chargeback": {"description": "Disputes", "examples": ["I dispute this"], "risky": True}}


def deps(tmp_path: Path, desk: MemoryDesk, cfg: Config, model: ScriptedModel | None = None,
         passages: Sequence[Passage] = (REFUNDS,), state: State | None = None,
         clock: Callable[[], float] | None = None) -> pipeline.Deps:
    return pipeline.Deps(config=cfg, state=state or State(f"sqlite:///{tmp_path / 'state.db'}"),
                         connectors={ACCOUNT: desk},
                         retrieve=lambda *a, **k: list(passages), drafter=model,
                         router=KeywordClassifier(list(cfg.intents)) if cfg.intents else None,
                         safety=SafetyNet(cfg.routing.risk_patterns), **({"clock": clock} if clock else {}))


def earn_the_gate(d: pipeline.Deps, intent: str, reviews: int, overridden: int = 0) -> None:
    """Reviewed drafts for an intent under today's prompt, model and knowledge: what opens (or keeps shut) its gate."""
    state = d.state
    for n in range(reviews):
        ref = f"{ACCOUNT}:past{n}:1"
        state.record_draft(ref, ACCOUNT, f"past{n}", intent, "note", "c", 0.9, "text", "en", prompts.version(),
                           MODEL, knowledge_epoch(d.config))
        state.record_review(ref, "rewritten" if n < overridden else "accepted", 1.0, [])


def event(state: State, ticket_id: str = "7", event_id: str = "e1") -> InboxEvent:
    inbox_id = state.record_event(ACCOUNT, event_id, ticket_id, "customer.replied")
    assert inbox_id is not None
    found = state.get_event(inbox_id)
    assert found is not None
    return found

