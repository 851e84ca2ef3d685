"""The FAISS index of product vectors, searched by inner product (cosine on unit vectors).

Today it is exact: ``IndexIDMap2(IndexFlatIP)``, whose ids are product ids and which can
give a stored vector back. Above a size threshold an approximate HNSW variant will take
over; everything FAISS-specific is confined to ``_new_faiss_index`` and the few methods
below, and callers only rely on ``search`` returning the best ``k`` it found (they
over-fetch and filter), so that swap stays local to this module.
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


class VectorIndex:
    """Product vectors by product id, with nearest-neighbour search by inner product.

    Safe to share between the thread that embeds products and the thread that ranks: every
    operation holds one lock (FAISS indexes must not be searched while they change).
    """

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError("dim must be positive")
        self.dim = dim
        self._index = self._new_faiss_index(dim)
        # A Python mirror of the ids: membership tests on the hot path of ranking without a
        # trip through FAISS.
        self._ids: set[int] = set()
        self._lock = threading.RLock()
        self._version = 0

    @staticmethod
    def _new_faiss_index(dim: int) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

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
                self._index.remove_ids(_selector(present))
            self._index.add_with_ids(matrix, id_array)
            self._ids.update(int(i) for i in id_array)
            self._version += 1

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove these products' vectors; unknown ids are ignored. Returns how many went."""
        with self._lock:
            present = [int(i) for i in _as_ids(ids) if int(i) in self._ids]
            if not present:
                return 0
            removed = int(self._index.remove_ids(_selector(present)))
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
        params = None
        excluded = _as_ids(exclude) if exclude is not None else None
        if excluded is not None and len(excluded):
            # FAISS holds bare pointers to selectors: these locals keep them alive for the
            # duration of the search.
            batch = faiss.IDSelectorBatch(excluded)
            selector = faiss.IDSelectorNot(batch)
            params = faiss.SearchParameters()
            params.sel = selector
        with self._lock:
            if self._index.ntotal == 0:
                scores = np.full((len(matrix), k), -np.inf, dtype=np.float32)
                return scores, np.full((len(matrix), k), -1, dtype=np.int64)
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
    def load(cls, path: Path | str, dim: int) -> VectorIndex:
        """Read an index written by ``save``.

        Raises FileNotFoundError if there is no file, IndexFileError if it is unreadable,
        not an id-mapped index, or holds vectors of another size than ``dim``.
        """
        target = Path(path)
        if not target.exists():
            raise FileNotFoundError(target)
        try:
            raw = faiss.read_index(str(target))
        except RuntimeError as exc:
            raise IndexFileError(f"{target}: not a FAISS index ({exc})") from None
        if not isinstance(raw, faiss.IndexIDMap2):
            raise IndexFileError(f"{target}: not an id-mapped index")
        if raw.d != dim:
            raise IndexFileError(f"{target}: vectors of size {raw.d}, expected {dim}")
        index = cls(dim)
        index._index = raw
        index._ids = {int(i) for i in faiss.vector_to_array(raw.id_map)}
        if len(index._ids) != raw.ntotal:
            raise IndexFileError(f"{target}: duplicate ids")
        return index
