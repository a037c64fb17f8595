import socket

import numpy as np
import pytest

from knowledge.embeddings import HashEmbedding, MiniLMInt8, MultilingualE5, build_embedding


def cos(a, b) -> float:
    return float(np.dot(a, b))


def test_hash_embedding_is_deterministic_unit_length_and_word_sensitive():
    ef = build_embedding("hash")
    refund, policy, address, empty = ef(["How do I get a refund?", "Refund policy: money back within 30 days",
                                         "Change your delivery address", ""])
    assert np.array_equal(refund, HashEmbedding()(["How do I get a refund?"])[0])
    assert all(v.shape == (384,) and abs(np.linalg.norm(v) - 1) < 1e-6 for v in (refund, policy, address, empty))
    assert cos(refund, policy) > cos(refund, address)
    assert HashEmbedding.build_from_config(ef.get_config()).get_config() == {"dim": 384}


def test_minilm_int8_runs_offline_and_ranks_by_meaning(monkeypatch):
    """The one test that loads the real model (about 1 s)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("the embedding tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)

    ef = build_embedding("minilm-int8", threads=1)
    assert isinstance(ef, MiniLMInt8) and ef.default_space() == "cosine"
    long_text = "Our refund policy, in full. " * 80  # over 256 tokens: truncated, not an error
    query, refund, address, long_vec = ef(["How do I get a refund?", "Refund policy: money back within 30 days",
                                           "Change your delivery address", long_text])
    assert cos(query, refund) > cos(query, address) + 0.2
    for v in (query, refund, address, long_vec):
        assert v.shape == (384,) and v.dtype == np.float32
        assert abs(np.linalg.norm(v) - 1) < 1e-5
    # Padding to the batch's longest text must not change a vector: the mask keeps pads out of the mean.
    alone = ef(["How do I get a refund?"])[0]
    assert np.allclose(alone, query, atol=1e-5)
    # Chroma rebuilds the function from the stored config in other processes.
    assert MiniLMInt8.build_from_config(ef.get_config()).get_config() == ef.get_config()


def test_multilingual_e5_runs_offline_and_matches_meaning_across_languages(monkeypatch):
    """The default model: a German question is nearer the English answer than an unrelated English text."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("the embedding tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)

    ef = build_embedding("multilingual-e5-small", threads=1)
    assert isinstance(ef, MultilingualE5) and ef.default_space() == "cosine"
    (german,) = ef.embed_query(["Wann bekomme ich meine Rückerstattung?"])
    (swedish,) = ef.embed_query(["När får jag tillbaka mina pengar för returen?"])
    refund, password = ef(["Refunds are paid back to your card within 5 days of the return",
                           "Reset your password from the sign-in page"])
    for query in (german, swedish):
        assert query.shape == (384,) and query.dtype == np.float32 and abs(np.linalg.norm(query) - 1) < 1e-5
        assert cos(query, refund) > cos(query, password)
    # Questions and documents are embedded with different prefixes: the same text gives two vectors.
    assert not np.allclose(ef.embed_query(["refund"])[0], ef(["refund"])[0])
    assert MultilingualE5.build_from_config(ef.get_config()).get_config() == ef.get_config()


def test_validate_config_update_refuses_a_different_model():
    with pytest.raises(ValueError, match="invalidates stored vectors"):
        MiniLMInt8().validate_config_update({"model": "a", "max_length": 256}, {"model": "a", "max_length": 128})
