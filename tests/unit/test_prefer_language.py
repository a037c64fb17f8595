"""knowledge.retrieve.prefer_language: the customer's language first, one language version per article."""
from __future__ import annotations

from knowledge.retrieve import Passage, article_key, prefer_language


def p(source_id: str, locale: str, chunk: int = 0, score: float = 0.5) -> Passage:
    return Passage(id=f"{source_id}#{chunk}", title="", url="", kind="article", text="", score=score, locale=locale,
                   source_id=source_id)


def ids(passages):
    return [x.id for x in passages]


def test_every_connectors_naming_of_translations_groups_one_article():
    assert article_key(p("zd:article:1:en-us", "en-US")) == article_key(p("zd:article:1:de", "de")) == "zd:article:1"
    assert article_key(p("ic:article:7", "en")) == article_key(p("ic:article:7:fr", "fr")) == "ic:article:7"
    assert article_key(p("fd:article:3", "")) == article_key(p("fd:article:3:sv-se", "sv-SE")) == "fd:article:3"
    assert article_key(p("docs/refunds.md", "de")) == "docs/refunds.md"  # a file is its own article


def test_the_translation_takes_the_place_of_the_best_version_and_the_others_go():
    ranked = [p("zd:article:1:en-us", "en-us"), p("zd:article:2:en-us", "en-us"), p("zd:article:1:en-us", "en-us", 1),
              p("zd:article:1:de", "de"), p("zd:article:3:en-us", "en-us"), p("zd:article:1:de", "de", 1)]
    assert ids(prefer_language(ranked, "de")) == [
        "zd:article:1:de#0", "zd:article:2:en-us#0", "zd:article:1:de#1", "zd:article:3:en-us#0"]
    # English customers keep the English version where it stood; the German one goes.
    assert ids(prefer_language(ranked, "en")) == [
        "zd:article:1:en-us#0", "zd:article:2:en-us#0", "zd:article:1:en-us#1", "zd:article:3:en-us#0"]


def test_an_article_without_the_customers_language_keeps_its_best_version_only():
    ranked = [p("zd:article:1:de", "de"), p("zd:article:1:en-us", "en-us"), p("docs/x.md", "en")]
    assert ids(prefer_language(ranked, "fr")) == ["zd:article:1:de#0", "docs/x.md#0"]


def test_a_passage_without_a_locale_suits_every_language():
    ranked = [p("fd:article:3:de", "de"), p("fd:article:3", ""), p("fd:article:4:de", "de")]
    assert ids(prefer_language(ranked, "sv")) == ["fd:article:3#0", "fd:article:4:de#0"]


def test_no_language_changes_nothing_and_scores_are_never_touched():
    ranked = [p("zd:article:1:en-us", "en-us", score=0.9), p("zd:article:1:de", "de", score=0.4)]
    assert prefer_language(ranked, "") == ranked
    assert [x.score for x in prefer_language(ranked, "de")] == [0.4]
