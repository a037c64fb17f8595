"""HTML to text, in the one place the project does it. Which function reads what:

    readable_text   helpdesk message bodies (Intercom, Freshdesk)    the lines a reader sees; links "label (url)"
    page_text       help-center pages and HTML knowledge files       Markdown-ish: "# " headings, "- " items, the
                                                                     page's <main>, its title, canonical URL, lang
    visible_text    what routing, mood, language and the model read  hidden elements and comments dropped
    plain_text      what the risk rules scan                         every word, hidden or not, comments included
    hidden_text     a risk signal                                    the words plain_text has and visible_text
                                                                     lacks, and words split by invisible characters
    comment_body    every connector, for a customer's comment       plain text, or the HTML when it hides words
    sanitised_text  the output guard, for a model's reply            nh3 (Ammonia) removes every tag

One walker (the standard library's tolerant html.parser, fed tag soup as helpdesks send it) does the first four, so
what counts as hidden is decided once: display:none, visibility:hidden, the `hidden` attribute, zero font size,
opacity, height or width, white text, and what a browser never renders (script, style, head, template). Invisible
format characters (deskdraft.text.patterns.INVISIBLE) are dropped from visible and plain text alike. nh3 does
the guard's part: it is the sanitiser already trusted there, and its html5ever parser resolves malformed markup the
way a browser does, which is what a reply's text must follow. Neither library finds hidden text on its own.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

from deskdraft.text.patterns import INVISIBLE, SPLITTING_INVISIBLE

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                  "wbr"})
NEVER_SHOWN = frozenset({"script", "style", "template", "head", "title", "noscript"})
# Page furniture that would otherwise end up in every chunk of a help-center export.
FURNITURE = frozenset({"nav", "footer", "form", "button", "iframe", "svg"})
# tag -> newlines it needs around it in a message body (a paragraph is set off by a blank line).
LINE_BREAKS = {"p": 2, "div": 1, "li": 1, "ul": 1, "ol": 1, "blockquote": 1, "pre": 1, "table": 1, "tr": 1,
               "dl": 1, "dt": 1, "dd": 1, **{f"h{n}": 1 for n in range(1, 7)}}
# In a page every block is a paragraph: the chunker splits on blank lines.
PAGE_BLOCKS = frozenset({"p", "div", "section", "article", "main", "header", "aside", "ul", "ol", "table", "tr",
                         "blockquote", "pre", "hr", "dl", "dt", "dd", "figure", "figcaption", "details", "summary"})
HEADINGS = {f"h{n}": n for n in range(1, 7)}
HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])"
    # white (or near-white) text: invisible on the white background every helpdesk uses
    r"|(?<![\w-])color\s*:\s*(?:white|#f{3}\b|#f{6}\b|#fefefe|rgba?\(\s*25[0-5]\s*,\s*25[0-5]\s*,\s*25[0-5])"
    r"|(?<![\w-])(?:max-)?(?:height|width)\s*:\s*0(?:px)?\s*(?:;|$)", re.IGNORECASE)
# Tags that make a message body HTML: Intercom sends plain text too, and "<as typed>" in it is not markup.
MESSAGE_TAG = re.compile(r"</?(p|br|div|a|span|b|i|u|em|strong|ul|ol|li|h[1-6]|img|pre|code|blockquote)\b[^>]*>",
                         re.IGNORECASE)
WORD = re.compile(r"\w+")
HIDDEN_MIN_WORDS = 2  # a stray hidden "&nbsp;" or tracking pixel alt is not a message; two hidden words are


@dataclass(frozen=True)
class _Mode:
    hidden: bool  # keep text a reader would not see (and comments)
    links: bool  # "label (url)" after a link's text
    page: bool  # Markdown-ish headings and list items, whitespace collapsed, furniture dropped


_PLAIN, _VISIBLE, _READABLE, _PAGE = (_Mode(True, False, False), _Mode(False, False, False),
                                      _Mode(False, True, False), _Mode(False, False, True))


class _Walker(HTMLParser):
    def __init__(self, mode: _Mode) -> None:
        super().__init__(convert_charrefs=True)
        self.mode = mode
        self.title = self.canonical = self.lang = ""
        self.text: list[str] = []
        self.main: list[str] = []  # inside <main>/<article>, when the page has one
        self._open: list[tuple[str, bool]] = []  # (tag, hides its content)
        self._links: list[str | None] = []
        self._in_title = self._in_main = self._in_pre = 0

    def _hidden(self) -> bool:
        return any(hides for _, hides in self._open)

    def _emit(self, text: str) -> None:
        if self._hidden() and not self.mode.hidden:
            return
        self.text.append(text)
        if self._in_main:
            self.main.append(text)

    def _breaks(self, n: int) -> None:
        """At least n newlines here; none before the first text."""
        if n and self.text:
            tail = "".join(self.text[-3:])
            self._emit("\n" * max(0, n - (len(tail) - len(tail.rstrip("\n")))))

    def _block(self, tag: str) -> None:
        if self.mode.page:
            self._breaks(2 if tag in PAGE_BLOCKS or tag in HEADINGS else 0)
        else:
            self._breaks(LINE_BREAKS.get(tag, 0))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "html" and found.get("lang"):
            self.lang = found["lang"]
        elif tag == "link" and "canonical" in found.get("rel", "").split() and found.get("href"):
            self.canonical = found["href"]
        elif tag == "title" and "svg" not in (t for t, _ in self._open):
            self._in_title += 1
        if tag == "br":
            self._emit("\n")
        self._block(tag)
        if self.mode.page and tag in HEADINGS:
            self._emit("#" * HEADINGS[tag] + " ")
        elif self.mode.page and tag == "li":
            self._breaks(1)
            self._emit("- ")
        elif self.mode.page and tag in ("td", "th"):
            self._emit(" ")
        if tag in VOID:
            return
        hides = (tag in NEVER_SHOWN or (self.mode.page and tag in FURNITURE) or "hidden" in found
                 or bool(HIDDEN_STYLE.search(found.get("style", ""))))
        self._open.append((tag, hides))
        self._in_main += tag in ("main", "article")
        self._in_pre += tag == "pre"
        if tag == "a":
            self._links.append(found.get("href"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <br/> is one break, not a start and an end
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href = self._links.pop()
            if self.mode.links and href:
                self._emit(f" ({href})")
        for i in range(len(self._open) - 1, -1, -1):  # tolerate unclosed inner tags
            if self._open[i][0] == tag:
                closed = self._open[i:]
                del self._open[i:]
                self._in_main -= sum(t in ("main", "article") for t, _ in closed)
                self._in_pre -= sum(t == "pre" for t, _ in closed)
                break
        if tag == "title":
            self._in_title = max(0, self._in_title - 1)
        self._block(tag)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += " ".join(data.split())
        if self.mode.page and not self._in_pre:
            data = re.sub(r"\s+", " ", data)
        self._emit(data)

    def handle_comment(self, data: str) -> None:
        if self.mode.hidden:
            self.text.append(" " + data + " ")


def _walk(markup: str, mode: _Mode) -> _Walker:
    walker = _Walker(mode)
    walker.feed(markup)
    walker.close()
    return walker


def _tidy(text: str) -> str:
    """No-break spaces as spaces, no blank runs longer than one line, lines trimmed."""
    lines = (line.strip() for line in text.replace("\xa0", " ").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def plain_text(markup: str) -> str:
    """Tags removed and entities decoded; hidden text and comments are kept (a tag cannot split or hide a word)."""
    if "<" not in markup:
        return INVISIBLE.sub("", html.unescape(markup))
    return INVISIBLE.sub("", "".join(_walk(markup, _PLAIN).text))


def visible_text(markup: str) -> str:
    """What a person reading the rendered HTML sees: hidden elements, comments, script and style dropped."""
    if "<" not in markup:
        return INVISIBLE.sub("", html.unescape(markup))
    return INVISIBLE.sub("", "".join(_walk(markup, _VISIBLE).text))


def hidden_text(markup: str) -> str | None:
    """Words a reader of the rendered HTML would not see (display:none, zero size, white text, comments, script),
    or words split by an invisible character ("fr\u200baud", a right-to-left override), or None. Nobody hides
    words from an agent for a good reason: routing flags them as `hidden_text`."""
    split = [m.group(0) for m in re.finditer(r"\w*(?:" + SPLITTING_INVISIBLE.pattern + r")\w*", markup or "")]
    if split:
        return "invisible characters in: " + " ".join(INVISIBLE.sub("", w) or repr(w) for w in split)[:170]
    if "<" not in (markup or ""):
        return None
    remaining: dict[str, int] = {}
    for word in WORD.findall(visible_text(markup)):
        remaining[word] = remaining.get(word, 0) + 1
    hidden = []
    for word in WORD.findall(plain_text(markup)):
        if remaining.get(word):
            remaining[word] -= 1
        else:
            hidden.append(word)
    return " ".join(hidden)[:200] if len(hidden) >= HIDDEN_MIN_WORDS else None


def readable_text(body: str) -> str:
    """A message body as the lines a reader sees, links as `label (url)` (like Intercom's display_as=plaintext).
    A body without message tags is plain text already and is returned as typed (only trimmed)."""
    if not MESSAGE_TAG.search(body):
        return body.strip()
    return _tidy("".join(_walk(body, _READABLE).text))


def comment_body(markup: str, plain: str = "") -> str:
    """The body a connector hands the pipeline: the helpdesk's plain text (or ours), except when the HTML hides
    words. Then the HTML itself, so drafting drops the hidden part before the model and flags the ticket:
    a vendor's plain rendering shows hidden text as if it were visible."""
    if hidden_text(markup):
        return markup
    return plain or readable_text(markup)


@dataclass(frozen=True)
class Page:
    text: str  # Markdown-ish: "# " headings, "- " list items, blank lines between blocks
    title: str
    canonical: str
    lang: str


def page_text(markup: str) -> Page:
    """A help-center page or an HTML knowledge file: the page's <main>/<article> when it has one (else the body),
    without navigation, footers, forms or hidden elements; headings become sections the chunker splits on."""
    walker = _walk(markup, _PAGE)
    main = "".join(walker.main)
    return Page(_tidy(main if main.strip() else "".join(walker.text)), walker.title, walker.canonical, walker.lang)


def sanitised_text(markup: str) -> str:
    """Every tag removed by nh3 (script and style with their content), entities decoded once; <br> and the ends of
    paragraphs, divs and list items become line breaks."""
    if "<" not in markup:
        return markup
    spaced = re.sub(r"(?i)<br\s*/?>|</(?:p|div|li)\s*>", "\n", markup)
    return html.unescape(nh3.clean(spaced, tags=set(), attributes={}, strip_comments=True))
