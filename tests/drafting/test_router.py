import numpy as np
import pytest

from drafting.intents import persistence
from drafting.intents.classifier import IntentRouter
from drafting.intents.routing import IntentSpec
from drafting.intents.training import fit_temperature, train, training_set
from knowledge.embeddings import build_embedding

INTENTS = (
    IntentSpec("order_status", "Customer asks where their order is", (
        "where is my order", "my order has not arrived yet", "when will my order arrive", "track my order please",
        "has my order shipped", "what is the delivery status of my order", "my package is late where is it",
        "order still not delivered",
    ), risky=False),
    IntentSpec("refund_request", "Customer wants a refund", (
        "I want a refund", "please refund my money", "how do I get a refund for this", "refund for the returned item",
        "can I have my money back", "I returned the item and want my refund", "give me a refund please",
        "when will I get my refund",
    ), risky=False),
    IntentSpec("change_address", "Customer wants to change the delivery address", (
        "change my delivery address", "update the shipping address on my order", "I moved, new address please",
        "wrong address on the order, can you change it", "can I change the address", "please update my address",
        "ship it to a different address", "edit delivery address",
    ), risky=False),
    IntentSpec("password_reset", "Customer cannot log in", (
        "I forgot my password", "reset my password", "I can't log in", "login does not work",
        "password reset link not working", "locked out of login", "how do I change my password", "new password please",
    ), risky=False),
    # Risky, and none of its examples uses a safety-net word: only the intent rule can mark it.
    IntentSpec("warranty_claim", "Customer claims under the warranty for a broken appliance", (
        "my appliance broke and I want to claim the warranty", "the washing machine stopped working under warranty",
        "warranty claim for broken fridge", "the dishwasher is broken, is it covered by the warranty",
        "my oven broke after two months warranty claim", "broken appliance warranty", "claim warranty for the heater",
        "warranty repair for my broken dryer",
    ), risky=True),
)

HELD_OUT = [
    ("where is my package, has it shipped", "order_status"),
    ("my order is late and not delivered", "order_status"),
    ("I would like a refund for the item", "refund_request"),
    ("can I get my money back please", "refund_request"),
    ("please change the address for delivery", "change_address"),
    ("update my shipping address", "change_address"),
    ("forgot password, can't log in", "password_reset"),
    ("the password reset does not work", "password_reset"),
    ("my fridge broke, warranty claim please", "warranty_claim"),
]


def hash_embed(texts) -> np.ndarray:
    return np.asarray(build_embedding("hash")(list(texts)))


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    return train(*training_set(INTENTS), hash_embed)


def test_predicts_held_out_paraphrases(router):
    predicted = router.predict([text for text, _ in HELD_OUT])
    assert [label for label, _ in predicted] == [label for _, label in HELD_OUT]


def test_probabilities_are_a_distribution_over_the_intents(router):
    classes, probabilities = router.predict_proba(["where is my order", "completely unrelated words here"])
    assert classes == sorted(intent.name for intent in INTENTS)
    assert probabilities.shape == (2, len(INTENTS))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities >= 0).all()


def test_predict_is_the_argmax_of_predict_proba(router):
    texts = [text for text, _ in HELD_OUT]
    classes, probabilities = router.predict_proba(texts)
    for (label, p), row in zip(router.predict(texts), probabilities, strict=False):
        assert label == classes[row.argmax()] and p == pytest.approx(row.max())


def test_text_far_from_every_example_is_less_certain(router):
    [(_, sure)] = router.predict(["where is my order"])
    [(_, unsure)] = router.predict(["the weather in Lisbon is lovely in spring"])
    assert unsure < sure


def test_temperature_is_fitted_on_held_out_examples(router):
    assert router.calibrated_on == router.trained_on  # small data: every example held out once
    assert router.temperature != 1.0


def test_similarity_floor_comes_from_held_out_examples(router):
    # The floor is the 1st percentile of held-out examples' similarity to the rest: nearly all in-scope
    # paraphrases clear it, and a training example is its own nearest neighbour.
    assert 0.0 < router.min_similarity < 1.0
    assert len(router.examples) == router.trained_on
    _, _, similarity = router.scores([text for text, _ in HELD_OUT])
    assert (similarity >= router.min_similarity).all()
    _, _, own = router.scores(["where is my order"])
    assert own[0] == pytest.approx(1.0, abs=1e-3)


