"""`replay run`: route, retrieve and draft every dataset example in shadow, then compare with the agent's reply.

Shadow by construction: the run's Deps hold no connector and no State, so nothing can be posted to a helpdesk and
no live review or gate number can change (any attempt would fail loudly, not write). Results are appended one line
per example to runs/<name>/results.jsonl: an interrupted run resumes without redoing finished examples.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pipeline
from connectors.base import Comment, Ticket
from deskdraft.replay.dataset import Dataset, Example
from deskdraft.settings import Config
from drafting import gate, overrides, prompts
from drafting.intents.routing import IntentSpec, route
from drafting.language import detect

CHARS_PER_TOKEN = 4  # a planning estimate; the run itself counts the API's reported usage
PROMPT_OVERHEAD_CHARS = 3000  # system + draft templates and the passages, roughly


@dataclass(frozen=True)
class Prices:
    input_per_mtok: float  # USD per million input tokens
    output_per_mtok: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


@dataclass(frozen=True)
class Estimate:
    examples: int
    input_tokens: int
    output_tokens: int  # the max_tokens ceiling: a cost upper bound
    usd: float

    def line(self, prices: Prices) -> str:
        return (f"estimate: {self.examples} examples, ~{self.input_tokens:,} input + <={self.output_tokens:,} output "
                f"tokens, <= ${self.usd:.2f} at ${prices.input_per_mtok}/${prices.output_per_mtok} per Mtok")


def estimate(examples: Sequence[Example], config: Config, prices: Prices, with_model: bool) -> Estimate:
    if not with_model:
        return Estimate(len(examples), 0, 0, 0.0)
    tokens_in = sum((len(e.subject) + sum(len(t.body) for t in e.turns) + PROMPT_OVERHEAD_CHARS) // CHARS_PER_TOKEN
                    for e in examples)
    tokens_out = len(examples) * config.anthropic.max_tokens
    return Estimate(len(examples), tokens_in, tokens_out, prices.cost(tokens_in, tokens_out))


def config_hash(config: Config) -> str:
    """What the config decides, secrets and file location aside: equal hashes, equal behaviour."""
    data = dataclasses.asdict(config)
    data.pop("source", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def run_record(dataset: Dataset, config: Config, model: str | None) -> dict[str, Any]:
    """What makes a run reproducible: the same record and a deterministic model give the same figures."""
    return {"dataset_version": dataset.version, "dataset_account": dataset.header.get("account"),
            "config_hash": config_hash(config), "prompt_version": prompts.version(), "model": model or "",
            "knowledge_snapshot": config.autonomy.knowledge_snapshot, "top_k": config.knowledge.top_k,
            "min_probability": config.routing.min_probability}


def example_ticket(example: Example) -> Ticket:
    """The conversation up to the customer's turn, as the pipeline would have read it live."""
    comments = tuple(Comment(id=f"t{n}", author_id=turn.role, author_role=turn.role, body=turn.body,
                             public=turn.public, via_api=False, created_at=turn.created_at)
                     for n, turn in enumerate(example.turns))
    return Ticket(account=example.account, id=example.ticket_id, subject=example.subject, status="open",
                  requester_id="customer", url="", comments=comments, tags=example.tags, locale=example.locale)


