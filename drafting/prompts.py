"""Prompt templates in drafting/prompts/*.md, filled by one pure renderer."""
from __future__ import annotations

import hashlib
import html
import re
from functools import lru_cache
from pathlib import Path

from deskdraft.text.patterns import INVISIBLE

PROMPTS = Path(__file__).parent / "prompts"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def render(name: str, **values: str) -> str:
    """Fill {{placeholders}}; a missing or unexpected value raises, and "{{x}}" inside a value stays as typed."""
    template = (PROMPTS / f"{name}.md").read_text(encoding="utf-8")
    wanted = set(PLACEHOLDER.findall(template))
    if wanted != values.keys():
        raise KeyError(f"{name}.md wants {sorted(wanted)}, got {sorted(values)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)




def fence(text: str) -> str:
    """Untrusted text as element content: no tag can open or close ("<", ">" and "&" become entities), and no
    invisible character (zero-width, bidi override) hides or reorders words for the model."""
    return html.escape(INVISIBLE.sub("", text), quote=False)


def fence_attribute(text: str) -> str:
    """Untrusted text inside a double-quoted attribute: quotes escaped too, and on one line."""
    return html.escape(" ".join(INVISIBLE.sub("", text).split()), quote=True)


_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)\b[^<>]*>")


def tags(prompt: str) -> list[str]:
    """The tags in a rendered prompt, in order ("ticket", "/ticket", ...): with every untrusted text fenced, these
    are exactly the template's own, whatever a ticket says (tests and the red-team benchmark check it)."""
    return [closing + name for closing, name in _TAG.findall(prompt)]


def version() -> str:
    """A short hash of every prompt file: a change restarts the autonomy measurement (autonomy.restart_on).
    Follows the files as render() does (it re-reads them), hashing again only when one changed on disk."""
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(PROMPTS.glob("*.md")))
    return _version(stamp)


@lru_cache(maxsize=8)
def _version(stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode() + b"\0" + (PROMPTS / name).read_bytes())
    return digest.hexdigest()[:12]
