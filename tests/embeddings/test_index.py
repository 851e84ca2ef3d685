"""The FAISS index against a numpy brute-force answer, its file, and its repair on start."""

from __future__ import annotations

import threading
from pathlib import Path

import faiss
import numpy as np
import pytest

from reelcart.domain import Product, ProductStatus
from reelcart.embeddings import index as index_module
from reelcart.embeddings.index import VectorIndex
from reelcart.embeddings.index_file import IndexFileError
from reelcart.embeddings.ivf import IvfIndex
from reelcart.embeddings.pipeline import ProductEmbedder
from reelcart.storage.merchants import merchant_by_name
from reelcart.storage.products import product_ids_by_sku, set_product_status, upsert_rows
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

from .conftest import CountingEncoder

DIM = 16


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    matrix = rng.normal(size=(n, DIM)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _brute_force(
    truth: dict[int, np.ndarray], queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array(sorted(truth), dtype=np.int64)
    matrix = np.vstack([truth[i] for i in ids])
    scores = queries @ matrix.T
    order = np.argsort(-scores, axis=1)[:, :k]
    return np.take_along_axis(scores, order, axis=1), ids[order]


def _check_against(
    index: VectorIndex, truth: dict[int, np.ndarray], rng: np.random.Generator
) -> None:
    queries = _unit(rng, 7)
    scores, ids = index.search(queries, 10)
    want_scores, want_ids = _brute_force(truth, queries, 10)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
    assert len(index) == len(truth)
    np.testing.assert_array_equal(index.ids(), np.array(sorted(truth)))


def test_upsert_update_remove_search_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex(DIM)
    ids = rng.choice(10_000, size=200, replace=False)
    vectors = _unit(rng, 200)
    index.upsert(ids, vectors)
    truth = {int(i): v for i, v in zip(ids, vectors, strict=True)}
    _check_against(index, truth, rng)

    # Replace 50 vectors (ids already present) and add 20 new ones in one call.
    changed = np.concatenate([ids[:50], rng.choice(np.arange(20_000, 30_000), 20, replace=False)])
    new_vectors = _unit(rng, len(changed))
    index.upsert(changed, new_vectors)
    truth.update({int(i): v for i, v in zip(changed, new_vectors, strict=True)})
    _check_against(index, truth, rng)

    gone = [int(i) for i in ids[50:120]] + [99_999]  # one unknown id, ignored
    assert index.remove(gone) == 70
    for pid in gone:
        truth.pop(pid, None)
    _check_against(index, truth, rng)
    assert ids[60] not in index
    assert int(ids[0]) in index


def test_search_can_exclude_ids_inside_the_scan() -> None:
    rng = np.random.default_rng(10)
    index = VectorIndex(DIM)
    ids = np.arange(1, 301)
    vectors = _unit(rng, 300)
    index.upsert(ids, vectors)
    queries = _unit(rng, 3)
    banned = set(rng.choice(ids, 150, replace=False).tolist())
    truth = {int(i): v for i, v in zip(ids, vectors, strict=True) if int(i) not in banned}
    scores, got = index.search(queries, 10, exclude=sorted(banned))
    want_scores, want_ids = _brute_force(truth, queries, 10)
    np.testing.assert_array_equal(got, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
    _, all_but_two = index.search(queries[0], 300, exclude=ids[2:])
    assert sorted(all_but_two[0, :2].tolist()) == [1, 2]
    assert (all_but_two[0, 2:] == -1).all()


def test_version_changes_with_every_change() -> None:
    rng = np.random.default_rng(11)
    index = VectorIndex(DIM)
    versions = [index.version]
    index.upsert([1, 2], _unit(rng, 2))
    versions.append(index.version)
    index.upsert([1], _unit(rng, 1))
    versions.append(index.version)
    index.remove([2])
    versions.append(index.version)
    index.remove([2])  # nothing to remove: nothing changed
    assert index.version == versions[-1]
    assert len(set(versions)) == 4


def test_vector_gives_back_the_latest_and_none_for_unknown() -> None:
    rng = np.random.default_rng(4)
    index = VectorIndex(DIM)
    first, second = _unit(rng, 2)
    index.upsert([5], first[None, :])
    index.upsert([5], second[None, :])
    got = index.vector(5)
    assert got is not None
    np.testing.assert_array_equal(got, second)
    assert index.vector(6) is None
    assert len(index) == 1


def test_vectors_gives_back_the_indexed_ones_in_the_order_asked() -> None:
    rng = np.random.default_rng(8)
    index = VectorIndex(DIM)
    rows = _unit(rng, 4)
    index.upsert([10, 20, 30, 40], rows)
    index.remove([30])
    ids, matrix = index.vectors([40, 99, 10, 30, 20])
    assert ids.tolist() == [40, 10, 20]
    np.testing.assert_array_equal(matrix, rows[[3, 0, 1]])
    ids, matrix = index.vectors([])
    assert ids.tolist() == []
    assert matrix.shape == (0, DIM)


@pytest.mark.parametrize("top", [300, 10**12], ids=["dense", "sparse"])
def test_items_and_ids_come_in_ascending_order_with_their_vectors(top: int) -> None:
    rng = np.random.default_rng(4)
    ids = np.array([top, 7, 150, 3, 42], dtype=np.int64)
    matrix = _unit(rng, 5)
    index = VectorIndex(DIM)
    index.upsert(ids, matrix)
    index.remove([150])
    got_ids, got = index.items()
    order = [3, 1, 4, 0]  # 3, 7, 42, top
    np.testing.assert_array_equal(got_ids, ids[order])
    np.testing.assert_array_equal(got, matrix[order])
    np.testing.assert_array_equal(index.ids(), ids[order])


def test_duplicate_ids_in_one_upsert_keep_the_last_vector() -> None:
    rng = np.random.default_rng(5)
    index = VectorIndex(DIM)
    rows = _unit(rng, 3)
    index.upsert([1, 2, 1], rows)
    assert len(index) == 2
    got = index.vector(1)
    assert got is not None
    np.testing.assert_array_equal(got, rows[2])


def test_search_pads_when_fewer_than_k_and_on_empty_index() -> None:
    rng = np.random.default_rng(6)
    index = VectorIndex(DIM)
    scores, ids = index.search(_unit(rng, 1), 4)
    assert ids.tolist() == [[-1, -1, -1, -1]]
    assert np.isneginf(scores).all()
    index.upsert([7, 8], _unit(rng, 2))
    scores, ids = index.search(_unit(rng, 1)[0], 4)
    assert sorted(ids[0, :2].tolist()) == [7, 8]
    assert ids[0, 2:].tolist() == [-1, -1]
    assert np.isneginf(scores[0, 2:]).all()


def test_bad_shapes_are_refused() -> None:
    index = VectorIndex(DIM)
    with pytest.raises(ValueError):
        index.upsert([1, 2], np.zeros((1, DIM), dtype=np.float32))
    with pytest.raises(ValueError):
        index.upsert([1], np.zeros((1, DIM + 1), dtype=np.float32))
    with pytest.raises(ValueError):
        index.search(np.zeros(DIM + 1, dtype=np.float32), 3)


def test_save_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    index = VectorIndex(DIM)
    ids = np.arange(100, 160)
    index.upsert(ids, _unit(rng, 60))
    index.remove([100, 101])
    path = tmp_path / "sub" / "products.faiss"
    index.save(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["products.faiss"]  # no temp left

    loaded = VectorIndex.load(path, DIM)
    np.testing.assert_array_equal(loaded.ids(), index.ids())
    queries = _unit(rng, 3)
    for got, want in zip(loaded.search(queries, 5), index.search(queries, 5), strict=True):
        np.testing.assert_array_equal(got, want)
    # The loaded index keeps working as an index.
    loaded.upsert([100], _unit(rng, 1))
    assert 100 in loaded and len(loaded) == 59


@pytest.mark.parametrize("threshold", [10_000, 50], ids=["exact", "ivf"])
def test_searches_go_on_while_a_save_takes_its_snapshot_and_changes_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    rng = np.random.default_rng(21)
    index = VectorIndex(DIM, approximate_threshold=threshold)
    index.upsert(np.arange(1, 201), _unit(rng, 200))
    # The snapshot is held open (at a million products it takes most of a second).
    in_snapshot, release = threading.Event(), threading.Event()
    serialize = faiss.serialize_index

    def held(faiss_index: faiss.Index) -> np.ndarray:
        in_snapshot.set()
        assert release.wait(30)
        return serialize(faiss_index)

    monkeypatch.setattr(faiss, "serialize_index", held)
    path = tmp_path / "products.faiss"
    saving = threading.Thread(target=index.save, args=(path,))
    saving.start()
    try:
        assert in_snapshot.wait(30)
        # A search (and a lookup) from another thread is answered meanwhile...
        answered: list[np.ndarray] = []
        searching = threading.Thread(
            target=lambda: answered.append(index.search(_unit(rng, 1), 5)[1][0])
        )
        searching.start()
        searching.join(30)
        assert answered and len(answered[0]) == 5
        assert index.vector(7) is not None
        # ...while a change waits for the snapshot to be taken.
        changing = threading.Thread(target=index.upsert, args=([999], _unit(rng, 1)))
        changing.start()
        changing.join(0.3)
        assert changing.is_alive()
    finally:
        release.set()
        saving.join(30)
    changing.join(30)
    assert 999 in index
    # The file holds the snapshot from before the change, whole.
    saved = VectorIndex.load(path, DIM, approximate_threshold=threshold)
    assert len(saved) == 200 and 999 not in saved


def test_load_refuses_other_sizes_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "i.faiss"
    VectorIndex(DIM).save(path)
    with pytest.raises(IndexFileError):
        VectorIndex.load(path, DIM * 2)
    path.write_bytes(b"not an index at all")
    with pytest.raises(IndexFileError):
        VectorIndex.load(path, DIM)
    # A bare FAISS file (what reelcart wrote before it kept exact vectors) is refused too:
    # the caller then rebuilds the index from the vectors stored in the database.
    faiss.write_index(faiss.IndexIDMap2(faiss.IndexFlatIP(DIM)), str(path))
    with pytest.raises(IndexFileError):
        VectorIndex.load(path, DIM)
    with pytest.raises(FileNotFoundError):
        VectorIndex.load(tmp_path / "missing.faiss", DIM)


# -- sync_index against a real SQLite file ------------------------------------------------


def _active_ids(products: list[Product]) -> list[int]:
    return sorted(p.id for p in products if p.status is ProductStatus.ACTIVE)


def test_sync_index_builds_then_trusts_a_good_file(
    tmp_path: Path, worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    path = tmp_path / "products.faiss"
    first = ProductEmbedder(encoder, worker)
    index = first.sync_index(path)
    assert index.ids().tolist() == _active_ids(products)
    assert path.exists()
    assert len(encoder.texts) == len(products)

    encoder.texts.clear()
    again = ProductEmbedder(encoder, worker).sync_index(path)
    assert again.ids().tolist() == _active_ids(products)
    assert encoder.texts == []  # restart: nothing re-encoded


def test_sync_index_repairs_a_stale_file(
    tmp_path: Path, worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    path = tmp_path / "products.faiss"
    index = ProductEmbedder(encoder, worker).sync_index(path)
    truth = {pid: index.vector(pid) for pid in _active_ids(products)}

    # The file goes stale: one product missing, one id that is no product, one wrong vector.
    missing, wrong = products[0].id, products[1].id
    index.remove([missing])
    rng = np.random.default_rng(9)
    index.upsert([9_999, wrong], _unit_dim(rng, 2, encoder.dim))
    index.save(path)
    # Meanwhile a product was paused and a new one arrived without a vector.
    worker.call(set_product_status, products[2].id, ProductStatus.PAUSED)
    new_id = worker.call(_add_product, "NEW-1")

    encoder.texts.clear()
    repaired = ProductEmbedder(encoder, worker).sync_index(path)
    expected = sorted({*truth, new_id} - {products[2].id})
    assert repaired.ids().tolist() == expected
    for pid in expected:
        if pid != new_id:
            np.testing.assert_allclose(repaired.vector(pid), truth[pid])  # type: ignore[arg-type]
    assert len(encoder.texts) == 1  # only the new product was encoded
    # And what was saved is the repaired index.
    assert VectorIndex.load(path, encoder.dim).ids().tolist() == expected


def test_sync_index_rebuilds_over_a_corrupt_file(
    tmp_path: Path, worker: DatabaseWorker, products: list[Product], encoder: CountingEncoder
) -> None:
    path = tmp_path / "products.faiss"
    ProductEmbedder(encoder, worker).sync_index(path)
    path.write_bytes(b"\x00" * 64)
    encoder.texts.clear()
    index = ProductEmbedder(encoder, worker).sync_index(path)
    assert index.ids().tolist() == _active_ids(products)
    assert encoder.texts == []  # rebuilt from stored vectors, not re-encoded


def _unit_dim(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    matrix = rng.normal(size=(n, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _add_product(store: Store, sku: str) -> int:
    from .conftest import catalog_rows

    merchant = merchant_by_name(store, "Trailhead")
    assert merchant is not None
    row = catalog_rows([(sku, "Camping stove", "A small gas stove", ("camping",), "outdoor")])[0]
    upsert_rows(store, merchant.id, [row])
    return product_ids_by_sku(store, merchant.id, [sku])[sku]


# -- the approximate (IVF) index ----------------------------------------------------------


def _clustered(rng: np.random.Generator, n: int, dim: int, clusters: int) -> np.ndarray:
    """Unit vectors around ``clusters`` random centres: product texts are clustered too."""
    centres = rng.normal(size=(clusters, dim))
    matrix = centres[rng.integers(0, clusters, n)] + rng.normal(scale=0.6, size=(n, dim))
    matrix = matrix.astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _recall(exact: VectorIndex, approximate: VectorIndex, queries: np.ndarray) -> float:
    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)
    return float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)]))


def test_approximate_index_recall_at_10_against_exact_search() -> None:
    rng = np.random.default_rng(7)
    dim, n = 48, 12_000
    matrix = _clustered(rng, n, dim, 200)
    ids = np.arange(1, n + 1)
    exact = VectorIndex(dim, approximate_threshold=10**9)
    approximate = VectorIndex(dim, approximate_threshold=2_000)
    exact.upsert(ids, matrix)
    approximate.upsert(ids[:1_000], matrix[:1_000])
    assert not approximate.approximate  # exact while small
    approximate.upsert(ids[1_000:], matrix[1_000:])
    assert approximate.approximate
    # Queries near products (a taste is a mix of liked products), and pure noise.
    # (A perturbation of norm about 0.5: a taste near what the shopper liked.)
    near = matrix[rng.integers(0, n, 300)] + rng.normal(scale=0.5 / np.sqrt(dim), size=(300, dim))
    queries = np.vstack([near, rng.normal(size=(100, dim))]).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    assert _recall(exact, approximate, queries) >= 0.95

    # Changes go straight into the IVF lists: same IVF index, recall still holds.
    structure = approximate.serving
    changed = ids[:500]
    # New and edited products look like the catalog's (the cells were trained on it).
    # (800 distinct ones: identical vectors would tie, and ties break either way.)
    fresh = matrix[rng.integers(0, n, 800)] + rng.normal(scale=0.5 / np.sqrt(dim), size=(800, dim))
    fresh = (fresh / np.linalg.norm(fresh, axis=1, keepdims=True)).astype(np.float32)
    for index in (exact, approximate):
        index.upsert(changed, fresh[:500])  # update
        index.remove(ids[500:1_500])  # pause / delete
        index.upsert(np.arange(n + 1, n + 301), fresh[500:])  # add
    assert approximate.serving is structure
    assert len(approximate) == len(exact) == n - 1_000 + 300
    # Vectors come back exactly, not from the 4-bit codes the scan reads.
    np.testing.assert_array_equal(approximate.vector(int(changed[3])), fresh[3])  # type: ignore[arg-type]
    assert approximate.vector(int(ids[600])) is None
    assert _recall(exact, approximate, queries) >= 0.95
    _, found = approximate.search(queries, 10, exclude=ids[1_500:3_000])
    assert not set(found.ravel().tolist()) & set(ids[500:3_000].tolist())


def test_approximate_index_finds_a_product_removed_and_added_back() -> None:
    # FastScan's own remove_ids loses a vector added back after it (faiss 1.15.1): a
    # paused product that comes back must be found again, and a removed one never.
    rng = np.random.default_rng(4)
    dim = 16
    index = VectorIndex(dim, approximate_threshold=500)
    matrix = _clustered(rng, 3_000, dim, 30)
    index.upsert(np.arange(1, 3_001), matrix)
    assert index.approximate
    index.remove([7, 8])
    assert not {7, 8} & set(index.search(matrix[6:8], 10)[1].ravel().tolist())
    index.upsert([7], matrix[6:7])
    index.upsert([9], matrix[7:8])  # an edit: 9 now looks like 8
    _, found = index.search(matrix[6:8], 1)
    assert found[:, 0].tolist() == [7, 9]
    assert index.serving.faiss_total == len(index) == 2_999


def test_a_retrain_runs_behind_and_keeps_the_changes_made_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(12)
    dim = 16
    index = VectorIndex(dim, approximate_threshold=500)
    matrix = _clustered(rng, 3_000, dim, 30)
    index.upsert(np.arange(1, 601), matrix[:600])
    assert index.approximate  # the switch from exact search is made at once
    assert isinstance(index.serving, IvfIndex)
    cells_before = index.serving.nlist
    # The retrain's training is held open (at 400k products it takes 25 s).
    training, release = threading.Event(), threading.Event()
    train = faiss.IndexIVFPQFastScan.train

    def held(self: faiss.IndexIVFPQFastScan, x: np.ndarray) -> None:
        training.set()
        assert release.wait(30)
        train(self, x)

    monkeypatch.setattr(faiss.IndexIVFPQFastScan, "train", held)
    try:
        index.upsert(np.arange(601, 2_601), matrix[600:2_600])  # past 4x the training
        assert training.wait(30)  # ...and the upsert returned all the same
        # Meanwhile the old cells answer searches and take changes.
        index.remove([7, 700])
        index.upsert([9, 800], matrix[[2_700, 2_701]])  # edits
        index.upsert(np.arange(2_601, 2_651), matrix[2_600:2_650])  # new products
        _, found = index.search(matrix[[2_700, 2_701, 2_620]], 1)
        assert found[:, 0].tolist() == [9, 800, 2_621]
        assert not {7, 700} & set(index.search(matrix[[6, 699]], 10)[1].ravel().tolist())
    finally:
        release.set()
    assert index.wait_for_retrain(30)
    assert isinstance(index.serving, IvfIndex)
    assert index.serving.nlist > cells_before  # the new cells are in
    # Every product is found under its current vector, the removed ones never.
    expected = {pid: matrix[pid - 1] for pid in range(1, 2_651) if pid not in (7, 700)}
    expected[9], expected[800] = matrix[2_700], matrix[2_701]
    ids = np.array(sorted(expected), dtype=np.int64)
    _, found = index.search(np.vstack([expected[pid] for pid in ids.tolist()]), 1)
    np.testing.assert_array_equal(found[:, 0], ids)
    assert index.serving.faiss_total == len(index) == 2_648


def test_a_retrain_that_missed_too_many_changes_starts_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_module, "CATCH_UP_MAX_NEW", 10)
    rng = np.random.default_rng(13)
    dim = 16
    index = VectorIndex(dim, approximate_threshold=500)
    matrix = _clustered(rng, 3_000, dim, 30)
    index.upsert(np.arange(1, 601), matrix[:600])
    trainings: list[int] = []
    first, release = threading.Event(), threading.Event()
    train = faiss.IndexIVFPQFastScan.train

    def counted(self: faiss.IndexIVFPQFastScan, x: np.ndarray) -> None:
        trainings.append(len(x))
        if len(trainings) == 1:
            first.set()
            assert release.wait(30)
        train(self, x)

    monkeypatch.setattr(faiss.IndexIVFPQFastScan, "train", counted)
    try:
        index.upsert(np.arange(601, 2_601), matrix[600:2_600])
        assert first.wait(30)
        index.upsert(np.arange(2_601, 2_701), matrix[2_600:2_700])  # 100 new: more than 10
    finally:
        release.set()
    assert index.wait_for_retrain(30)
    assert len(trainings) == 2  # the first new cells were dropped, the second swapped in
    ids = np.arange(1, 2_701)
    _, found = index.search(matrix[:2_700], 1)
    np.testing.assert_array_equal(found[:, 0], ids)


def test_an_older_8_bit_ivf_file_loads_rebuilt(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    dim = 16
    matrix = _clustered(rng, 2_000, dim, 20)
    ids = np.arange(1, 2_001)
    old = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim), dim, 40, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    old.train(matrix)
    old.add_with_ids(matrix, ids)
    path = tmp_path / "old.faiss"
    with path.open("wb") as out:
        np.savez(out, faiss=faiss.serialize_index(old), ids=ids, vectors=matrix)
    loaded = VectorIndex.load(path, dim, approximate_threshold=500)
    assert loaded.approximate and len(loaded) == 2_000
    np.testing.assert_array_equal(loaded.search(matrix[:50], 1)[1][:, 0], ids[:50])


def test_approximate_index_pads_only_when_nothing_else_qualifies() -> None:
    rng = np.random.default_rng(1)
    dim = 16
    index = VectorIndex(dim, approximate_threshold=500)
    index.upsert(np.arange(1, 3_001), _clustered(rng, 3_000, dim, 30))
    assert index.approximate
    keep = np.arange(1, 21)
    _, ids = index.search(rng.normal(size=dim).astype(np.float32), 25, exclude=np.arange(21, 3_001))
    assert sorted(ids[0][ids[0] >= 0].tolist()) == keep.tolist()
    assert (ids[0] == -1).sum() == 5


def test_approximate_index_survives_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    dim = 24
    index = VectorIndex(dim, approximate_threshold=1_000)
    matrix = _clustered(rng, 3_000, dim, 40)
    index.upsert(np.arange(1, 3_001), matrix)
    index.remove([5, 6])
    path = tmp_path / "big.faiss"
    index.save(path)
    loaded = VectorIndex.load(path, dim)
    assert loaded.approximate
    assert loaded.ids().tolist() == index.ids().tolist()
    np.testing.assert_array_equal(loaded.vector(10), matrix[9])  # type: ignore[arg-type]
    loaded.upsert([5], matrix[4:5])  # still changeable after a load
    assert 5 in loaded
    queries = matrix[9:60]
    np.testing.assert_array_equal(loaded.search(queries, 5)[1][:, 0], np.arange(10, 61))


def test_sync_index_repairs_an_approximate_file_in_place(
    tmp_path: Path, worker: DatabaseWorker, encoder: CountingEncoder
) -> None:
    from .conftest import catalog_rows

    def load(store: Store) -> None:
        merchant = merchant_by_name(store, "Bulk")
        assert merchant is not None
        items = [
            (f"SKU-{n}", f"Item {n} {'red' if n % 3 else 'blue'} mug", f"size {n % 7}", (), "mugs")
            for n in range(400)
        ]
        upsert_rows(store, merchant.id, catalog_rows(items))

    worker.call(load)
    path = tmp_path / "products.faiss"
    index = ProductEmbedder(encoder, worker, approximate_threshold=100).sync_index(path)
    assert index.approximate
    ids = index.ids()
    truth = {int(pid): index.vector(int(pid)) for pid in ids[:5]}
    # A crash mid-import: the saved file lost a product and kept a stray one.
    index.remove([int(ids[0])])
    index.upsert([99_999], _unit_dim(np.random.default_rng(3), 1, encoder.dim))
    index.save(path)
    encoder.texts.clear()
    repaired = ProductEmbedder(encoder, worker, approximate_threshold=100).sync_index(path)
    assert repaired.approximate
    assert repaired.ids().tolist() == ids.tolist()
    np.testing.assert_allclose(
        repaired.vector(int(ids[0])),  # type: ignore[arg-type]
        truth[int(ids[0])],  # type: ignore[arg-type]
        atol=repaired.tolerance,
    )
    assert encoder.texts == []