def test_scores_embed_once_and_agree_with_predict_proba(router):
    calls = []

    def counting(texts):
        calls.append(len(texts))
        return hash_embed(texts)

    counted = IntentRouter(router.classes, router.coef, router.intercept, router.temperature, counting,
                           examples=router.examples, min_similarity=router.min_similarity)
    _classes, probabilities, similarity = counted.scores(["where is my order", "refund please"])
    assert calls == [2] and similarity.shape == (2,)
    assert np.array_equal(probabilities, router.predict_proba(["where is my order", "refund please"])[1])


def test_save_load_round_trip_gives_identical_predictions(router, tmp_path):
    path = tmp_path / "models" / "router.npz"
    persistence.save(router, path)
    loaded = persistence.load(path, hash_embed)
    texts = [text for text, _ in HELD_OUT]
    assert loaded.classes == router.classes
    assert np.array_equal(loaded.predict_proba(texts)[1], router.predict_proba(texts)[1])
    assert loaded.predict(texts) == router.predict(texts)
    assert np.array_equal(loaded.scores(texts)[2], router.scores(texts)[2])
    assert loaded.min_similarity == router.min_similarity
    assert not path.with_name("router.npz.tmp").exists()


def test_the_model_file_holds_no_pickled_objects(router, tmp_path):
    path = tmp_path / "router.npz"
    persistence.save(router, path)
    with np.load(path, allow_pickle=False) as data:  # raises if any array needed pickle
        assert {"classes", "coef", "intercept", "temperature", "probe"} <= set(data.files)


def test_load_refuses_a_different_embedding(router, tmp_path):
    path = tmp_path / "router.npz"
    persistence.save(router, path)
    with pytest.raises(ValueError, match="different embedding"):
        persistence.load(path, lambda texts: -hash_embed(texts))


@pytest.mark.parametrize("texts, labels, message", [
    (["a", "b"], ["x", "x"], "at least two intents"),
    (["a", "b"], ["x"], "2 texts but 1 labels"),
])
def test_train_rejects_unusable_data(texts, labels, message):
    with pytest.raises(ValueError, match=message):
        train(texts, labels, hash_embed)


def test_two_intents_work():
    router = train(["where is my order", "order not arrived", "refund please", "money back"],
                                ["order", "order", "refund", "refund"], hash_embed)
    [(label, p)] = router.predict(["where is my order"])
    assert label == "order" and 0.5 < p <= 1.0
    assert np.allclose(router.predict_proba(["x"])[1].sum(), 1.0)


def test_one_example_per_intent_trains_without_calibration():
    router = train(["where is my order", "refund please", "change address"],
                                ["order", "refund", "address"], hash_embed)
    assert (router.temperature, router.calibrated_on, router.min_similarity) == (1.0, 0, 0.0)
    assert router.predict(["refund please"])[0][0] == "refund"


def test_empty_input_gives_empty_output(router):
    assert router.predict([]) == []
    assert router.predict_proba([])[1].shape == (0, len(INTENTS))


@pytest.mark.parametrize("true_temperature", [0.3, 1.0, 3.0])
def test_fit_temperature_recovers_the_temperature_labels_were_drawn_with(true_temperature):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 6))
    scaled = np.exp(logits / true_temperature)
    probabilities = scaled / scaled.sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(6, p=row) for row in probabilities])
    assert fit_temperature(logits, truth) == pytest.approx(true_temperature, rel=0.1)


def test_training_set_uses_descriptions_examples_and_known_past_labels():
    intents = [IntentSpec("a", "About A", ("a one", "a two"), False), IntentSpec("b", "", ("b one",), True)]
    past = [("past a", "a"), ("past z", "zzz"), ("a one", "a"), ("  ", "b"), ("past b", "b")]
    texts, labels = training_set(intents, past)
    assert list(zip(texts, labels, strict=False)) == [("About A", "a"), ("a one", "a"), ("a two", "a"), ("b one", "b"),
                                        ("past a", "a"), ("past b", "b")]


def test_real_embedding_routes_by_meaning_not_keywords():
    # Klarna's first mistake was keyword matching: these share no content word with any example.
    ef = build_embedding("minilm-int8", threads=1)
    router = train(*training_set(INTENTS), lambda texts: np.asarray(ef(list(texts))))
    cases = [
        ("The parcel still hasn't shown up at my door", "order_status"),
        ("Please reimburse me for this purchase", "refund_request"),
        ("I relocated, please send it somewhere else", "change_address"),
        ("the sign-in page rejects my credentials", "password_reset"),
        ("my freezer no longer gets cold, will you fix it at no charge since I bought it recently?", "warranty_claim"),
    ]
    assert [label for label, _ in router.predict([text for text, _ in cases])] == [label for _, label in cases]
