"""The embedding pipeline encodes each product text once per model, and keeps the index in
step with product status."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from reelcart.domain import Product, ProductStatus
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.embeddings.index import VectorIndex
from reelcart.embeddings.pipeline import ProductEmbedder, text_hash
from reelcart.storage.vectors import get_vectors
from reelcart.storage.worker import DatabaseWorker

from .conftest import CountingEncoder


def _embedder(encoder: HashingEncoder, worker: DatabaseWorker, **kwargs: int) -> ProductEmbedder:
    return ProductEmbedder(encoder, worker, VectorIndex(encoder.dim), **kwargs)


def test_second_embed_of_the_same_products_encodes_nothing(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    embedder = _embedder(encoder, worker)
    assert embedder.embed(products) == len(products)
    calls = encoder.calls
    assert embedder.embed(products) == 0
    assert encoder.calls == calls
    # A fresh process (new index, same database) re-encodes nothing either.
    restarted = _embedder(encoder, worker)
    assert restarted.embed(products) == 0
    assert encoder.calls == calls
    assert restarted.index.ids().tolist() == sorted(p.id for p in products)


def test_vectors_are_persisted_with_model_and_text_hash(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    embedder = _embedder(encoder, worker)
    embedder.embed(products)
    stored = worker.call(get_vectors, encoder.name, [p.id for p in products])
    for product in products:
        digest, vector = stored[product.id]
        assert digest == text_hash(product.embedding_text())
        indexed = embedder.index.vector(product.id)
        assert indexed is not None
        np.testing.assert_array_equal(vector, indexed)
    # Another model's name finds nothing to reuse.
    assert worker.call(get_vectors, "other-model", [products[0].id]) == {}


def test_changed_text_is_the_only_one_re_encoded(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    embedder = _embedder(encoder, worker)
    embedder.embed(products)
    encoder.texts.clear()
    edited = replace(products[0], description="Now with a waterproof membrane")
    changed = [edited, *products[1:]]
    assert embedder.embed(changed) == 1
    assert encoder.texts == [edited.embedding_text()]
    got = embedder.index.vector(edited.id)
    assert got is not None
    np.testing.assert_allclose(got, encoder.encode([edited.embedding_text()])[0])


def test_progress_is_reported_from_the_start_then_per_chunk(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    seen: list[tuple[int, int]] = []
    _embedder(encoder, worker, chunk_size=4).embed(
        products, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(0, 6), (4, 6), (6, 6)]
    seen.clear()
    _embedder(encoder, worker, chunk_size=4).embed(
        products, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == []  # nothing left to encode: no progress to show


def test_identical_texts_are_encoded_once(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    twin = replace(products[1], id=products[1].id, title=products[0].title,
                   description=products[0].description, hashtags=products[0].hashtags,
                   category=products[0].category)  # fmt: skip
    assert _embedder(encoder, worker).embed([products[0], twin]) == 2
    assert encoder.texts == [products[0].embedding_text()]


def test_paused_products_leave_the_index_and_come_back_without_encoding(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    embedder = _embedder(encoder, worker)
    embedder.embed(products)
    paused = replace(products[0], status=ProductStatus.PAUSED)
    deleted = replace(products[1], status=ProductStatus.DELETED)
    calls = encoder.calls
    assert embedder.embed([paused, deleted]) == 0
    assert paused.id not in embedder.index
    assert deleted.id not in embedder.index
    assert len(embedder.index) == len(products) - 2

    assert embedder.embed([products[0]]) == 0
    assert products[0].id in embedder.index
    assert encoder.calls == calls

    assert embedder.remove([products[0].id, 12345]) == 1
    assert products[0].id not in embedder.index


def test_paused_product_is_still_encoded_for_later(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    embedder = _embedder(encoder, worker)
    paused = replace(products[0], status=ProductStatus.PAUSED)
    assert embedder.embed([paused]) == 1
    assert paused.id not in embedder.index
    assert embedder.embed([products[0]]) == 0
    assert products[0].id in embedder.index


def test_vectors_for_then_apply_is_embed_in_two_steps(
    worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    embedder = _embedder(encoder, worker)
    vectors = embedder.vectors_for(products)
    assert len(embedder.index) == 0  # encoding leaves every index alone
    other = VectorIndex(encoder.dim)
    ProductEmbedder.apply(other, vectors)
    assert other.ids().tolist() == sorted(p.id for p in products)
    assert vectors.encoded_count == len(products)
    # The second time round the vectors come from the database.
    again = embedder.vectors_for(products)
    assert again.encoded_count == 0 and len(again.reused_ids) == len(products)
