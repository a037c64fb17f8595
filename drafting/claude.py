"""The only module that imports anthropic: one structured call that turns a ticket and passages into a draft.

Retries: the SDK's own (max_retries from config) for blips; after that the error propagates and the
Celery task retries later. No second retry layer here.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anthropic

from connectors.base import Ticket
from deskdraft.settings import AnthropicSettings, BrandSettings
from deskdraft.text.html_text import visible_text
from drafting.language import described
from drafting.prompts import fence, fence_attribute, render
from knowledge.redact import Redactor

log = logging.getLogger(__name__)

# What the model must return; the reply is never parsed out of free text.
DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reply": {"type": "string"},
        "cited_passage_ids": {"type": "array", "items": {"type": "string"}},
        "missing_information": {"type": "array", "items": {"type": "string"}},
        "needs_human": {"type": "boolean"},
        "needs_human_reason": {"type": "string"},
        "confidence": {"type": "number"},
    },
    "required": ["reply", "cited_passage_ids", "missing_information", "needs_human", "needs_human_reason",
                 "confidence"],
    "additionalProperties": False,
}

# The model's failures that a later retry can fix (overload, rate limit, network, 5xx).
RETRYABLE = (anthropic.APIConnectionError, anthropic.RateLimitError, anthropic.InternalServerError,
             anthropic.RequestTimeoutError, anthropic.ConflictError)


class MalformedDraft(ValueError):
    """The model answered, but not in the shape asked for: counted as a failed draft, not retried blindly."""


@dataclass(frozen=True)
class ModelDraft:
    """The model's structured answer as it came back, unchecked (drafting/draft.py: which draft type does what)."""

    reply: str
    cited_labels: tuple[str, ...]  # as the model wrote them (P1, P2...); mapped and checked by the caller
    missing_information: tuple[str, ...]
    needs_human: bool
    needs_human_reason: str
    self_confidence: float
    model: str
    input_tokens: int
    output_tokens: int
    prompt: str = field(repr=False, default="")


ROLE_NAMES = {"customer": "customer", "agent": "agent", "self": "assistant"}  # anything else is "system"


def conversation_text(ticket: Ticket) -> str:
    """The thread as the model sees it: every public turn plus other agents' notes, never our own drafts.

    Each message is a <message> whose role comes from the helpdesk's author data, never from its text; the text is
    what a reader sees (hidden HTML dropped by deskdraft.text.html_text, routing flags it), redacted, and escaped
    so it cannot form a tag of its own.
    """
    lines = []
    redactor = Redactor(ticket.people)  # the ticket's people: one placeholder each, all through the thread
    for n, comment in enumerate(ticket.comments, start=1):
        if comment.author_role == "self":
            continue
        role = ROLE_NAMES.get(comment.author_role, "system")
        visibility = "public" if comment.public else "internal note"
        # Personal data never reaches the model: the same redaction the knowledge layer applies.
        text = redactor.redact(visible_text(comment.body).strip()).text
        lines.append(f'<message n="{n}" role="{role}" visibility="{visibility}" '
                     f'time="{fence_attribute(comment.created_at)}">\n{fence(text)}\n</message>')
    return "\n\n".join(lines)


def passages_text(passages: Sequence[Any]) -> str:
    if not passages:
        return "(no passage matched this question)"
    return "\n\n".join(
        f'<passage id="P{n}" title="{fence_attribute(p.title)}" '
        f'url="{fence_attribute(getattr(p, "url", "") or "")}" kind="{fence_attribute(p.kind)}">\n'
        f'{fence(p.text)}\n</passage>' for n, p in enumerate(passages, start=1))


class Drafter:
    """Wraps one Anthropic client built from config; the base URL is the only thing tests change."""

    def __init__(self, settings: AnthropicSettings, assistant_name: str, brand: BrandSettings) -> None:
        self._settings = settings
        self._assistant_name = assistant_name
        self._brand = brand
        self._client = anthropic.Anthropic(api_key=settings.api_key, base_url=settings.base_url,
                                           max_retries=settings.max_retries, timeout=settings.timeout_seconds)

    @property
    def model(self) -> str:
        return self._settings.model

    def draft(self, ticket: Ticket, passages: Sequence[Any], language: str = "en",
              frustrated: bool = False) -> ModelDraft:
        """One Messages API call with structured output; raises RETRYABLE errors or MalformedDraft."""
        system = render("system", assistant_name=self._assistant_name, brand=self._brand.name,
                        voice=self._brand.voice)
        tone = ("The customer is frustrated: acknowledge it in the first sentence, apologise once, keep it short "
                "and concrete." if frustrated else "Friendly and concise.")
        prompt = render("draft", subject=fence(Redactor(ticket.people).redact(visible_text(ticket.subject)).text),
                        conversation=conversation_text(ticket),
                        passages=passages_text(passages), language=described(language), tone=tone)
        message = self._client.messages.create(
            model=self._settings.model, max_tokens=self._settings.max_tokens, system=system,
            messages=[{"role": "user", "content": prompt}],
            output_config={"format": {"type": "json_schema", "schema": DRAFT_SCHEMA}},
        )
        text = "".join(block.text for block in message.content if block.type == "text")
        try:
            data = json.loads(text)
            return ModelDraft(
                reply=str(data["reply"]).strip(), cited_labels=tuple(str(x) for x in data["cited_passage_ids"]),
                missing_information=tuple(str(x) for x in data["missing_information"]),
                needs_human=bool(data["needs_human"]), needs_human_reason=str(data["needs_human_reason"]),
                self_confidence=min(1.0, max(0.0, float(data["confidence"]))), model=message.model,
                input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens, prompt=prompt)
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedDraft(f"model output is not the draft schema: {exc}; got {text[:200]!r}") from exc

    def close(self) -> None:
        self._client.close()
