"""A floor under cross-lingual retrieval with the shipped embedding model, on a slice of the evaluation set.

benchmarks/crosslingual.py prints the full table (125 articles, 40 questions in 8 languages); this runs the ten
articles that also have a German version plus ten English-only ones, through the real model and Chroma, so a model
or retrieval change that loses the other languages fails here and not in production.
"""
from __future__ import annotations

import pytest

from benchmarks.crosslingual import PREFIX, articles, documents, fill, load
from knowledge.retrieve import article_key, retrieve
from knowledge.store import open_store

EMBEDDING = "multilingual-e5-small"  # the shipped default (knowledge.embedding)
# Measured on this slice: 20 of 20 in every language (minilm-int8, English-only: de 15, sv 15). German and Swedish
# stand for the rest here; the benchmark covers all eight.
FLOOR_R5 = {"de": 0.85, "sv": 0.85}


@pytest.fixture(scope="module")
def data():
    full = load()
    german = {a["id"] for a in full["german_articles"]}
    others = [q["article"] for q in full["queries"] if q["article"] not in german][:10]
    keep = german | set(others)
    return {**full, "articles": [a for a in full["articles"] if a["id"] in keep],
            "queries": [q for q in full["queries"] if q["article"] in keep]}


@pytest.fixture(scope="module")
def store(data, tmp_path_factory):
    with open_store(str(tmp_path_factory.mktemp("xlingual")), None, "xlingual", EMBEDDING) as kb:
        fill(kb, documents(data, german=True))
        yield kb


@pytest.mark.parametrize("language", sorted(FLOOR_R5))
def test_questions_find_their_article_across_languages(store, data, language):
    found = 0
    for query in data["queries"]:
        ranked = articles(retrieve(store, query[language], k=10, min_score=-1.0, locale=language))
        found += str(query["article"]) in ranked[:5]
    assert found / len(data["queries"]) >= FLOOR_R5[language], (language, found, len(data["queries"]))


def test_a_german_question_gets_the_german_version_first_and_an_english_one_the_english(store, data):
    german = {a["id"] for a in data["german_articles"]}
    asked = [q for q in data["queries"] if q["article"] in german]
    for language, suffix in (("de", ":de"), ("en", ":en-us")):
        first = [retrieve(store, q[language], k=5, min_score=-1.0, locale=language) for q in asked]
        right = sum(bool(p) and p[0].source_id == f"{PREFIX}{q['article']}{suffix}" for p, q in zip(first, asked,
                                                                                                       strict=True))
        assert right >= 0.8 * len(asked), (language, right, len(asked))  # measured: 10 of 10 for both
        # Never two language versions of one article: a place in the top k would be wasted on a translation.
        for passages in first:
            versions = {(article_key(p), p.locale) for p in passages}
            assert len(versions) == len({key for key, _ in versions}), versions
