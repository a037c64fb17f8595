"""The URL, e-mail, host and invisible-character patterns, written once. Who reads them:

    URL, EMAIL, URL_OR_EMAIL   redaction (knowledge/redact.py), the risk rules (drafting/safety.py, identifiers are
                               not statements), language detection (not words), the override measure (facts)
    SCHEME_URL, BARE_HOST,     the output guard (drafting/output_guard.py): every form of link a model can write
    MARKDOWN_LINK, NOT_TLDS
    INVISIBLE                  the prompt fence, the output guard and html_text: format characters that hide or
                               reorder words
    SPLITTING_INVISIBLE        html_text.hidden_text: the ones a person uses to split a word a rule would catch

Widening a pattern here widens every reader at once; that is the point (the copies had drifted), and the red-team,
output-guard and redaction tests are the check that none of them got weaker.
"""
from __future__ import annotations

import re

# http(s), ftp and www. links up to a space, quote, bracket or angle bracket (a URL in "(see https://x.test/a)"
# ends before the bracket). Sentence punctuation after a link is not part of it: see `urls`.
URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]]+", re.IGNORECASE)
# Unicode local parts and domains (müller-bäckerei.de) and punycode TLDs; a TLD is letters, so "a@b.123" is not one.
EMAIL = re.compile(r"(?<![\w.+'%-])[\w.+%'-]+@[\w-]+(?:\.[\w-]+)*\.(?:xn--[\w-]+|[^\W\d_]{2,24})(?![\w-])")
URL_OR_EMAIL = re.compile(f"{URL.pattern}|{EMAIL.pattern}", re.IGNORECASE)
USERINFO = re.compile(r"^(?:https?://)[^/@\s]+:[^/@\s]+@", re.IGNORECASE)  # user:password@ in front of the host

# Scheme URLs (any scheme: javascript:, data:, ftp: are links too), www. hosts, and bare host.tld[/path].
SCHEME_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,15}:(?://)?[^\s<>\"'()\[\]]+", re.IGNORECASE)
BARE_HOST = re.compile(r"(?<![\w@./-])((?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63})(?::\d+)?"
                       r"(/[^\s<>\"'()\[\]]*)?", re.UNICODE)
MARKDOWN_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
# "e.g." and "i.e." are not hosts; file names are not either, so common extensions are not read as TLDs.
NOT_TLDS = frozenset({"pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "doc", "docx", "xls", "xlsx", "zip", "html",
                      "htm", "md", "json", "xml", "eg", "ie"})

# Soft hyphen, zero-width characters, bidi embeddings/overrides/isolates, word joiner and invisible operators, BOM.
INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# What hides a word from a reader but not from a naive matcher: "fr\u200baud", a right-to-left override. Joiners
# (emoji, Persian), soft hyphens (hyphenation) and direction marks (right-to-left text) are ordinary and not here.
SPLITTING_INVISIBLE = re.compile(r"(?<=[A-Za-z])[\u180e\u200b\u2060-\u2064\ufeff]+(?=[A-Za-z])|[\u202d\u202e]")

_TRAILING = ".,;:!?"


def urls(text: str) -> list[str]:
    """The URLs in a text, without the sentence punctuation that follows them."""
    return [match.group(0).rstrip(_TRAILING) for match in URL.finditer(text)]


def url_spans(text: str) -> list[tuple[int, int]]:
    """Where the URLs are, without the sentence punctuation that follows them."""
    spans = []
    for match in URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in _TRAILING:
            end -= 1
        spans.append((match.start(), end))
    return spans
