"""The output guard: every public reply passes here after the model and before the connector.

A reply goes public only as plain text (what Zendesk's `body`, and our escaped Intercom/Freshdesk bodies, show
as written) and only when:
- every link in it (Markdown, HTML href/src, bare URL, bare domain) is the URL of a passage the reply cites, or
  on a domain the admin allows (`drafting.public_link_domains`); look-alike (non-ASCII, punycode) hosts, user
  info in a URL and other schemes never pass;
- its markup is formatting only: HTML is sanitised with nh3 (Ammonia) down to text; script, style, iframes,
  images, forms, event handlers or any other attribute block the reply instead of being silently dropped;
- the model did not ask for a human, no check failed, every number in it (amount, days, percentage) is in a
  passage it cites, and the reply is in the language of the customer's latest message, one with a reply template.
Otherwise the verdict says why and the pipeline posts an internal note instead.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from deskdraft.text.html_text import sanitised_text
from deskdraft.text.patterns import BARE_HOST, INVISIBLE, MARKDOWN_LINK, NOT_TLDS, SCHEME_URL
from drafting import reply_templates
from drafting.language import detect_with_probability

# Tags a model may use for emphasis or lists; nh3 reduces them to their text. Anything else blocks the reply.
FORMATTING_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "span", "div"})
SCHEMES = ("http", "https")
PROSE_SCHEMES = frozenset({"note", "re", "fwd", "tel"})  # "Note: ..." is not a URL; tel: is not a web link


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    text: str  # what may be posted: plain text, links kept as "label (url)"
    reasons: tuple[str, ...]  # why it may not go public (empty when allowed)
    links: tuple[str, ...]  # every link found, for the audit


class _Markup(HTMLParser):
    """Tags and attributes present in a reply (a parser, not a regex: `<img/src=x onerror=...>` is still seen)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.tags.append("!--")


def _markup(text: str) -> _Markup:
    parser = _Markup()
    parser.feed(text)
    parser.close()
    return parser


def _normal_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}{parts.path.rstrip('/')}" + \
        (f"?{parts.query}" if parts.query else "")


def host_allowed(host: str, domains: Sequence[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".") for d in domains) if d)


def link_problem(url: str, cited_urls: Sequence[str], domains: Sequence[str]) -> str | None:
    """Why this link may not appear in a public reply, or None when it may."""
    candidate = url if "://" in url or ":" in url.split("/", 1)[0] else "https://" + url
    try:
        parts = urlsplit(candidate)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        return f"malformed link {url!r}"
    if parts.scheme.lower() not in SCHEMES:
        return f"link with scheme {parts.scheme!r}: {url!r}"
    if parts.username or parts.password or "@" in parts.netloc:
        return f"link with user info (hides the real host): {url!r}"
    if not host.isascii() or any(label.startswith("xn--") for label in host.split(".")):
        return f"look-alike (non-ASCII) domain: {url!r}"
    if re.search(r"https?:|%3a%2f%2f|//|www\.", f"{parts.query}#{parts.fragment}", re.IGNORECASE):
        return f"link that carries another address (a redirect): {url!r}"
    cited = {_normal_url(u) for u in cited_urls if u}
    if "://" in url and _normal_url(url) in cited:
        return None
    if host_allowed(host, domains):
        return None
    return f"link not from a cited passage or an allowed domain: {url!r}"


def find_links(text: str) -> list[str]:
    """Every link a reader could follow or a renderer could load, in any of the forms a model can write."""
    links: list[str] = [m.group(3) for m in MARKDOWN_LINK.finditer(text)]
    markup = _markup(text)
    links += [value for _, name, value in markup.attributes if name in ("href", "src", "srcset", "action",
                                                                        "formaction", "background", "poster")]
    plain = html.unescape(MARKDOWN_LINK.sub(" ", text))
    for match in SCHEME_URL.finditer(plain):
        scheme = match.group(0).split(":", 1)[0].lower()
        if scheme in PROSE_SCHEMES or (scheme not in SCHEMES and "//" not in match.group(0)
                                       and scheme not in ("javascript", "data", "vbscript", "mailto", "file")):
            continue  # "Step 2:3" or "Hinweis:Text" is prose, not a link
        links.append(match.group(0).rstrip(".,;:!?"))
    without_urls = SCHEME_URL.sub(" ", plain)
    for match in BARE_HOST.finditer(without_urls):
        tld = match.group(1).rsplit(".", 1)[-1].lower()
        if tld in NOT_TLDS:
            continue
        links.append((match.group(1) + (match.group(2) or "")).rstrip(".,;:!?"))
    return list(dict.fromkeys(links))


