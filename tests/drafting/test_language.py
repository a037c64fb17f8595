import pytest

from drafting.language import detect


@pytest.mark.parametrize("language, text", [
    ("en", "Where is my order? It should have arrived on Monday."),
    ("en", "I was charged twice for the same order"),
    ("de", "Wo ist meine Bestellung? Sie sollte am Montag ankommen."),
    ("de", "Ich habe mein Geld immer noch nicht zurück"),
    ("fr", "Où est ma commande ? Elle devait arriver lundi."),
    ("fr", "J'ai été débité deux fois pour la même commande"),
    ("es", "¿Dónde está mi pedido? Debía llegar el lunes."),
    ("es", "Todavía no me han devuelto el dinero"),
    ("sv", "Var är min beställning? Den skulle komma i måndags."),
    ("sv", "Jag har fortfarande inte fått tillbaka mina pengar"),
    ("nl", "Bedankt, het is opgelost!"),  # unrestricted langid reads this as Afrikaans
    ("it", "Non ho ancora ricevuto il rimborso"),
    ("pt", "Ainda não recebi o meu dinheiro de volta"),
])
def test_detects_the_language(language, text):
    assert detect(text, default="xx") == language


@pytest.mark.parametrize("text", ["Hi", "Merci", "Order #123456", "", "  ", "https://shop.example/orders/123", "ok"])
def test_short_or_empty_text_gives_the_default(text):
    assert detect(text, default="de") == "de"


def test_links_numbers_and_markup_are_not_evidence():
    text = 'Bonjour, <a href="https://shop.example/en/orders">ma commande</a> 12345 n\'est toujours pas arrivée'
    assert detect(text, default="en") == "fr"
