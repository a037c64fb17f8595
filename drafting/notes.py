"""What agents read in the ticket: the note templates, one per outcome. Plain text: every helpdesk shows it."""
from __future__ import annotations

from typing import Any, Sequence

from connectors.base import REF_PREFIX

DRAFT_NOTE = """\
[deskdraft] Suggested reply: review before sending. Nothing was sent to the customer.
Confidence: {confidence:.2f}{flag}

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
               missing: Sequence[str]) -> str:
    flag = "\nNeeds a human: " + "; ".join(needs_human) if needs_human else ""
    missing_text = ("\n--- Missing information ---\n" + "\n".join(f"- {m}" for m in missing) + "\n") if missing else ""
    return DRAFT_NOTE.format(confidence=confidence, flag=flag, reply=reply, sources=source_lines(cited),
                             missing=missing_text, ref_prefix=REF_PREFIX, ref=ref)


def retrieval_only_note(ref: str, passages: Sequence[Any]) -> str:
    return RETRIEVAL_ONLY_NOTE.format(sources=source_lines(passages, snippet_chars=240), ref_prefix=REF_PREFIX,
                                      ref=ref)


def failed_note(ref: str, attempts: int, error: str) -> str:
    return FAILED_NOTE.format(attempts=f"{attempts} attempt" + ("s" if attempts != 1 else ""), error=error, ref_prefix=REF_PREFIX, ref=ref)
