"""The intent classifier at run time: calibrated probabilities and nearest-example similarity per text.

Logistic regression on sentence embeddings (fitted in training.py, stored by persistence.py). A
probability here means what it says: of the messages given 0.8, about 80% are right, so a threshold in
config is a measured trade of coverage for accuracy (benchmarks/router.py prints the curve).

Out of scope: a softmax over known intents is sure of something even for a question no intent covers
(on Banking77, 30% of StackFAQ's web-app questions got p >= 0.5). So the classifier also keeps some
training vectors and reports each text's cosine similarity to its nearest training example; under
min_similarity (fitted on held-out examples) the text is unlike anything it was taught, and routing
calls it unknown.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]

# Embedded at training and again at load: a different vector means a different embedding function.
PROBE = "deskdraft router probe: where is my order and when will my refund arrive?"


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def embed_texts(embed: Embed, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embed(list(texts)), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise ValueError(f"embedding returned shape {vectors.shape} for {len(texts)} texts")
    return vectors


def nearest(vectors: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Cosine similarity of each vector to its nearest example (both L2-normalised)."""
    if len(examples) == 0:
        return np.ones(len(vectors))
    best = np.full(len(vectors), -1.0)
    for start in range(0, len(examples), 4096):  # bounded memory for big training sets
        block = vectors @ examples[start:start + 4096].T
        best = np.maximum(best, block.max(axis=1))
    return best


class IntentRouter:
    """Intent classifier over a fixed embedding; probabilities are calibrated and sum to 1."""

    def __init__(self, classes: Sequence[str], coef: np.ndarray, intercept: np.ndarray, temperature: float,
                 embed: Embed, probe: np.ndarray | None = None, calibrated_on: int = 0, trained_on: int = 0,
                 examples: np.ndarray | None = None, min_similarity: float = 0.0, embedding_name: str = "") -> None:
        self.classes = [str(c) for c in classes]
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.temperature = float(temperature)
        self.embed = embed
        self.probe = probe
        self.calibrated_on = calibrated_on  # held-out examples the temperature was fitted on (0: not calibrated)
        self.trained_on = trained_on
        # float16 on disk, float32 here: scores() compares every message with all of them.
        self.examples = np.zeros((0, self.coef.shape[1]), np.float32) if examples is None else \
            np.asarray(examples, dtype=np.float32)
        self.min_similarity = float(min_similarity)  # nearest-example similarity under which a text is out of scope
        self.embedding_name = embedding_name  # the knowledge.embedding `embed` is the query side of ("": unknown)

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.coef.shape[1]:
            raise ValueError(f"expected vectors of dimension {self.coef.shape[1]}, got shape {vectors.shape}")
        return vectors @ self.coef.T + self.intercept

    def proba_of_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return softmax(self.logits(vectors).astype(np.float64) / self.temperature)

    def similarity_of_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return nearest(np.asarray(vectors, dtype=np.float32), self.examples)

    def scores_of_vectors(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """scores() for texts the caller already embedded with this router's embedding."""
        vectors = np.asarray(vectors, dtype=np.float32)
        return list(self.classes), self.proba_of_vectors(vectors), self.similarity_of_vectors(vectors)

    def scores(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(classes, probabilities, nearest-example similarity per text), embedding the texts once."""
        if not texts:
            return list(self.classes), np.zeros((0, len(self.classes))), np.zeros(0)
        return self.scores_of_vectors(embed_texts(self.embed, texts))

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(classes, probabilities): one row per text, one column per class, rows sum to 1."""
        if not texts:
            return list(self.classes), np.zeros((0, len(self.classes)))
        return list(self.classes), self.proba_of_vectors(embed_texts(self.embed, texts))

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """The most probable label of each text, with its calibrated probability."""
        classes, probabilities = self.predict_proba(texts)
        best = probabilities.argmax(axis=1) if len(probabilities) else []
        return [(classes[i], float(row[i])) for i, row in zip(best, probabilities, strict=True)]
