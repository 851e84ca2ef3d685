"""One FAISS search as the feed runs it: single queries on one OpenMP thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import faiss
import numpy as np

#: Below this many queries a search runs on one OpenMP thread. A feed asks one query at a
#: time, and splitting a single scan across threads measured slower on the two-core
#: machines reelcart runs on, much slower still when numpy's BLAS threads spin meanwhile.
PARALLEL_QUERIES = 16


@contextmanager
def one_thread() -> Iterator[None]:
    """FAISS on one OpenMP thread within the block.

    OpenMP's thread count is per calling thread (an ICV), so this neither affects nor is
    affected by other threads; it is restored for the batch work this thread may do later.
    """
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


def as_queries(queries: np.ndarray, dim: int, k: int) -> np.ndarray:
    """``queries`` (one vector or a ``(n, dim)`` array) as a contiguous float32 matrix.

    Raises ValueError for vectors of another size or a ``k`` below 1.
    """
    matrix = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    if matrix.shape[1] != dim:
        raise ValueError(f"expected queries of size {dim}, got {matrix.shape[1]}")
    if k < 1:
        raise ValueError("k must be positive")
    return matrix


def empty_results(queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """What a search finds in an empty index: ids -1, scores -inf."""
    scores = np.full((queries, k), -np.inf, dtype=np.float32)
    return scores, np.full((queries, k), -1, dtype=np.int64)


def run_search(
    index: faiss.Index, matrix: np.ndarray, k: int, params: faiss.SearchParameters | None
) -> tuple[np.ndarray, np.ndarray]:
    """``index.search``, on one thread for a few queries, empty slots scored ``-inf``."""
    if len(matrix) >= PARALLEL_QUERIES:
        scores, ids = index.search(matrix, k, params=params)
    else:
        with one_thread():
            scores, ids = index.search(matrix, k, params=params)
    scores[ids == -1] = -np.inf
    return scores, ids
