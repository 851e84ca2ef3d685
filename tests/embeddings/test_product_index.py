"""What every ProductIndex promises, checked on ExactIndex, IvfIndex and VectorIndex alike,
and the IVF index's recall@10 against the exact one on the same vectors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from reelcart.embeddings.exact import ExactIndex
from reelcart.embeddings.index import VectorIndex
from reelcart.embeddings.ivf import IvfIndex
from reelcart.embeddings.product_index import ProductIndex

DIM = 16
#: Catalog size for the contract: past VectorIndex's threshold below, so it turns IVF.
SIZE = 2_000


def _clustered(rng: np.random.Generator, n: int, dim: int, clusters: int) -> np.ndarray:
    """Unit vectors around ``clusters`` random centres: product texts are clustered too."""
    centres = rng.normal(size=(clusters, dim))
    matrix = centres[rng.integers(0, clusters, n)] + rng.normal(scale=0.6, size=(n, dim))
    matrix = matrix.astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _near(rng: np.random.Generator, matrix: np.ndarray, n: int) -> np.ndarray:
    """``n`` unit vectors close to products of ``matrix`` (a taste near what one liked)."""
    dim = matrix.shape[1]
    near = matrix[rng.integers(0, len(matrix), n)] + rng.normal(
        scale=0.5 / np.sqrt(dim), size=(n, dim)
    )
    return (near / np.linalg.norm(near, axis=1, keepdims=True)).astype(np.float32)


class Kind(NamedTuple):
    """One implementation: how to make an empty one for a catalog, and how to read its file."""

    make: Callable[[np.ndarray], ProductIndex]
    load: Callable[[Path, int], ProductIndex]


KINDS = {
    "exact": Kind(lambda catalog: ExactIndex(DIM), ExactIndex.load),
    # Cells trained on the catalog's own kind of vectors, as VectorIndex trains them.
    "ivf": Kind(IvfIndex.train, IvfIndex.load),
    "switching": Kind(
        lambda catalog: VectorIndex(DIM, approximate_threshold=500),
        lambda path, dim: VectorIndex.load(path, dim, approximate_threshold=500),
    ),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


@pytest.fixture
def catalog() -> np.ndarray:
    return _clustered(np.random.default_rng(31), SIZE, DIM, 30)


@pytest.fixture
def index(kind: Kind, catalog: np.ndarray) -> ProductIndex:
    """The catalog, product ``n`` holding row ``n - 1``."""
    made = kind.make(catalog)
    made.upsert(np.arange(1, SIZE + 1), catalog)
    return made


def test_every_product_added_is_found_by_its_own_vector(
    index: ProductIndex, catalog: np.ndarray
) -> None:
    assert len(index) == SIZE
    assert index.ids().tolist() == list(range(1, SIZE + 1))
    assert 1 in index and SIZE in index and SIZE + 1 not in index
    _, found = index.search(catalog, 1)
    np.testing.assert_array_equal(found[:, 0], np.arange(1, SIZE + 1))
    np.testing.assert_array_equal(index.vector(7), catalog[6])


def test_removed_products_are_never_returned(index: ProductIndex, catalog: np.ndarray) -> None:
    gone = list(range(1, SIZE + 1, 3))
    version = index.version
    assert index.remove([*gone, 10**9]) == len(gone)  # the unknown id is ignored
    assert index.version != version
    assert index.remove(gone) == 0
    assert len(index) == SIZE - len(gone)
    assert not set(gone) & set(index.ids().tolist())
    assert index.vector(gone[0]) is None and gone[0] not in index
    # Their own vectors, and a k as large as the catalog: still never returned.
    _, found = index.search(catalog[np.array(gone[:50]) - 1], SIZE)
    assert not set(gone) & set(found.ravel().tolist())
    assert (found >= 0).sum(axis=1).tolist() == [SIZE - len(gone)] * 50


def test_an_upsert_moves_a_product_to_its_new_vector(
    index: ProductIndex, catalog: np.ndarray
) -> None:
    moved = _near(np.random.default_rng(32), catalog, 20)
    ids = np.arange(1, 21)
    version = index.version
    index.upsert(ids, moved)
    assert index.version != version
    assert len(index) == SIZE
    _, found = index.search(moved, 1)
    np.testing.assert_array_equal(found[:, 0], ids)
    got_ids, got = index.vectors(ids)
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(got, moved)
    # Nothing is found where a moved product was (unless it moved next to it).
    _, found = index.search(catalog[:20], 1)
    for old, (pid,) in zip(range(1, 21), found.tolist(), strict=True):
        assert pid != old or np.dot(moved[old - 1], catalog[old - 1]) > 0.99


def test_search_gives_k_distinct_results_best_first_padded_only_past_the_catalog(
    index: ProductIndex, catalog: np.ndarray
) -> None:
    queries = _near(np.random.default_rng(33), catalog, 5)
    for k in (1, 10, 300):
        scores, ids = index.search(queries, k)
        assert scores.shape == ids.shape == (5, k)
        assert (ids >= 1).all()
        assert all(len(set(row)) == k for row in ids.tolist())
        assert (np.diff(scores, axis=1) <= 1e-6).all()
        # The scores are the products' exact inner products.
        want = np.einsum("qd,qkd->qk", queries, catalog[ids - 1])
        np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-5)
    scores, ids = index.search(queries[0], SIZE + 5)
    assert sorted(ids[0, :SIZE].tolist()) == list(range(1, SIZE + 1))
    assert ids[0, SIZE:].tolist() == [-1] * 5 and np.isneginf(scores[0, SIZE:]).all()
    with pytest.raises(ValueError):
        index.search(queries, 0)
    with pytest.raises(ValueError):
        index.search(np.zeros(DIM + 1, dtype=np.float32), 3)


def test_search_skips_the_ids_it_is_told_to_exclude(
    index: ProductIndex, catalog: np.ndarray
) -> None:
    queries = catalog[:30]
    excluded = np.arange(1, 31)  # each query's own product first of all
    _, found = index.search(queries, 10, exclude=excluded)
    assert not set(excluded.tolist()) & set(found.ravel().tolist())
    assert (found >= 1).all()
    # Excluding all but a handful: those, then padding.
    keep = [5, 500, 1_500]
    rest = np.setdiff1d(np.arange(1, SIZE + 1), keep)
    _, found = index.search(queries[0], 10, exclude=rest)
    assert sorted(found[0, :3].tolist()) == keep
    assert found[0, 3:].tolist() == [-1] * 7


def test_an_empty_index_pads_everything(kind: Kind, catalog: np.ndarray) -> None:
    empty = kind.make(catalog)
    scores, ids = empty.search(catalog[:2], 3)
    assert ids.tolist() == [[-1] * 3] * 2 and np.isneginf(scores).all()
    assert len(empty) == 0 and empty.ids().tolist() == []
    assert empty.remove([1]) == 0


def test_a_saved_index_loads_as_it_was_and_keeps_changing(
    kind: Kind, index: ProductIndex, catalog: np.ndarray, tmp_path: Path
) -> None:
    index.remove([3, 4])
    path = tmp_path / "products.faiss"
    index.save(path)
    loaded = kind.load(path, DIM)
    assert type(loaded) is type(index)
    np.testing.assert_array_equal(loaded.ids(), index.ids())
    queries = _near(np.random.default_rng(34), catalog, 20)
    for got, want in zip(loaded.search(queries, 10), index.search(queries, 10), strict=True):
        np.testing.assert_array_equal(got, want)
    loaded.upsert([3], catalog[2:3])
    assert 3 in loaded and len(loaded) == SIZE - 1
    snapshot = loaded.snapshot()
    assert snapshot.ids.tolist() == loaded.ids().tolist()
    np.testing.assert_array_equal(snapshot.vectors, loaded.items()[1])


# -- IVF against exact, on the same vectors ----------------------------------------------


def _recall(exact: ProductIndex, approximate: ProductIndex, queries: np.ndarray) -> float:
    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)
    return float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)]))


def test_ivf_recall_at_10_against_the_exact_index_on_the_same_vectors() -> None:
    rng = np.random.default_rng(35)
    dim, n = 48, 12_000
    matrix = _clustered(rng, n, dim, 200)
    ids = np.arange(1, n + 1)
    exact = ExactIndex(dim)
    exact.upsert(ids, matrix)
    ivf = IvfIndex.build(ids, matrix.copy())  # build keeps the matrix it is given
    assert ivf.nprobe < ivf.nlist  # a real approximation: not every cell is scanned
    # Queries near products (a taste is a mix of liked products), and pure noise.
    queries = np.vstack([_near(rng, matrix, 300), rng.normal(size=(100, dim))]).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    assert _recall(exact, ivf, queries) >= 0.95

    # The same edits to both: recall holds in the cells trained before them.
    fresh = _near(rng, matrix, 800)
    for index in (exact, ivf):
        index.upsert(ids[:500], fresh[:500])
        index.remove(ids[500:1_500])
        index.upsert(np.arange(n + 1, n + 301), fresh[500:])
    assert len(ivf) == len(exact) == n - 1_000 + 300
    assert _recall(exact, ivf, queries) >= 0.95
