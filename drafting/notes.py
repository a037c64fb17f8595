"""What agents read in the ticket: the note templates, one per outcome. Plain text: every helpdesk shows it."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import REF_PREFIX
from drafting import reply_templates
from knowledge.redact import mask_for_helpdesk

DRAFT_NOTE = """\
[deskdraft] Suggested reply: review before sending. Nothing was sent to the customer.
Intent: {intent} | Confidence: {confidence:.2f}{flag}{kept}

--- Draft reply ---
{reply}

--- Sources cited ---
{sources}
{missing}
{ref_prefix} {ref}"""

RETRIEVAL_ONLY_NOTE = """\
[deskdraft] Retrieval only: no AI model is configured (ANTHROPIC_API_KEY is not set), so no reply was drafted.
These help-center passages look most relevant to the customer's latest message:

{sources}

{ref_prefix} {ref}"""

FAILED_NOTE = """\
[deskdraft] No draft could be made for this message ({attempts}): {error}
Please answer it by hand. Nothing was sent to the customer.

{ref_prefix} {ref}"""


def source_lines(passages: Sequence[Any], snippet_chars: int = 0) -> str:
    if not passages:
        return "(none)"
    lines = []
    for n, p in enumerate(passages, start=1):
        line = f"[{n}] {p.title} ({p.url}) score {p.score:.2f}"
        if snippet_chars:
            snippet = " ".join(p.text.split())
            line += "\n    " + (snippet[:snippet_chars] + ("..." if len(snippet) > snippet_chars else ""))
        lines.append(line)
    return "\n".join(lines)


def draft_note(ref: str, reply: str, confidence: float, cited: Sequence[Any], needs_human: Sequence[str],
               missing: Sequence[str], intent: str = "unknown", kept_private: Sequence[str] = ()) -> str:
    flag = "\nNeeds a human: " + "; ".join(needs_human) if needs_human else ""
    kept = "\nNot sent automatically: " + "; ".join(kept_private) if kept_private else ""
    missing_text = ("\n--- Missing information ---\n" + "\n".join(f"- {m}" for m in missing) + "\n") if missing else ""
    return DRAFT_NOTE.format(intent=intent, confidence=confidence, flag=flag, kept=kept, reply=reply,
                             sources=source_lines(cited), missing=missing_text, ref_prefix=REF_PREFIX, ref=ref)


def retrieval_only_note(ref: str, passages: Sequence[Any]) -> str:
    return RETRIEVAL_ONLY_NOTE.format(sources=source_lines(passages, snippet_chars=240), ref_prefix=REF_PREFIX,
                                      ref=ref)


def failed_note(ref: str, attempts: int, error: str) -> str:
    return FAILED_NOTE.format(attempts=f"{attempts} attempt" + ("s" if attempts != 1 else ""), error=error,
                              ref_prefix=REF_PREFIX, ref=ref)


HANDOFF_NOTE = """\
[deskdraft] Handed to a human: {why}
Intent: {intent} (router probability {probability:.2f}) | Confidence: {confidence}
Customer mood: {mood} | Language: {language}

--- What the customer has told us (do not ask again) ---
{said}

--- Suggested reply (not sent) ---
{attempt}

--- Sources retrieved ---
{sources}

{ref_prefix} {ref}"""

# Posted right after a public reply, as an internal note: it carries the exactly-once ref (customers never see
# it) and tells agents what was sent and why.
PUBLIC_COMPANION_NOTE = """\
[deskdraft] Sent to the customer automatically: the reply above was written by the AI assistant.
Intent: {intent} | Confidence: {confidence:.2f} | Gate: {evidence}

--- Sources cited ---
{sources}

{ref_prefix} {ref}"""


def handoff_note(ref: str, why: Sequence[str], route: Any, confidence: float | None, customer_turns: Sequence[str],
                 attempt: str | None, passages: Sequence[Any]) -> str:
    """Everything the agent needs to pick up mid-conversation instead of starting from zero."""
    # The customer's words are copied into the helpdesk by us: no card number or other identifier (PCI DSS).
    said = "\n".join(f"- {' '.join(mask_for_helpdesk(turn).split())[:400]}" for turn in customer_turns) \
        or "(nothing yet)"
    mood = route.sentiment + (" and frustrated: " + "; ".join(route.frustration_reasons) if route.frustrated else "")
    return HANDOFF_NOTE.format(
        why="; ".join(why), intent=route.intent, probability=route.probability,
        confidence="n/a" if confidence is None else f"{confidence:.2f}", mood=mood, language=route.language,
        said=said, attempt=attempt or "(none: no model configured, or the model could not draft one)",
        sources=source_lines(passages), ref_prefix=REF_PREFIX, ref=ref)


def public_reply(reply: str, assistant: str, brand: str, language: str = "en") -> str:
    """A reply the customer sees: it always says it is an AI and how to reach a person, in the customer's language
    (drafting/templates/, added by code), and it carries nothing internal: the ref goes into the companion note."""
    return reply_templates.for_language(language).wrap(reply, assistant, brand)


def public_companion_note(ref: str, intent: str, confidence: float, evidence: str, cited: Sequence[Any]) -> str:
    return PUBLIC_COMPANION_NOTE.format(intent=intent, confidence=confidence, evidence=evidence,
                                        sources=source_lines(cited), ref_prefix=REF_PREFIX, ref=ref)
