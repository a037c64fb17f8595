import numpy as np
import pytest

from drafting.router import IntentRouter, fit_temperature, training_set
from drafting.routing import IntentSpec
from tests.drafting.intents import HELD_OUT, INTENTS, hash_embed


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    return IntentRouter.train(*training_set(INTENTS), hash_embed)


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
    for (label, p), row in zip(router.predict(texts), probabilities):
        assert label == classes[row.argmax()] and p == pytest.approx(row.max())


def test_text_far_from_every_example_is_less_certain(router):
    [(_, sure)] = router.predict(["where is my order"])
    [(_, unsure)] = router.predict(["the weather in Lisbon is lovely in spring"])
    assert unsure < sure


def test_temperature_is_fitted_on_held_out_examples(router):
    assert router.calibrated_on == router.trained_on  # small data: every example held out once
    assert router.temperature != 1.0


def test_save_load_round_trip_gives_identical_predictions(router, tmp_path):
    path = tmp_path / "models" / "router.npz"
    router.save(path)
    loaded = IntentRouter.load(path, hash_embed)
    texts = [text for text, _ in HELD_OUT]
    assert loaded.classes == router.classes
    assert np.array_equal(loaded.predict_proba(texts)[1], router.predict_proba(texts)[1])
    assert loaded.predict(texts) == router.predict(texts)
    assert not path.with_name("router.npz.tmp").exists()


def test_the_model_file_holds_no_pickled_objects(router, tmp_path):
    path = tmp_path / "router.npz"
    router.save(path)
    with np.load(path, allow_pickle=False) as data:  # raises if any array needed pickle
        assert {"classes", "coef", "intercept", "temperature", "probe"} <= set(data.files)


def test_load_refuses_a_different_embedding(router, tmp_path):
    path = tmp_path / "router.npz"
    router.save(path)
    with pytest.raises(ValueError, match="different embedding"):
        IntentRouter.load(path, lambda texts: -hash_embed(texts))


@pytest.mark.parametrize("texts, labels, message", [
    (["a", "b"], ["x", "x"], "at least two intents"),
    (["a", "b"], ["x"], "2 texts but 1 labels"),
])
def test_train_rejects_unusable_data(texts, labels, message):
    with pytest.raises(ValueError, match=message):
        IntentRouter.train(texts, labels, hash_embed)


def test_two_intents_work():
    router = IntentRouter.train(["where is my order", "order not arrived", "refund please", "money back"],
                                ["order", "order", "refund", "refund"], hash_embed)
    [(label, p)] = router.predict(["where is my order"])
    assert label == "order" and 0.5 < p <= 1.0
    assert np.allclose(router.predict_proba(["x"])[1].sum(), 1.0)


def test_one_example_per_intent_trains_without_calibration():
    router = IntentRouter.train(["where is my order", "refund please", "change address"],
                                ["order", "refund", "address"], hash_embed)
    assert (router.temperature, router.calibrated_on) == (1.0, 0)
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
    assert list(zip(texts, labels)) == [("About A", "a"), ("a one", "a"), ("a two", "a"), ("b one", "b"),
                                        ("past a", "a"), ("past b", "b")]
