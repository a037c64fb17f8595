"""Read knowledge files (Markdown, HTML, text) into Documents and split them into Chunks."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deskdraft.text.html_text import page_text, visible_text
from knowledge.redact import Redactor

KINDS = ("article", "policy", "past_ticket")
FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text"}
FRONT_MATTER_KEYS = ("title", "url", "kind", "locale", "updated_at")

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_ITEM = re.compile(r"^[ \t]*([-*+]|\d+[.)])[ \t]")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LINE_BREAK = re.compile(r"\n")
_SPACE = re.compile(r"\s+")


class DocumentError(ValueError):
    """A file that cannot be indexed; the message is the reason shown to the admin."""


@dataclass(frozen=True)
class Document:
    source_id: str
    title: str
    url: str
    kind: str  # "article" | "policy" | "past_ticket"
    locale: str  # "" when the file does not say
    updated_at: str  # ISO 8601: front matter `updated_at`, else the file's mtime (UTC)
    text: str  # markdown-ish plain text, front matter removed
    content_hash: str  # sha256 of the file's bytes


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str  # what is embedded: "Title > Heading: body"
    title: str
    url: str
    kind: str
    locale: str
    source_id: str
    updated_at: str
    content_hash: str  # sha256 of what is stored (text and metadata except updated_at)


@dataclass(frozen=True)
class Unchanged:
    """A listed document the store already holds at this version: nothing is fetched or embedded again."""

    source_id: str


@dataclass(frozen=True)
class Skipped:
    """A listed item that makes no document (a ticket without an agent's public answer, an empty article)."""

    source_id: str
    reason: str


def text_document(*, source_id: str, title: str, url: str, kind: str, locale: str, updated_at: str,
                  text: str) -> Document:
    """A Document from text that came through an API; its hash covers everything that is stored but updated_at."""
    if kind not in KINDS:
        raise DocumentError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    text = text.replace("\r\n", "\n").strip()
    locale = locale.replace("_", "-").lower()
    return Document(source_id=source_id, title=" ".join(title.split()) or source_id, url=url, kind=kind,
                    locale=locale, updated_at=updated_at, text=text,
                    content_hash=_hash(title, url, kind, locale, text))


def html_document(*, source_id: str, title: str, url: str, kind: str, locale: str, updated_at: str,
                  html: str) -> Document:
    """A Document from an HTML body (help-center articles): <h2> and friends become sections to chunk on."""
    return text_document(source_id=source_id, title=title, url=url, kind=kind, locale=locale,
                         updated_at=updated_at, text=page_text(html).text)


def read_document(
    path: Path, *, source_id: str | None = None, kind: str = "article", url: str | None = None
) -> Document:
    """Read a .md/.markdown/.html/.htm/.txt file; keywords are defaults the file itself can override."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DocumentError(f"unsupported file type {path.suffix or '(no extension)'}")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise DocumentError("binary file")
    try:
        text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None

    meta: dict[str, str] = {}
    if fmt == "markdown":
        meta, text = _split_front_matter(text)
        text = _COMMENT.sub("", text)
    elif fmt == "html":
        page = page_text(text)
        text = page.text
        meta = {k: v for k, v in (("title", page.title), ("url", page.canonical), ("locale", page.lang)) if v}

    kind = meta.get("kind", kind)
    if kind not in KINDS:
        raise DocumentError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return Document(
        source_id=source_id or path.name,
        title=meta.get("title") or _first_heading(text) or path.stem.replace("_", " ").replace("-", " "),
        url=meta.get("url") or url or path.resolve().as_uri(),
        kind=kind,
        locale=meta.get("locale", ""),
        updated_at=meta.get("updated_at") or mtime.isoformat(timespec="seconds"),
        text=text.strip(),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def chunk_document(doc: Document, max_chars: int = 1200, max_tokens: int | None = None) -> list[Chunk]:
    """Split on headings, then paragraphs, into chunks of at most max_chars and max_tokens (the embedding model's
    own word pieces, title and headings included: what is past the model's 256 cannot be found); never empty."""
    from knowledge.embeddings import MAX_TOKENS, count_tokens

    if max_chars < 60:
        raise ValueError("max_chars below 60 leaves no room for the heading path")
    max_tokens = max_tokens or MAX_TOKENS
    chunks: list[Chunk] = []
    seen: dict[tuple[str, ...], int] = {}
    for path, body in _sections(doc.text):
        if path[:1] != (doc.title,):
            path = (doc.title, *path)
        occurrence = seen[path] = seen.get(path, -1) + 1  # two "## FAQ" sections stay distinct
        head = _clip(" > ".join(path), max_chars // 3)
        head_tokens = count_tokens(f"{head}: ")
        if head_tokens > max_tokens // 3:
            head = _clip(head, 60)
            head_tokens = count_tokens(f"{head}: ")
        # count_tokens includes [CLS]/[SEP] once for the head; the body's own count adds them again (2 spare).
        token_budget = max_tokens - head_tokens
        fits = _fitter(max_chars - len(head) - 2, token_budget, count_tokens)
        for part, text in enumerate(_pack(_paragraphs(body), fits)):
            text = f"{head}: {text}"
            # Ids hang on the heading path, not a running index: an edit in one section
            # leaves the ids (and embeddings) of every other section alone.
            key = "\x1f".join((*path, str(occurrence), str(part)))
            chunks.append(
                Chunk(
                    id=f"{doc.source_id}#{hashlib.blake2b(key.encode(), digest_size=6).hexdigest()}",
                    text=text,
                    title=doc.title,
                    url=doc.url,
                    kind=doc.kind,
                    locale=doc.locale,
                    source_id=doc.source_id,
                    updated_at=doc.updated_at,
                    content_hash=_hash(text, doc.title, doc.url, doc.kind, doc.locale),
                )
            )
    return chunks


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    # `key: value` lines only; not YAML, which would read `no` as False and dates as objects.
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if sep and key in FRONT_MATTER_KEYS and value:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            meta[key] = value
    return meta, text[match.end() :]


def _first_heading(text: str) -> str:
    for path, _ in _sections(text, keep_empty=True):
        if path:
            return path[-1]
    return ""


def _sections(text: str, keep_empty: bool = False) -> list[tuple[tuple[str, ...], str]]:
    """(heading path, body) for each ATX (`# Title`) or setext (`Title` over `===`/`---`) heading; headings
    inside code fences are body text."""
    sections: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        content = "\n".join(body).strip()
        if content or keep_empty:
            sections.append((tuple(title for _, title in stack), content))
        body.clear()

    def open_heading(level: int, title: str) -> None:
        flush()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        setext = None if in_fence or match else _SETEXT.match(line)
        if match:
            open_heading(len(match.group(1)), match.group(2).strip())
        elif setext and body and body[-1].strip() and (len(body) == 1 or not body[-2].strip()) \
                and not _LIST_ITEM.match(body[-1]):
            # Setext: a one-line paragraph underlined with === (level 1) or --- (level 2).
            title = body.pop().strip()
            open_heading(1 if setext.group(1).startswith("=") else 2, title)
        else:
            body.append(line)
    flush()
    return sections


def _paragraphs(body: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split(body) if p.strip()]


def _fitter(chars: int, tokens: int, count: Any) -> Any:
    """A test that a piece fits both budgets; .chars is the character budget (the last-resort slice size)."""
    def fits(text: str) -> bool:
        return len(text) <= chars and (len(text) < tokens // 2 or count(text) <= tokens)

    fits.chars = chars  # type: ignore[attr-defined]
    return fits


def _pack(units: list[str], fits: Any, joiner: str = "\n\n") -> list[str]:
    """Greedily join units into pieces that fit, splitting units that are too long."""
    pieces: list[str] = []
    current = ""
    for unit in units:
        for part in [unit] if fits(unit) else _split(unit, fits):
            if current and fits(current + joiner + part):
                current += joiner + part
            else:
                if current:
                    pieces.append(current)
                current = part
    if current:
        pieces.append(current)
    return pieces


def _split(text: str, fits: Any) -> list[str]:
    """Split an over-long paragraph by lines, then sentences, then words, then characters."""
    for splitter, joiner in ((_LINE_BREAK, "\n"), (_SENTENCE_END, " "), (_SPACE, " ")):
        units = [u.strip() for u in splitter.split(text) if u.strip()]
        if len(units) > 1:
            return _pack(units, fits, joiner)
    size = fits.chars
    while size > 1 and not fits(text[:size]):
        size //= 2
    return [text[i : i + size] for i in range(0, len(text), size)]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def past_ticket_document(ticket: Any, *, source_id: str, updated_at: str) -> Document | Skipped:
    """A solved ticket as knowledge: the customer's first message and the agent's final public answer.

    `ticket` is a connectors.base.Ticket. Our own assistant's replies ("self") are not answers: a knowledge base fed
    with the model's output would ground future drafts on earlier drafts. Redacted here with the ticket's people
    (only the ticket knows their names); ingest redacts every past ticket again before embedding.
    """
    comments = [c for c in ticket.comments if c.body.strip()]
    question = next((c for c in comments if c.author_role == "customer" and c.public), None)
    if question is None:
        return Skipped(source_id, "no message from the customer")
    after = comments[comments.index(question) + 1:]
    answer = next((c for c in reversed(after) if c.author_role == "agent" and c.public), None)
    if answer is None:
        return Skipped(source_id, "no public answer by an agent")
    # Plain paragraphs, no headings: question and answer stay in one chunk whenever they fit.
    redactor = Redactor(getattr(ticket, "people", ()))
    # A body that hides words arrives as HTML (html_text.comment_body): only what a reader saw becomes knowledge.
    question_text, answer_text = visible_text(question.body).strip(), visible_text(answer.body).strip()
    text = redactor.redact(f"Customer: {question_text}\n\nAgent: {answer_text}").text
    return text_document(source_id=source_id, title=redactor.redact(ticket.subject).text or f"Ticket {ticket.id}",
                         url=ticket.url, kind="past_ticket", locale=ticket.locale or "", updated_at=updated_at,
                         text=text)


def past_ticket_documents(connector: Any, listed: Any, known: Any, kind: str = "ticket") -> Any:
    """Documents for solved tickets a connector listed as (id, updated_at): unchanged ones are not re-read."""
    for ticket_id, updated_at in listed:
        source_id = f"{connector.account}:{kind}:{ticket_id}"
        if updated_at and known.get(source_id) == updated_at:
            yield Unchanged(source_id)
            continue
        ticket = connector.fetch_ticket(ticket_id)
        if ticket is None:
            yield Skipped(source_id, "deleted after it was listed")
            continue
        yield past_ticket_document(ticket, source_id=source_id, updated_at=updated_at)
