"""The exact index: a scan of every vector, ``IndexIDMap2(IndexFlatIP)``.

Its cost grows with the catalog, one inner product per product and query; ``VectorIndex``
uses it while the catalog is small and hands over to ``IvfIndex`` past
``APPROXIMATE_THRESHOLD``. It is also the truth the IVF index's recall is measured against.
"""

from __future__ import annotations

from collections.abc import Iterable

import faiss
import numpy as np

from reelcart.embeddings.faiss_search import as_queries, empty_results, run_search
from reelcart.embeddings.ids import as_changes, as_ids, exclusion_selector, removal_selector
from reelcart.embeddings.index_file import IndexFile, IndexFileError
from reelcart.embeddings.shelved import ShelvedIndex


class ExactIndex(ShelvedIndex):
    """Product vectors by product id, searched exactly by inner product (a ``ProductIndex``).

    Safe to share between threads: changes hold the lock alone (FAISS indexes must not be
    searched while they change), searches, reads and a save's snapshot share it.
    """

    def __init__(self, dim: int) -> None:
        """An empty index of ``dim``-sized vectors; raises ValueError if ``dim`` < 1."""
        if dim < 1:
            raise ValueError("dim must be positive")
        super().__init__(dim, faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    def upsert(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids`` (rows of ``vectors``, in that order).

        A product id repeated within one call keeps its last vector. Raises ValueError when
        the shapes do not match.
        """
        id_array, matrix = as_changes(ids, vectors, self.dim)
        if len(id_array) == 0:
            return
        with self._lock.writing():
            present = [pid for pid in id_array.tolist() if pid in self._ids]
            if present:
                self._index.remove_ids(removal_selector(present))
            self._shelf.put(id_array, matrix)
            self._index.add_with_ids(matrix, id_array)
            self._version += 1

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove these products' vectors; unknown ids are ignored. Returns how many went."""
        with self._lock.writing():
            present = [pid for pid in as_ids(ids).tolist() if pid in self._ids]
            if not present:
                return 0
            removed = int(self._index.remove_ids(removal_selector(present)))
            self._shelf.drop(present)
            self._version += 1
            return removed

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
        qualify, the rest of a row is padded with id ``-1`` and score ``-inf``. Raises
        ValueError for queries of another size or a ``k`` below 1.
        """
        matrix = as_queries(queries, self.dim, k)
        selector = exclusion_selector(as_ids(exclude) if exclude is not None else None)
        params = None
        if selector is not None:
            params = faiss.SearchParameters()
            params.sel = selector
        with self._lock.reading():
            if self._index.ntotal == 0:
                return empty_results(len(matrix), k)
            return run_search(self._index, matrix, k, params)

    @classmethod
    def from_file(cls, file: IndexFile) -> ExactIndex:
        """The exact index ``file`` holds; raises IndexFileError if it holds another kind,
        or its FAISS index and its vectors disagree."""
        raw = file.faiss
        if not isinstance(raw, faiss.IndexIDMap2):
            raise IndexFileError(f"{file.path}: not an exact index reelcart writes")
        file.check_holds(faiss.vector_to_array(raw.id_map).astype(np.int64))
        index = cls(raw.d)
        index._index = raw
        index._shelf.adopt(file.ids, file.vectors)
        return index