class ShadowRunner:
    """One example at a time, through the live pipeline's own routing, retrieval, drafting and gate code."""

    def __init__(self, config: Config, retrieve: Callable[..., Sequence[Any]], drafter: Any, router: Any,
                 safety: Any) -> None:
        self.config = config
        # state=None and no connectors: shadow is structural, not a flag someone can forget to check.
        self.deps = pipeline.Deps(config=config, state=None, connectors={}, retrieve=retrieve,  # type: ignore[arg-type]
                                  drafter=drafter, router=router, safety=safety)
        self._local = threading.Lock()  # routing and retrieval are local CPU work; the model call runs in parallel

    def one(self, example: Example) -> dict[str, Any]:
        config, deps = self.config, self.deps
        started = time.perf_counter()
        ticket = example_ticket(example)
        burst, earlier = pipeline.customer_turns(ticket)
        latest = "\n\n".join(c.body for c in burst)
        specs = [IntentSpec(i.name, i.description, i.examples, i.risky) for i in config.intents.values()]
        account = config.helpdesks.get(example.account)
        with self._local:
            routed = route(latest, [c.body for c in earlier], deps.router, deps.safety,
                           config.routing.min_probability, intents=specs)
            passages = list(deps.retrieve(f"{ticket.subject}\n{latest}"[-2000:], account=account,
                                          locale=routed.language,
                                          embedding=pipeline.reusable_vector(routed, deps.router, config)))
        steps: dict[str, dict[str, Any]] = {}
        draft = pipeline._draft(ticket, passages, routed, deps,  # the live drafting step, reused as is
                                lambda step, **detail: steps.__setitem__(step, detail))
        intent = config.intent(routed.intent)
        needs_human, holds = pipeline._human_signals(routed, config)
        policy = gate.Policy.of(intent)
        # An open gate is assumed so the forecast sees every other reason a draft would have stayed private.
        decision = gate.decide(policy, gate.Stats(0, 0), gate.Signals(
            confidence=draft.confidence or 0.0, needs_human=needs_human, holds=holds + draft.problems,
            model_available=deps.drafter is not None, paused=False))
        review = overrides.classify(draft.reply, example.agent_reply, routed.language,
                                    detect(example.agent_reply, "en")) if draft.reply else None
        drafted = steps.get("drafted", {})
        best = passages[0].score if passages else None
        return {
            "example_id": example.id, "question": latest, "labelled_intent": example.intent, "intent": routed.intent,
            "probability": round(routed.probability, 4), "language": routed.language,
            "handoff": decision.action == gate.ESCALATE,
            "handoff_reasons": list(needs_human) + (["intent is manual or risky"] if
                                                    decision.action == gate.ESCALATE and not needs_human else []),
            "passages": [{"id": p.id, "score": round(p.score, 4), "kind": p.kind, "text": p.text} for p in passages],
            "best_score": round(best, 4) if best is not None else None,
            "grounded": best is not None and best >= config.knowledge.min_score,
            "draft": draft.reply, "confidence": draft.confidence, "cited": [p.id for p in draft.cited],
            "invented": drafted.get("invented", []), "problems": list(draft.problems),
            "missing": list(draft.missing), "model_asks_human": draft.model_asks_human,
            "needs_human": bool(pipeline.needs_human_reasons(draft, passages, config)) if draft.reply else None,
            "outcome": review.outcome if review else None, "similarity": review.similarity if review else None,
            "overridden": review.overridden if review else None, "changes": list(review.changes) if review else [],
            "input_tokens": drafted.get("input_tokens", 0), "output_tokens": drafted.get("output_tokens", 0),
            "seconds": round(time.perf_counter() - started, 3),
            "error": steps.get("draft_failed", {}).get("error"),
        }


@dataclass
class RunReport:
    done: int = 0
    skipped_done_before: int = 0
    stopped_at_budget: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    seconds: float = 0.0


def finished_ids(results: Path) -> set[str]:
    if not results.is_file():
        return set()
    ids = set()
    for line in results.read_text(encoding="utf-8").splitlines():
        try:
            ids.add(json.loads(line)["example_id"])
        except (json.JSONDecodeError, KeyError):
            continue  # a line cut short by a crash: that example runs again
    return ids


def run(runner: ShadowRunner, dataset: Dataset, run_dir: Path, record: dict[str, Any], *, concurrency: int,
        prices: Prices, budget_usd: float | None, progress: Callable[[int], None] | None = None) -> RunReport:
    """Run every unfinished example, `concurrency` at a time, stopping before the budget would be exceeded."""
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = run_dir / "run.json"
    if meta.is_file():
        before = json.loads(meta.read_text(encoding="utf-8"))
        if before != record:
            changed = sorted(k for k in record if before.get(k) != record[k])
            raise ValueError(f"{run_dir} was started with a different {', '.join(changed)}: use another --out")
    else:
        meta.write_text(json.dumps(record, indent=2), encoding="utf-8")
    results = run_dir / "results.jsonl"
    done = finished_ids(results)
    todo = [e for e in dataset.examples if e.id not in done]
    report = RunReport(skipped_done_before=len(dataset.examples) - len(todo))
    started = time.perf_counter()
    per_example = estimate(todo[:1], runner.config, prices, runner.deps.drafter is not None).usd if todo else 0.0
    write = threading.Lock()
    with results.open("a", encoding="utf-8") as out, ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: set[Future] = set()
        queue = iter(todo)
        while True:
            while len(pending) < concurrency:
                if budget_usd is not None and report.usd + per_example * (len(pending) + 1) > budget_usd:
                    report.stopped_at_budget = True
                    break
                example = next(queue, None)
                if example is None:
                    break
                pending.add(pool.submit(runner.one, example))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                with write:
                    out.write(json.dumps(result, ensure_ascii=False) + "\n")
                    out.flush()
                report.done += 1
                report.input_tokens += result["input_tokens"]
                report.output_tokens += result["output_tokens"]
                report.usd = prices.cost(report.input_tokens, report.output_tokens)
                if progress:
                    progress(1)
            if report.stopped_at_budget and not pending:
                break
    report.seconds = time.perf_counter() - started
    return report


def load_results(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(run record, results sorted by example id): the order of finishing never changes a figure."""
    meta = run_dir / "run.json"
    if not meta.is_file():
        raise ValueError(f"{run_dir}: not a replay run (no run.json)")
    record = json.loads(meta.read_text(encoding="utf-8"))
    by_id: dict[str, dict[str, Any]] = {}
    results = run_dir / "results.jsonl"
    for line in (results.read_text(encoding="utf-8").splitlines() if results.is_file() else ()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        by_id[row["example_id"]] = row
    return record, [by_id[k] for k in sorted(by_id)]
