"""drafting/templates/: the words code adds to public replies, per language, checked when loaded."""
from __future__ import annotations

import pytest

from drafting import notes, reply_templates
from drafting.output_guard import language_problem
from drafting.reply_templates import TemplateError, load
from drafting.safety import asks_for_human

REQUIRED = {"en", "de", "es", "fr", "sv", "nl", "it", "pt"}
GOOD = ('language: de\ndisclosure: "Hallo, hier ist {assistant} von {brand}."\n'
        'reach_a_person: "Antworten Sie einfach „Mensch“."\nhuman_word: Mensch\n')


def test_every_required_language_has_a_template():
    assert reply_templates.languages() >= REQUIRED


@pytest.mark.parametrize("language", sorted(REQUIRED))
def test_the_human_word_each_template_offers_reaches_a_person(language):
    # The reply tells the customer to answer with this word: the safety net must read it as asking for a person,
    # alone and inside an answer to our public reply.
    word = reply_templates.for_language(language).human_word
    assert asks_for_human(word) and asks_for_human(f"{word}!", answering_public_reply=True)


@pytest.mark.parametrize("language", sorted(REQUIRED))
def test_a_public_reply_carries_the_disclosure_and_the_way_out_in_that_language(language):
    template = reply_templates.for_language(language)
    body = notes.public_reply("REPLY", "Ada", "Acme {x}", language)
    assert body.startswith(template.disclosure.replace("{assistant}", "Ada").replace("{brand}", "Acme {x}"))
    assert "REPLY" in body and body.endswith(template.reach_a_person) and "{" not in body.replace("{x}", "")


def test_an_unknown_language_falls_back_to_english_words_and_is_never_public():
    assert notes.public_reply("Dziękujemy.", "Ada", "Acme", "pl") == notes.public_reply("Dziękujemy.", "Ada", "Acme")
    assert language_problem("Zamówienia wysyłamy w ciągu dwóch dni roboczych.", "pl") == \
        "no public reply template in the customer's language (pl)"
    assert language_problem("Hello", "") == "no public reply template in the customer's language (unknown)"


@pytest.mark.parametrize("text, problem", [
    (GOOD.replace("language: de", "language: fr"), "does not match the file name"),
    (GOOD.replace("{brand}", "{company}"), "disclosure must contain {assistant} and {brand}"),
    (GOOD.replace("{assistant} ", ""), "disclosure must contain"),
    (GOOD.replace("einfach", "{brand}"), "reach_a_person takes no placeholder"),
    (GOOD.replace("human_word: Mensch", "human_word: Person"), "must quote the one human_word"),
    (GOOD.replace("human_word: Mensch\n", ""), "needs exactly the fields"),
    (GOOD + "signature: Bye\n", "needs exactly the fields"),
    (GOOD.replace('reach_a_person: "Antworten Sie einfach „Mensch“."', "reach_a_person: ''"), "non-empty text"),
    ("- just\n- a list\n", "needs exactly the fields"),
    ("disclosure: [unclosed\n", "unreadable"),
])
def test_a_bad_template_stops_the_load_naming_the_file(tmp_path, text, problem):
    (tmp_path / "en.yaml").write_text(GOOD.replace("language: de", "language: en"), encoding="utf-8")
    (tmp_path / "de.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=r"de\.yaml") as raised:
        load(tmp_path)
    assert problem in str(raised.value)


def test_english_must_be_there_to_fall_back_to(tmp_path):
    (tmp_path / "de.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(TemplateError, match=r"en\.yaml is missing"):
        load(tmp_path)
    (tmp_path / "en.yaml").write_text(GOOD.replace("language: de", "language: en"), encoding="utf-8")
    assert set(load(tmp_path)) == {"de", "en"}
