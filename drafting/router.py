"""The local intent router: logistic regression on sentence embeddings, with calibrated probabilities.

Fast (no model call), trained on the intents' examples from config.yaml and on labelled past tickets.
A probability here means what it says: of the messages given 0.8, about 80% are right, so a threshold
in config is a measured trade of coverage for accuracy (benchmarks/router.py prints the curve).

Calibration is temperature scaling: the logits of a multinomial logistic regression are divided by one
number T fitted on out-of-fold predictions (cross-validation over the training set). It leaves the
ranking alone and fixes the scale: with ten examples per intent the raw model is far too unsure (top
probability 0.55 on average where it is right 85% of the time); with ten thousand it is too sure.
Out of scope: a softmax over known intents is sure of something even for a question no intent covers
(on Banking77, 30% of StackFAQ's web-app questions got p >= 0.5). So the router also keeps the training
vectors and reports each text's cosine similarity to its nearest training example; min_similarity is
the 1st percentile of that similarity for held-out training examples. Under it the text is unlike
anything the router was taught, and routing calls it unknown (0.7% of StackFAQ left, 0.8% of
Banking77's test set lost).

The model is a handful of arrays in an .npz file (no pickle), with a probe embedding that refuses a
load with a different embedding function than the one it was trained with.
"""
from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from drafting.routing import IntentSpec

Embed = Callable[[Sequence[str]], np.ndarray]

