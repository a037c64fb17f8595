"""A draft after code has checked it: what the gate, the output guard and the notes read.

deskdraft has three draft types, one per job:
- `drafting.claude.ModelDraft`: the model's structured answer as it came back (citation labels unresolved, its
  own confidence, token counts). Nothing downstream trusts it as is.
- `Draft` (here): that answer checked by code: citations resolved to passages, check problems, the confidence
  computed by drafting/confidence.py, names restored for posting. Kept as JSON between retries (`kept` /
  `from_kept`), so a retry of the same customer message pays for no second model call.
- `deskdraft.state.DraftRecord`: what was posted, as stored for review (intent, action, outcome).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from knowledge.retrieve import Passage


@dataclass
class Draft:
    reply: str | None = None  # None: no model, or its answer was unusable
    confidence: float | None = None
    cited: list[Passage] = field(default_factory=list)
    problems: tuple[str, ...] = ()  # failed checks and placeholders left: the draft stays private
    missing: tuple[str, ...] = ()  # what the model said it would need to know
    model_asks_human: str | None = None  # the model's reason, shown in the note; never opens or closes the gate
    posted: str | None = None  # the reply as written into the ticket: the ticket's people's names restored

    def kept(self, passages: Sequence[Passage]) -> dict[str, Any]:
        """This draft as JSON, with the passages it was grounded on (so a retry needs neither call)."""
        return {"passages": [asdict(p) for p in passages],
                "draft": {"reply": self.reply, "confidence": self.confidence, "cited": [p.id for p in self.cited],
                          "problems": list(self.problems), "missing": list(self.missing),
                          "model_asks_human": self.model_asks_human, "posted": self.posted}}

    @classmethod
    def from_kept(cls, kept: Mapping[str, Any]) -> tuple[list[Passage], Draft]:
        passages = [Passage(**p) for p in kept["passages"]]
        by_id = {p.id: p for p in passages}
        d = kept["draft"]
        return passages, cls(reply=d["reply"], confidence=d["confidence"],
                             cited=[by_id[i] for i in d["cited"] if i in by_id], problems=tuple(d["problems"]),
                             missing=tuple(d["missing"]), model_asks_human=d["model_asks_human"],
                             posted=d.get("posted"))
