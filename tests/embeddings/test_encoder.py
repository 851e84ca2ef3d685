"""Encoders: deterministic, unit-length, and similar texts get similar vectors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from reelcart.embeddings.encoder import HashingEncoder, SentenceEncoder, load_encoder


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_hashing_encoder_is_deterministic_across_instances() -> None:
    texts = ["Trail running shoes #running", "Espresso beans (coffee)"]
    first = HashingEncoder(64).encode(texts)
    second = HashingEncoder(64).encode(texts)
    assert first.dtype == np.float32
    assert first.shape == (2, 64)
    np.testing.assert_array_equal(first, second)


def test_hashing_encoder_rows_are_unit_length_and_empty_text_is_zero() -> None:
    vectors = HashingEncoder(32).encode(["red mug", "", "the of and"])
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-6)
    assert not vectors[1].any()
    assert not vectors[2].any()  # stopwords only


def test_hashing_encoder_orders_by_shared_words() -> None:
    query, near, far = HashingEncoder(256).encode(
        ["running shoes for the trail", "trail running shoes, #running", "espresso coffee beans"]
    )
    assert _cosine(query, near) > 0.5
    assert _cosine(query, near) > _cosine(query, far) + 0.3


def test_hashing_encoder_folds_plurals_and_hashtags() -> None:
    shoe, shoes, tag = HashingEncoder(128).encode(["shoe", "shoes", "#shoes"])
    assert _cosine(shoe, shoes) == pytest.approx(1.0)
    assert _cosine(shoe, tag) > 0.5


def test_hashing_encoder_empty_call() -> None:
    assert HashingEncoder(16).encode([]).shape == (0, 16)


def test_load_encoder_fake_needs_no_model() -> None:
    encoder = load_encoder(None, fake=True)
    assert isinstance(encoder, HashingEncoder)
    assert encoder.encode(["x"]).shape == (1, encoder.dim)


@pytest.mark.model
def test_sentence_encoder_loads_offline_and_ranks_by_meaning() -> None:
    encoder = SentenceEncoder(None)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert encoder.name == "all-MiniLM-L6-v2"
    assert encoder.dim == 384
    texts = ["running shoes", "trail sneakers", "espresso beans", "running shoes"]
    shoes, sneakers, beans, again = encoder.encode(texts)
    assert shoes.dtype == np.float32
    assert np.linalg.norm(shoes) == pytest.approx(1.0, abs=1e-5)
    assert _cosine(shoes, sneakers) > _cosine(shoes, beans) + 0.2
    # Duplicates inside one call share their row.
    np.testing.assert_array_equal(shoes, again)
