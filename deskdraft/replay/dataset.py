"""The replay dataset: versioned JSON Lines, one header line then one example per line.

An example is one customer turn an agent answered publicly: the conversation up to that turn, the agent's real
reply, the intent (from a tag naming a configured intent) and the tags, all redacted before they are written.
A dataset exported with `frozen: true` is a golden set: collect refuses to add to it, and its version (a hash of
its examples) is what a run records.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "deskdraft-replay"
SCHEMA_VERSION = 1
ROLES = {"customer", "agent", "system"}


class DatasetError(ValueError):
    """A dataset file that is not what collect writes: the message names the line and the field."""


@dataclass(frozen=True)
class Turn:
    role: str  # customer | agent | system
    body: str
    public: bool = True
    created_at: str = ""


@dataclass(frozen=True)
class Example:
    id: str  # account:ticket:customer-comment-id, stable across collects
    account: str
    ticket_id: str
    subject: str
    turns: tuple[Turn, ...]  # up to and including the customer's turn being answered
    agent_reply: str
    intent: str | None = None
    tags: tuple[str, ...] = ()
    locale: str | None = None
    updated_at: str = ""  # the ticket's, so a resumed collect does not re-read it

    @property
    def question(self) -> str:
        """The customer's latest burst, as the router and the gap report see it."""
        burst: list[str] = []
        for turn in reversed(self.turns):
            if turn.role != "customer":
                break
            burst.insert(0, turn.body)
        return "\n\n".join(burst)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Dataset:
    header: dict[str, Any]
    examples: list[Example] = field(default_factory=list)

    @property
    def frozen(self) -> bool:
        return bool(self.header.get("frozen"))

    @property
    def version(self) -> str:
        return version_of(self.examples)


def version_of(examples: Iterable[Example]) -> str:
    """A content hash of the examples in id order: the same examples give the same version, whatever the file."""
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: e.id):
        digest.update(json.dumps(example.to_json(), sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()[:16]


def new_header(account: str, since: str, frozen: bool = False) -> dict[str, Any]:
    return {"format": FORMAT, "schema": SCHEMA_VERSION, "account": account, "since": since, "frozen": frozen}


def example_from_json(raw: Any, where: str) -> Example:
    """Parse one example, naming the field that is wrong (a hand-edited golden set must fail clearly)."""
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: an example must be a JSON object")
    try:
        turns = tuple(Turn(role=str(t["role"]), body=str(t["body"]), public=bool(t.get("public", True)),
                           created_at=str(t.get("created_at") or "")) for t in raw["turns"])
        example = Example(id=str(raw["id"]), account=str(raw["account"]), ticket_id=str(raw["ticket_id"]),
                          subject=str(raw.get("subject") or ""), turns=turns, agent_reply=str(raw["agent_reply"]),
                          intent=(str(raw["intent"]) if raw.get("intent") else None),
                          tags=tuple(str(t) for t in raw.get("tags") or ()), locale=raw.get("locale"),
                          updated_at=str(raw.get("updated_at") or ""))
    except KeyError as exc:
        raise DatasetError(f"{where}: missing field {exc.args[0]!r}") from None
    except TypeError as exc:
        raise DatasetError(f"{where}: {exc}") from None
    bad = [t.role for t in turns if t.role not in ROLES]
    if bad:
        raise DatasetError(f"{where}: turns[].role must be one of {sorted(ROLES)}, got {bad[0]!r}")
    if not turns or turns[-1].role != "customer":
        raise DatasetError(f"{where}: the last turn must be the customer's (the one the agent answered)")
    if not example.agent_reply.strip():
        raise DatasetError(f"{where}: agent_reply is empty")
    return example


def load(path: Path) -> Dataset:
    """Read and check a dataset; a bad line raises DatasetError naming it."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise DatasetError(f"{path}: empty file")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:1: not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DatasetError(f"{path}:1: not a {FORMAT} header")
    if header.get("schema") != SCHEMA_VERSION:
        raise DatasetError(f"{path}:1: schema {header.get('schema')!r}; this deskdraft reads {SCHEMA_VERSION}")
    examples, seen = [], set()
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{n}: not JSON ({exc})") from None
        example = example_from_json(raw, f"{path}:{n}")
        if example.id in seen:
            raise DatasetError(f"{path}:{n}: duplicate example id {example.id!r}")
        seen.add(example.id)
        examples.append(example)
    return Dataset(header, examples)


def write(path: Path, dataset: Dataset) -> None:
    """Write a whole dataset atomically (export, import)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(json.dumps(dataset.header, ensure_ascii=False) + "\n")
        for example in dataset.examples:
            f.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")
    tmp.replace(path)


def append(path: Path, examples: Iterable[Example]) -> int:
    """Add examples to a growing dataset, flushed per ticket so an interrupted collect keeps what it read."""
    count = 0
    with path.open("a", encoding="utf-8") as f:
        for example in examples:
            f.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")
            count += 1
        f.flush()
    return count


def freeze(source: Dataset) -> Dataset:
    """The golden-set copy: marked frozen, stamped with its version."""
    examples = sorted(source.examples, key=lambda e: e.id)
    return Dataset({**source.header, "frozen": True, "version": version_of(examples)}, examples)
