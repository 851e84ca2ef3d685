"""Product ids and vectors in the forms FAISS takes."""

from __future__ import annotations

from collections.abc import Iterable

import faiss
import numpy as np


def as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """A contiguous int64 array, the only id type FAISS takes."""
    if isinstance(ids, np.ndarray):
        return np.ascontiguousarray(ids.astype(np.int64, copy=False).ravel())
    return np.fromiter(ids, dtype=np.int64)


def as_changes(
    ids: Iterable[int] | np.ndarray, vectors: np.ndarray, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, matrix)`` ready for an upsert: int64 ids and contiguous float32 rows, an id
    repeated keeping only its last row (FAISS's id maps break on duplicate ids).

    Raises ValueError unless ``vectors`` has one row of size ``dim`` per id.
    """
    id_array = as_ids(ids)
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape != (len(id_array), dim):
        raise ValueError(f"expected vectors of shape ({len(id_array)}, {dim}), got {matrix.shape}")
    _, last = np.unique(id_array[::-1], return_index=True)
    if len(last) != len(id_array):
        keep = np.sort(len(id_array) - 1 - last)
        id_array, matrix = id_array[keep], matrix[keep]
    return id_array, matrix


def removal_selector(ids: list[int]) -> faiss.IDSelectorBatch:
    """The ids to remove, in the form FAISS removes by (a hash set, not a scan per id)."""
    return faiss.IDSelectorBatch(np.array(ids, dtype=np.int64))


def exclusion_selector(excluded: np.ndarray | None) -> faiss.IDSelector | None:
    """A selector that lets a search skip ``excluded`` inside the scan; None for no ids.

    FAISS keeps only a pointer to it: hold on to it until the search returns (it holds its
    id set alive itself).
    """
    if excluded is None or not len(excluded):
        return None
    return faiss.IDSelectorNot(faiss.IDSelectorBatch(excluded))
