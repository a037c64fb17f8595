"""Training the intent classifier: the training set from config, the fit, and its calibration.

Calibration is temperature scaling: the logits of a multinomial logistic regression are divided by one
number T fitted on out-of-fold predictions (cross-validation over the training set). It leaves the
ranking alone and fixes the scale: with ten examples per intent the raw model is far too unsure (top
probability 0.55 on average where it is right 85% of the time); with ten thousand it is too sure.
The same held-out predictions give the out-of-scope floor: min_similarity is the 1st percentile of
held-out examples' similarity to their nearest training example (0.7% of StackFAQ left, 0.8% of
Banking77's test set lost, with MiniLM).
"""
from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from drafting.intents.classifier import PROBE, Embed, IntentRouter, embed_texts, nearest

if TYPE_CHECKING:
    from drafting.intents.routing import IntentSpec

C = 10.0  # inverse L2 strength; best of 1/10/30/100 on Banking77 full and 10-shot (benchmarks/router.py, MiniLM)
# e5's vectors sit close together (cosines near 1), so its weights must be larger to separate them: on Banking77
# full data C=10 gave 90.7%, C=100 92.3%, C=1000 91.4% (benchmarks/router.py --embedding multilingual-e5-small).
C_BY_EMBEDDING = {"multilingual-e5-small": 100.0}


def c_for(embedding: str) -> float:
    """The regularisation measured best for the embedding called `embedding` (knowledge.embedding)."""
    return C_BY_EMBEDDING.get(embedding, C)
CALIBRATION_FOLDS = 5
ONE_FOLD_FROM = 2000  # from this many examples one held-out fifth is enough to fit one number, and 5x cheaper
SIMILARITY_PERCENTILE = 1.0  # of held-out examples' nearest-example similarity: the in-scope floor
NEIGHBOURS_PER_CLASS = 300  # training vectors kept per intent for the similarity check (memory bound)
_MISSING = -1e4  # logit of a class absent from a fold's training part


def _fit(x: np.ndarray, y: np.ndarray, c: float = C):
    from sklearn.linear_model import LogisticRegression

    # lbfgs fits the multinomial (softmax) model; max_iter is far above what Banking77 needs (~60).
    return LogisticRegression(C=c, max_iter=2000).fit(x, y)


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


def _neighbours(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """At most NEIGHBOURS_PER_CLASS vectors per class (a fixed random subset), rounded through float16 as stored."""
    rng = np.random.default_rng(0)
    keep = [rng.permutation(np.flatnonzero(y == c))[:NEIGHBOURS_PER_CLASS] for c in np.unique(y)]
    return x[np.sort(np.concatenate(keep))].astype(np.float16).astype(np.float32)


def _calibrate(x: np.ndarray, y: np.ndarray, classes: np.ndarray, c: float = C) -> tuple[float, int, float]:
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
    for train_part, held in splits:
        if len(set(y[train_part].tolist())) < 2:
            continue
        coef, intercept = _weights(_fit(x[train_part], y[train_part], c), classes)
        known = np.isin(y[held], y[train_part])  # a held-out example of a class the fold never saw says nothing
        logits.append(x[held][known] @ coef.T + intercept)
        truth.append(np.searchsorted(classes, y[held][known]))
        similarity.append(nearest(x[held][known], _neighbours(x[train_part], y[train_part])))
    if not logits or sum(len(t) for t in truth) < 2:
        return 1.0, 0, 0.0
    all_truth = np.concatenate(truth)
    floor = float(np.percentile(np.concatenate(similarity), SIMILARITY_PERCENTILE))
    return fit_temperature(np.concatenate(logits), all_truth), len(all_truth), floor


def train(texts: Sequence[str], labels: Sequence[str], embed: Embed, c: float = C) -> IntentRouter:
    """Embed texts and fit the classifier and its temperature; needs at least two labels. c: see c_for()."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if len(set(labels)) < 2:
        raise ValueError("an intent router needs examples of at least two intents")
    return fit(embed_texts(embed, texts), labels, embed, c)


def fit(vectors: np.ndarray, labels: Sequence[str], embed: Embed, c: float = C) -> IntentRouter:
    """train() on vectors already embedded with embed (the benchmark embeds once, fits many times)."""
    x = np.asarray(vectors, dtype=np.float32)
    y = np.asarray([str(label) for label in labels])
    classes = np.unique(y)
    temperature, calibrated_on, floor = _calibrate(x, y, classes, c)
    coef, intercept = _weights(_fit(x, y, c), classes)
    probe = embed_texts(embed, [PROBE])[0]
    return IntentRouter(classes.tolist(), coef, intercept, temperature, embed, probe, calibrated_on, len(y),
                        _neighbours(x, y), floor)


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
