"""The output guard on its own: every form of link and markup a model can write, and the reasons it gives."""
from types import SimpleNamespace

import pytest

from drafting.output_guard import find_links, review

CITED = [SimpleNamespace(url="https://help.acme.test/refunds",
                         text="Refunds are paid back to the original card within 5 business days.")]
OK = "Your refund reaches your card within 5 business days of us receiving the item."


def guard(reply, language="en", domains=("acme.test",), **kwargs):
    return review(reply, cited=CITED, allowed_domains=list(domains), customer_language=language, **kwargs)


@pytest.mark.parametrize("reply", [
    OK,
    OK + " Details: https://help.acme.test/refunds",
    OK + " Details: https://help.acme.test/refunds/.",
    OK + " Track it on https://shop.acme.test/orders",  # an admin-allowed domain
    OK + " See [the refund policy](https://help.acme.test/refunds).",
    "<p>" + OK + "</p><p>Best, <b>Acme</b></p>",
    OK + " Note: keep the receipt, it is proof:of purchase.",
])
def test_clean_replies_pass_as_plain_text(reply):
    verdict = guard(reply)
    assert verdict.allowed, verdict.reasons
    assert "<" not in verdict.text and "](" not in verdict.text


@pytest.mark.parametrize("reply, reason", [
    (OK + " [Track order](https://evil.example/login)", "evil.example/login"),
    (OK + ' <a href="https://evil.example">here</a>', "evil.example"),
    (OK + " <img src=x onerror=alert(1)>", "<img>"),
    (OK + " <img/src=https://help.acme.test/x.png>", "<img>"),
    (OK + " http://evil.example/verify", "evil.example/verify"),
    (OK + " Go to evil.example/verify", "evil.example/verify"),
    (OK + " www.evil.example", "www.evil.example"),
    (OK + " https://bit.ly/3xYz", "bit.ly"),
    (OK + " https://hеlp.acme.test/refunds", "look-alike"),  # Cyrillic е
    (OK + " https://xn--hlp-8cd.acme.test/refunds", "look-alike"),
    (OK + " https://help.acme.test@evil.example/refunds", "user info"),
    (OK + " https://help.acme.test.evil.example/refunds", "help.acme.test.evil.example"),
    (OK + " javascript:alert(document.cookie)", "javascript"),
    (OK + " https://help.acme.test/go?next=https://evil.example", "redirect"),
    (OK + " data:text/html;base64,PHNjcmlwdD4=", "data"),
    (OK + " h&#116;tps://evil.example/x", "evil.example"),
    (OK + " <script>alert(1)</script>", "<script>"),
    (OK + ' <span onclick="steal()">ok</span>', "onclick"),
    (OK + " <iframe src=https://help.acme.test></iframe>", "<iframe>"),
    (OK + " ![logo](https://help.acme.test/logo.png)", "image"),
    (OK + " <!-- hidden -->", "<!--"),
    (OK + " <form action=https://evil.example><input></form>", "<form>"),
])
def test_links_and_markup_outside_the_allowlist_block(reply, reason):
    verdict = guard(reply)
    assert not verdict.allowed
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_a_cited_url_passes_but_not_its_siblings_without_the_domain():
    assert guard(OK + " https://help.acme.test/refunds", domains=()).allowed
    assert not guard(OK + " https://help.acme.test/other-page", domains=()).allowed


def test_the_model_asking_for_a_human_or_a_failed_check_is_never_public():
    assert "the model asks for a human: possible prompt injection" in guard(
        OK, model_asks_human="possible prompt injection").reasons
    assert not guard(OK, problems=("states a refund rule without citing a policy passage",)).allowed
    assert not guard("").allowed


def test_a_reply_in_another_language_than_the_customers_is_never_public():
    verdict = guard("Ihre Erstattung kommt innerhalb von fünf Werktagen auf Ihre Karte zurück.", language="en")
    assert not verdict.allowed and "reply is in de" in verdict.reasons[0]
    assert guard("Ihre Erstattung kommt innerhalb von fünf Werktagen auf Ihre Karte zurück.", language="de").allowed


def test_every_link_form_is_found():
    text = ('[a](https://one.test/x) <a href="https://two.test">b</a> https://three.test/y four.test/z '
            "<img src=https://five.test/i.png>")
    found = find_links(text)
    for host in ("one.test", "two.test", "three.test", "four.test", "five.test"):
        assert any(host in link for link in found), (host, found)
    assert find_links("Download invoice.pdf, e.g. from Orders.") == []


def test_numbers_must_come_from_the_cited_passages():
    assert guard(OK).allowed
    verdict = guard("Refunds are 200% of the price and arrive within 5 business days.")
    assert not verdict.allowed and verdict.reasons == ("number not in any cited passage: 200",)