C = 10.0  # inverse L2 strength; best of 1/10/30/100 on Banking77 full and 10-shot (benchmarks/router.py)
CALIBRATION_FOLDS = 5
ONE_FOLD_FROM = 2000  # from this many examples one held-out fifth is enough to fit one number, and 5x cheaper
SIMILARITY_PERCENTILE = 1.0  # of held-out examples' nearest-example similarity: the in-scope floor
NEIGHBOURS_PER_CLASS = 300  # training vectors kept per intent for the similarity check (memory bound)
FORMAT = 1
PROBE = "deskdraft router probe: where is my order and when will my refund arrive?"
_MISSING = -1e4  # logit of a class absent from a fold's training part


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _embed(embed: Embed, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embed(list(texts)), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise ValueError(f"embedding returned shape {vectors.shape} for {len(texts)} texts")
    return vectors


def _fit(x: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    # lbfgs fits the multinomial (softmax) model; max_iter is far above what Banking77 needs (~60).
    return LogisticRegression(C=C, max_iter=1000).fit(x, y)


def _weights(model, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coef, intercept) with one row per class in `classes` order; absent classes get a huge negative bias."""
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # scikit-learn stores a binary model as one row: logits (0, z)
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    full_coef = np.zeros((len(classes), coef.shape[1]), dtype=np.float64)
    full_intercept = np.full(len(classes), _MISSING, dtype=np.float64)
    index = np.searchsorted(classes, model.classes_)
    full_coef[index], full_intercept[index] = coef, intercept
    return full_coef, full_intercept


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """T minimising the log loss of softmax(logits / T) for the true class indices."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(truth))

    def loss(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_probs = scaled[rows, truth] - np.log(np.exp(scaled).sum(axis=1))
        return float(-log_probs.mean())

    result = minimize_scalar(loss, bounds=(np.log(0.01), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def _nearest(vectors: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Cosine similarity of each vector to its nearest example (both L2-normalised)."""
    if len(examples) == 0:
        return np.ones(len(vectors))
    best = np.full(len(vectors), -1.0)
    for start in range(0, len(examples), 4096):  # bounded memory for big training sets
        block = vectors @ examples[start:start + 4096].T
        best = np.maximum(best, block.max(axis=1))
    return best


def _neighbours(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """At most NEIGHBOURS_PER_CLASS vectors per class (a fixed random subset), rounded through float16 as stored."""
    rng = np.random.default_rng(0)
    keep = [rng.permutation(np.flatnonzero(y == c))[:NEIGHBOURS_PER_CLASS] for c in np.unique(y)]
    return x[np.sort(np.concatenate(keep))].astype(np.float16).astype(np.float32)


def _calibrate(x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> tuple[float, int, float]:
    """(temperature, held-out examples used, similarity floor) from held-out predictions; (1.0, 0, 0.0) when
    there is nothing to hold out."""
    from sklearn.model_selection import StratifiedKFold

    counts = Counter(y.tolist())
    folds = min(CALIBRATION_FOLDS, max(counts.values()))
    if folds < 2:
        return 1.0, 0, 0.0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    logits, truth, similarity = [], [], []
    with warnings.catch_warnings():
        # "The least populated class has only 1 member": such examples are simply never held out usefully.
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(x, y))
    if len(y) >= ONE_FOLD_FROM:
        splits = splits[:1]
    for train, held in splits:
        if len(set(y[train].tolist())) < 2:
            continue
        coef, intercept = _weights(_fit(x[train], y[train]), classes)
        known = np.isin(y[held], y[train])  # a held-out example of a class the fold never saw says nothing of scale
        logits.append(x[held][known] @ coef.T + intercept)
        truth.append(np.searchsorted(classes, y[held][known]))
        similarity.append(_nearest(x[held][known], _neighbours(x[train], y[train])))
    if not logits or sum(len(t) for t in truth) < 2:
        return 1.0, 0, 0.0
    all_truth = np.concatenate(truth)
    floor = float(np.percentile(np.concatenate(similarity), SIMILARITY_PERCENTILE))
    return fit_temperature(np.concatenate(logits), all_truth), len(all_truth), floor


class IntentRouter:
    """Intent classifier over a fixed embedding; probabilities are calibrated and sum to 1."""

    def __init__(self, classes: Sequence[str], coef: np.ndarray, intercept: np.ndarray, temperature: float,
                 embed: Embed, probe: np.ndarray | None = None, calibrated_on: int = 0, trained_on: int = 0,
                 examples: np.ndarray | None = None, min_similarity: float = 0.0) -> None:
        self.classes = [str(c) for c in classes]
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.temperature = float(temperature)
        self.embed = embed
        self.probe = probe
        self.calibrated_on = calibrated_on  # held-out examples the temperature was fitted on (0: not calibrated)
        self.trained_on = trained_on
        # float16 on disk, float32 here: route() compares every message with all of them.
        self.examples = np.zeros((0, self.coef.shape[1]), np.float32) if examples is None else \
            np.asarray(examples, dtype=np.float32)
        self.min_similarity = float(min_similarity)  # nearest-example similarity under which a text is out of scope

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], embed: Embed) -> IntentRouter:
        """Embed texts and fit the classifier and its temperature; needs at least two labels."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if len(set(labels)) < 2:
            raise ValueError("an intent router needs examples of at least two intents")
        return cls.fit(_embed(embed, texts), labels, embed)

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: Sequence[str], embed: Embed) -> IntentRouter:
        """train() on vectors already embedded with embed (the benchmark embeds once, fits many times)."""
        x = np.asarray(vectors, dtype=np.float32)
        y = np.asarray([str(label) for label in labels])
        classes = np.unique(y)
        temperature, calibrated_on, floor = _calibrate(x, y, classes)
        coef, intercept = _weights(_fit(x, y), classes)
        probe = _embed(embed, [PROBE])[0]
        return cls(classes.tolist(), coef, intercept, temperature, embed, probe, calibrated_on, len(y),
                   _neighbours(x, y), floor)

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.coef.shape[1]:
            raise ValueError(f"expected vectors of dimension {self.coef.shape[1]}, got shape {vectors.shape}")
        return vectors @ self.coef.T + self.intercept

    def proba_of_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return _softmax(self.logits(vectors).astype(np.float64) / self.temperature)

    def similarity_of_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return _nearest(np.asarray(vectors, dtype=np.float32), self.examples)

    def scores(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(classes, probabilities, nearest-example similarity per text), embedding the texts once."""
        if not texts:
            return list(self.classes), np.zeros((0, len(self.classes))), np.zeros(0)
        vectors = _embed(self.embed, texts)
        return list(self.classes), self.proba_of_vectors(vectors), self.similarity_of_vectors(vectors)

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(classes, probabilities): one row per text, one column per class, rows sum to 1."""
        if not texts:
            return list(self.classes), np.zeros((0, len(self.classes)))
        return list(self.classes), self.proba_of_vectors(_embed(self.embed, texts))

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """The most probable label of each text, with its calibrated probability."""
        classes, probabilities = self.predict_proba(texts)
        best = probabilities.argmax(axis=1) if len(probabilities) else []
        return [(classes[i], float(row[i])) for i, row in zip(best, probabilities)]

    def save(self, path: Path) -> None:
        """Write the model to path (.npz, no pickle), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez(f, format=np.array(FORMAT), classes=np.array(self.classes, dtype=np.str_), coef=self.coef,
                     intercept=self.intercept, temperature=np.array(self.temperature),
                     probe=self.probe if self.probe is not None else np.zeros(0, np.float32),
                     calibrated_on=np.array(self.calibrated_on), trained_on=np.array(self.trained_on),
                     examples=self.examples.astype(np.float16), min_similarity=np.array(self.min_similarity))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, embed: Embed) -> IntentRouter:
        """Read a saved model; refuses one trained with a different embedding function."""
        with np.load(Path(path), allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"{path}: router format {int(data['format'])}, this code reads {FORMAT}")
            router = cls(data["classes"].tolist(), data["coef"], data["intercept"], float(data["temperature"]), embed,
                         data["probe"] if data["probe"].size else None, int(data["calibrated_on"]),
                         int(data["trained_on"]), data["examples"], float(data["min_similarity"]))
        if router.probe is not None:
            now = _embed(embed, [PROBE])[0]
            if now.shape != router.probe.shape or float(now @ router.probe) < 0.999:
                raise ValueError(f"{path} was trained with a different embedding; retrain the router")
        return router


def training_set(intents: Sequence[IntentSpec], past: Sequence[tuple[str, str]] = ()) -> tuple[list[str], list[str]]:
    """(texts, labels) from each intent's description and examples, plus past tickets labelled with a known intent.

    Past tickets whose label is not a configured intent are left out: the router only ever answers
    with a name from config.yaml. Empty texts and exact duplicates (same text, same label) are dropped.
    """
    names = {intent.name for intent in intents}
    pairs: list[tuple[str, str]] = []
    for intent in intents:
        for text in (intent.description, *intent.examples):
            pairs.append((text, intent.name))
    pairs.extend((text, label) for text, label in past if label in names)
    seen: set[tuple[str, str]] = set()
    texts, labels = [], []
    for text, label in pairs:
        text = (text or "").strip()
        if text and (text, label) not in seen:
            seen.add((text, label))
            texts.append(text)
            labels.append(label)
    return texts, labels
