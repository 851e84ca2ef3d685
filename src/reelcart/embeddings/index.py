"""The FAISS index of product vectors, searched by inner product (cosine on unit vectors).

Two shapes, one interface:

- **exact** while the catalog is small: ``IndexIDMap2(IndexFlatIP)``, a scan of every
  vector (about 1 ms at 10k x 384, 6 ms at 100k on this kind of machine);
- **approximate** above ``APPROXIMATE_THRESHOLD`` vectors: ``IndexIVFScalarQuantizer``, an
  inverted file of ``nlist`` k-means cells of which ``nprobe`` are scanned per query, each
  vector stored as 8-bit codes. IVF rather than HNSW because products change all the time:
  IVF removes and replaces vectors in place (FAISS's HNSW cannot remove at all) and builds
  a million vectors in a minute or two instead of many. 8-bit codes because a query's cost
  is the memory it scans: at 300k x 384, scanning 126 cells took 3.8 ms with float vectors
  and 2.1 ms with codes (a quarter of the memory); vectors given back are within 0.01 per
  component of the originals (``RECONSTRUCTION_TOLERANCE``). ``nprobe`` is set so that
  recall@10 against exact search stays above 0.95 (``tests/embeddings/test_index.py``
  measures it; ``benchmarks/next_card.py`` at 100k and 1M).

The switch happens once, when an upsert takes the index past the threshold (the cells are
trained on the vectors present then); afterwards adds, updates and removals go straight to
the inverted lists, and the cells are retrained only when the catalog has grown
``RETRAIN_GROWTH`` times since they were trained. Callers rely only on ``search`` returning
the best ``k`` it found, padded with ``-1`` only when nothing else qualifies.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)


class IndexFileError(ValueError):
    """An index file that cannot be used: unreadable, or built for another vector size."""


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """A contiguous int64 array, the only id type FAISS takes."""
    if isinstance(ids, np.ndarray):
        return np.ascontiguousarray(ids.astype(np.int64, copy=False).ravel())
    return np.fromiter(ids, dtype=np.int64)


#: Below this many queries a search runs on one OpenMP thread. A feed asks one query at a
#: time; splitting a single exact scan across threads measured slower here (8 ms -> 13 ms
#: at 100k x 384 on 2 cores, and 60+ ms when numpy's BLAS threads were spinning too).
_PARALLEL_QUERIES = 16


def _search_single_threaded(
    index: faiss.Index, queries: np.ndarray, k: int, params: faiss.SearchParameters | None
) -> tuple[np.ndarray, np.ndarray]:
    # OpenMP's thread count is per calling thread (an ICV), so this neither affects nor is
    # affected by other threads; restore it for the batch work this thread may do later.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k, params=params)
    finally:
        faiss.omp_set_num_threads(threads)


def _selector(ids: list[int]) -> faiss.IDSelectorBatch:
    """The ids to remove, in the form FAISS removes by (a hash set, not a scan per id)."""
    return faiss.IDSelectorBatch(np.array(ids, dtype=np.int64))


#: Above this many vectors the exact scan gives way to the IVF index. An exact scan of 10k
#: x 384 took 1.5 ms per query here against 0.6 ms for IVF over 100k (which scans ~5k), so
#: the exact scan stops where it would cost more than the approximate one.
APPROXIMATE_THRESHOLD = 5_000
#: The IVF cells are retrained when the catalog has grown this many times past their training.
RETRAIN_GROWTH = 4.0
#: Share of the IVF cells scanned per query, at least ``MIN_NPROBE`` and at most
#: ``MAX_NPROBE`` of them. Recall@10 against exact search, 8-bit codes: 12k x 48 clustered
#: (the unit test), 16 cells of 281: 0.985 for tastes near products, 0.945 for random
#: directions; 100k x 384 (``benchmarks/next_card.py``), 63 of 1264: 0.98.
NPROBE_SHARE = 1 / 20
MIN_NPROBE = 16
#: Scanning is what a query costs (about 5 ms for 31k codes at a million products here),
#: so the cells scanned are capped; at a million (4096 cells) 128 gave recall@10 0.94.
MAX_NPROBE = 128
#: k-means training points per cell (FAISS asks for at least 39), and its iterations: the
#: switch to IVF trains once, and at a million vectors more only costs minutes.
TRAIN_POINTS_PER_CELL = 40
TRAIN_ITERATIONS = 10
#: How far a vector given back by the approximate index may be from the one stored, per
#: component (8-bit codes over each dimension's trained range).
RECONSTRUCTION_TOLERANCE = 0.01
# A hash-table direct map lets an IVF index give a vector back by id and survives
# removals (the array kind does not); faiss's type stubs lack the enum.
_HASHTABLE_DIRECT_MAP = faiss.DirectMap.Hashtable if hasattr(faiss, "DirectMap") else 2


def _nlist_for(count: int) -> int:
    """Cells for ``count`` vectors: about 4 sqrt(n), FAISS's usual advice, with at least the
    39 training points per cell that its k-means asks for."""
    return int(max(1, min(4096, 4 * np.sqrt(max(count, 1)), count // 39)))


def _remove_from(index: faiss.Index, ids: list[int]) -> int:
    """Remove ``ids`` from either index shape.

    An IVF index with a hash-table direct map only removes by an explicit id array; the
    exact index by any selector (a hash set is faster there).
    """
    if isinstance(index, faiss.IndexIVF):
        array = np.array(ids, dtype=np.int64)
        return int(index.remove_ids(faiss.IDSelectorArray(len(array), faiss.swig_ptr(array))))
    return int(index.remove_ids(_selector(ids)))


class VectorIndex:
    """Product vectors by product id, with nearest-neighbour search by inner product.

    Safe to share between the thread that embeds products and the thread that ranks: every
    operation holds one lock (FAISS indexes must not be searched while they change).
    """

    def __init__(self, dim: int, *, approximate_threshold: int = APPROXIMATE_THRESHOLD) -> None:
        """An empty index of ``dim``-sized vectors, exact until it holds more than
        ``approximate_threshold`` of them."""
        if dim < 1:
            raise ValueError("dim must be positive")
        self.dim = dim
        self.approximate_threshold = approximate_threshold
        self._index: faiss.Index = self._new_faiss_index(dim)
        # A Python mirror of the ids: membership tests on the hot path of ranking without a
        # trip through FAISS.
        self._ids: set[int] = set()
        self._lock = threading.RLock()
        self._version = 0
        #: How many vectors the IVF cells were trained on (0 while exact).
        self._trained_on = 0

    @staticmethod
    def _new_faiss_index(dim: int) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def approximate(self) -> bool:
        """Whether searches go through the IVF index rather than an exact scan."""
        return isinstance(self._index, faiss.IndexIVF)

    @property
    def tolerance(self) -> float:
        """How far (per component) ``vector`` may be from what was stored: 0 while exact."""
        return RECONSTRUCTION_TOLERANCE if self.approximate else 0.0

    @property
    def nprobe(self) -> int:
        """IVF cells scanned per query (0 while exact)."""
        if not isinstance(self._index, faiss.IndexIVF):
            return 0
        share = min(MAX_NPROBE, max(MIN_NPROBE, self._index.nlist * NPROBE_SHARE))
        return int(min(self._index.nlist, share))

    def _build_ivf(self, ids: np.ndarray, matrix: np.ndarray) -> faiss.IndexIVF:
        """A trained IVF index holding these vectors (a rebuild: only at the threshold)."""
        nlist = _nlist_for(len(ids))
        quantizer = faiss.IndexFlatIP(self.dim)
        # FAISS's Python constructor keeps the quantizer alive as long as the index.
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        # Each dimension's code range is trained on the vectors present; widen it by a fifth
        # on both sides so that products added later are not clipped at its edges.
        ivf.sq.rangestat = faiss.ScalarQuantizer.RS_minmax
        ivf.sq.rangestat_arg = 0.2
        ivf.cp.niter = TRAIN_ITERATIONS
        sample = matrix
        limit = TRAIN_POINTS_PER_CELL * nlist
        if len(sample) > limit:
            rows = np.random.default_rng(0).choice(len(sample), limit, replace=False)
            sample = matrix[np.sort(rows)]
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        ivf.set_direct_map_type(_HASHTABLE_DIRECT_MAP)
        if len(ids):
            ivf.add_with_ids(np.ascontiguousarray(matrix, dtype=np.float32), ids)
        self._trained_on = len(ids)
        log.info("built an IVF index: %d vectors in %d cells", len(ids), nlist)
        return ivf

    def _maybe_reshape(self) -> None:
        """Switch to IVF past the threshold, retrain when grown far past the training."""
        count = len(self._ids)
        if count <= self.approximate_threshold:
            return
        if self.approximate and count <= RETRAIN_GROWTH * max(self._trained_on, 1):
            return
        ids, matrix = self.items()
        self._index = self._build_ivf(ids, matrix)

    def rebuild(self) -> None:
        """Retrain the IVF cells on the vectors present now (maintenance; not needed for
        changes to take effect). Exact indexes are left as they are."""
        with self._lock:
            if self.approximate:
                ids, matrix = self.items()
                self._index = self._build_ivf(ids, matrix)
                self._version += 1

    # -- changes ---------------------------------------------------------------------------

    def upsert(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids`` (rows of ``vectors``, in that order).

        A product id repeated within one call keeps its last vector. Raises ValueError when
        the shapes do not match.
        """
        id_array = _as_ids(ids)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape != (len(id_array), self.dim):
            raise ValueError(
                f"expected vectors of shape ({len(id_array)}, {self.dim}), got {matrix.shape}"
            )
        if len(id_array) == 0:
            return
        # IndexIDMap2 keeps a reverse map id -> row and breaks on duplicate ids: keep the
        # last occurrence of each id.
        _, last = np.unique(id_array[::-1], return_index=True)
        if len(last) != len(id_array):
            keep = np.sort(len(id_array) - 1 - last)
            id_array, matrix = id_array[keep], matrix[keep]
        with self._lock:
            present = [int(i) for i in id_array if int(i) in self._ids]
            if present:
                _remove_from(self._index, present)
            self._index.add_with_ids(matrix, id_array)
            self._ids.update(int(i) for i in id_array)
            self._maybe_reshape()
            self._version += 1

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove these products' vectors; unknown ids are ignored. Returns how many went."""
        with self._lock:
            present = [int(i) for i in _as_ids(ids) if int(i) in self._ids]
            if not present:
                return 0
            removed = _remove_from(self._index, present)
            self._ids.difference_update(present)
            self._version += 1
            return removed

    # -- reading ---------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Changes whenever the index does: search results cached under it stay exact."""
        return self._version

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        exclude: Iterable[int] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best products for each query, best first: ``(scores, ids)``.

        ``queries`` is one vector or a ``(n, dim)`` array; the results are ``(n, k)``.
        ``exclude`` are ids never to return, skipped inside the scan itself (cheaper than
        over-fetching when they are the nearest ones). When fewer than ``k`` products
        qualify, the rest of a row is padded with id ``-1`` and score ``-inf``.
        """
        matrix = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if matrix.shape[1] != self.dim:
            raise ValueError(f"expected queries of size {self.dim}, got {matrix.shape[1]}")
        if k < 1:
            raise ValueError("k must be positive")
        excluded = _as_ids(exclude) if exclude is not None else None
        # FAISS holds bare pointers to selectors: these locals keep them alive for the
        # duration of the search.
        batch = selector = None
        if excluded is not None and len(excluded):
            batch = faiss.IDSelectorBatch(excluded)
            selector = faiss.IDSelectorNot(batch)
        with self._lock:
            if self._index.ntotal == 0:
                scores = np.full((len(matrix), k), -np.inf, dtype=np.float32)
                return scores, np.full((len(matrix), k), -1, dtype=np.int64)
            if not isinstance(self._index, faiss.IndexIVF):
                params = None
                if selector is not None:
                    params = faiss.SearchParameters()
                    params.sel = selector
                return self._run_search(matrix, k, params)
            # The cells scanned may hold fewer than k qualifying vectors; scan more cells
            # until they do, up to all of them, so "padded" keeps meaning "nothing else".
            nprobe = self.nprobe
            hidden = 0 if excluded is None else sum(int(i) in self._ids for i in excluded.tolist())
            wanted = min(k, self._index.ntotal - hidden)
            while True:
                ivf_params = faiss.SearchParametersIVF()
                ivf_params.nprobe = nprobe
                if selector is not None:
                    ivf_params.sel = selector
                scores, ids = self._run_search(matrix, k, ivf_params)
                if nprobe >= self._index.nlist or (ids >= 0).sum(axis=1).min() >= wanted:
                    return scores, ids
                nprobe = min(self._index.nlist, 4 * nprobe)

    def _run_search(
        self, matrix: np.ndarray, k: int, params: faiss.SearchParameters | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(matrix) >= _PARALLEL_QUERIES:
            scores, ids = self._index.search(matrix, k, params=params)
        else:
            scores, ids = _search_single_threaded(self._index, matrix, k, params)
        scores[ids == -1] = -np.inf
        return scores, ids

    def vector(self, product_id: int) -> np.ndarray | None:
        """The stored vector of ``product_id``, or None if it is not indexed."""
        with self._lock:
            if product_id not in self._ids:
                return None
            return np.asarray(self._index.reconstruct(int(product_id)), dtype=np.float32)

    def vectors(self, product_ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` for those of ``product_ids`` that are indexed, in their order."""
        with self._lock:
            found = np.array(
                [int(i) for i in _as_ids(product_ids) if int(i) in self._ids], dtype=np.int64
            )
            if len(found) == 0:
                return found, np.zeros((0, self.dim), dtype=np.float32)
            return found, np.asarray(self._index.reconstruct_batch(found), dtype=np.float32)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` of everything indexed, in storage order: for checks and rebuilds."""
        with self._lock:
            if isinstance(self._index, faiss.IndexIVF):
                ids = np.array(sorted(self._ids), dtype=np.int64)
                if len(ids) == 0:
                    return ids, np.zeros((0, self.dim), dtype=np.float32)
                return ids, np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)
            assert isinstance(self._index, faiss.IndexIDMap2)
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            if len(ids) == 0:
                return ids, np.zeros((0, self.dim), dtype=np.float32)
            return ids, np.asarray(self._index.index.reconstruct_n(0, len(ids)))

    def ids(self) -> np.ndarray:
        """Every indexed product id, ascending."""
        with self._lock:
            return np.array(sorted(self._ids), dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, product_id: object) -> bool:
        return isinstance(product_id, int | np.integer) and int(product_id) in self._ids

    # -- files -----------------------------------------------------------------------------

    def save(self, path: Path | str) -> None:
        """Write the index to ``path`` atomically: a crash leaves the old file or the new one."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            with self._lock:
                faiss.write_index(self._index, tmp_name)
            tmp = Path(tmp_name)
            with tmp.open("rb") as written:
                os.fsync(written.fileno())
            # The rename is the commit point (atomic on POSIX within one directory).
            tmp.replace(target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        log.debug("saved %d vectors to %s", len(self), target)

    @classmethod
    def load(
        cls, path: Path | str, dim: int, *, approximate_threshold: int = APPROXIMATE_THRESHOLD
    ) -> VectorIndex:
        """Read an index written by ``save`` (exact or IVF, whichever it was).

        Raises FileNotFoundError if there is no file, IndexFileError if it is unreadable,
        neither shape ``save`` writes, or holds vectors of another size than ``dim``.
        """
        target = Path(path)
        if not target.exists():
            raise FileNotFoundError(target)
        try:
            raw = faiss.read_index(str(target))
        except RuntimeError as exc:
            raise IndexFileError(f"{target}: not a FAISS index ({exc})") from None
        if raw.d != dim:
            raise IndexFileError(f"{target}: vectors of size {raw.d}, expected {dim}")
        index = cls(dim, approximate_threshold=approximate_threshold)
        if isinstance(raw, faiss.IndexIDMap2):
            ids = faiss.vector_to_array(raw.id_map).astype(np.int64)
        elif isinstance(raw, faiss.IndexIVF):
            ids = _ivf_ids(raw)
            raw.set_direct_map_type(_HASHTABLE_DIRECT_MAP)
            index._trained_on = len(ids)
        else:
            raise IndexFileError(f"{target}: not an index reelcart writes")
        index._index = raw
        index._ids = {int(i) for i in ids}
        if len(index._ids) != raw.ntotal:
            raise IndexFileError(f"{target}: duplicate ids")
        return index


def _ivf_ids(index: faiss.IndexIVF) -> np.ndarray:
    """Every id stored in an IVF index's inverted lists."""
    lists = index.invlists
    assert lists is not None
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).copy()
        for cell in range(index.nlist)
        if lists.list_size(cell)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
