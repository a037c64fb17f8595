"""The shared URL and e-mail patterns: what every reader (redaction, risk rules, language, guard) relies on."""
import pytest

from deskdraft.text.patterns import EMAIL, URL_OR_EMAIL, urls


def test_urls_end_before_brackets_and_sentence_punctuation():
    text = "See https://kb.test/a?x=1. Or (www.shop.test/b), or ftp://files.test/c!"
    assert urls(text) == ["https://kb.test/a?x=1", "www.shop.test/b", "ftp://files.test/c"]


@pytest.mark.parametrize("address", ["anna.müller@müller-bäckerei.de", "o'brien+tag@example.co.uk",
                                     "x@xn--mller-kva.xn--p1ai"])
def test_emails_in_any_script_are_found(address):
    assert EMAIL.fullmatch(address)


@pytest.mark.parametrize("text", ["version 1.2@3.4", "me@localhost", "price@5"])
def test_things_that_are_not_emails(text):
    assert not EMAIL.search(text)


def test_one_pattern_for_both():
    assert [m.group(0) for m in URL_OR_EMAIL.finditer("mail a@b.test or HTTPS://B.TEST/x")] == \
        ["a@b.test", "HTTPS://B.TEST/x"]