def markup_problems(text: str) -> list[str]:
    """Markup that must not reach a customer: anything but plain formatting tags, and every attribute."""
    markup = _markup(text)
    problems = [f"markup not allowed in a public reply: <{tag}>" for tag in dict.fromkeys(markup.tags)
                if tag not in FORMATTING_TAGS]
    problems += [f"markup attribute not allowed in a public reply: {name} on <{tag}>"
                 for tag, name, _ in dict.fromkeys(markup.attributes) if not (tag == "a" and name == "href")]
    problems += ["image in a public reply" for m in MARKDOWN_LINK.finditer(text) if m.group(1)][:1]
    return problems


def to_plain_text(text: str) -> str:
    """The reply as plain text: nh3 removes every tag (dropping script/style content), then entities are decoded
    once; allowed Markdown links become `label (url)` so the customer sees where a link goes."""
    text = MARKDOWN_LINK.sub(lambda m: f"{m.group(2)} ({m.group(3)})" if m.group(2).strip() else m.group(3), text)
    text = sanitised_text(text)
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def ungrounded_numbers(reply: str, cited: Sequence[Any]) -> list[str]:
    """Numbers (amounts, days, percentages) in the reply that no cited passage contains: a model that cites the
    shipping policy while stating "refunds are 200%" passed the policy-citation check, and must not pass this."""
    sources = " ".join(getattr(p, "text", "") or "" for p in cited)
    known = set(NUMBER.findall(sources))
    return [n for n in dict.fromkeys(NUMBER.findall(reply)) if n not in known]


def language_problem(reply: str, customer_language: str) -> str | None:
    """Why the reply may not go to a customer who wrote (latest) in customer_language, or None.

    A reply too short to tell passes on this count; one in another language, or to a customer whose language has no
    reply template (drafting/templates/: the disclosure would be in English), does not."""
    if customer_language not in reply_templates.languages():
        return f"no public reply template in the customer's language ({customer_language or 'unknown'})"
    language, _ = detect_with_probability(reply)
    if language and language != customer_language:
        return f"reply is in {language}, the customer wrote in {customer_language}"
    return None


def review(reply: str | None, *, cited: Sequence[Any], allowed_domains: Sequence[str], customer_language: str,
           model_asks_human: str | None = None, problems: Sequence[str] = ()) -> Verdict:
    """May this drafted reply go to the customer, and as what text? Pure: same input, same verdict."""
    reply = reply or ""
    reasons: list[str] = []
    if not reply.strip():
        reasons.append("empty reply")
    if model_asks_human:
        reasons.append(f"the model asks for a human: {model_asks_human}")
    reasons += [f"check failed: {p}" for p in problems]
    links = find_links(reply)
    cited_urls = [getattr(p, "url", "") or "" for p in cited]
    reasons += [problem for link in links if (problem := link_problem(link, cited_urls, allowed_domains))]
    reasons += markup_problems(reply)
    text = to_plain_text(reply)
    # The sanitised text is checked again: entity-encoded or tag-split links surface only after decoding.
    reasons += [problem for link in find_links(text) if link not in links
                and (problem := link_problem(link, cited_urls, allowed_domains))]
    reasons += [f"number not in any cited passage: {n}" for n in ungrounded_numbers(text, cited)]
    mismatch = language_problem(text, customer_language)
    if mismatch:
        reasons.append(mismatch)
    return Verdict(not reasons, text, tuple(dict.fromkeys(reasons)), tuple(links))
