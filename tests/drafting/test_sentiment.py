import pytest

from drafting.sentiment import assess


@pytest.mark.parametrize("text, earlier, reason", [
    ("This is ridiculous, your service is useless", [], "angry words"),
    ("This is the third time I am writing about this", [], "repeated issue"),
    ("My refund has still not arrived", [], "repeated issue"),
    ("It is broken again!", [], "repeated issue"),
    ("Nobody answers my emails", [], "repeated issue"),
    ("Where is my refund!!!", [], "3 exclamation marks"),
    ("WHERE IS MY MONEY, I WANT IT NOW", [], "all caps"),
    ("Any update on my order?", ["Where is my order?", "Hello? Any news on the order?"],
     "repeated contact: 3rd message"),
    ("Das ist eine Frechheit", [], "angry words"),
    ("Ich habe immer noch keine Antwort", [], "repeated issue"),
    ("C'est inadmissible, toujours pas de remboursement", [], "angry words"),
    ("Es la tercera vez que escribo", [], "repeated issue"),
    ("Dit is belachelijk", [], "angry words"),
    ("Jag har fortfarande inte fått något svar", [], "repeated issue"),
    ("È inaccettabile", [], "angry words"),
    ("Já expliquei isso duas vezes, é um absurdo", [], "angry words"),
])
def test_frustration_is_detected_with_a_reason(text, earlier, reason):
    mood = assess(text, earlier)
    assert mood.frustrated
    assert mood.sentiment == "negative"
    assert any(r.startswith(reason) for r in mood.reasons), mood.reasons


@pytest.mark.parametrize("text, sentiment", [
    ("Where is my order?", "neutral"),
    ("Could you send the invoice again?", "neutral"),
    ("How do I change my PIN at an ATM?", "neutral"),
    ("Thanks, that solved it!", "positive"),
    ("Vielen Dank, alles super", "positive"),
    ("Merci beaucoup, c'est parfait", "positive"),
    ("The app shows an error when I log in", "negative"),
])
def test_calm_messages_are_not_frustrated(text, sentiment):
    mood = assess(text, [])
    assert not mood.frustrated, mood.reasons
    assert mood.sentiment == sentiment


def test_one_earlier_message_is_not_yet_repeated_contact():
    assert not assess("Any news?", ["Where is my order?"]).frustrated
    assert assess("Any news?", ["Where is my order?", "Hello?"]).reasons == ("repeated contact: 3rd message",)
    assert "repeated contact: 11th message" in assess("?", ["x"] * 10).reasons


def test_blank_earlier_turns_do_not_count():
    assert not assess("Any news?", ["", "  "]).frustrated


def test_short_shouting_is_not_judged():
    assert not assess("HELP", []).frustrated
    assert not assess("My PIN and the ATM code", []).frustrated
