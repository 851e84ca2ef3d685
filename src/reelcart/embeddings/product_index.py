"""What every index of product vectors promises: ``ExactIndex``, ``IvfIndex``, and
``VectorIndex``, which serves through one of them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from reelcart.embeddings.index_file import IndexSnapshot


class ProductIndex(Protocol):
    """Product vectors by product id, with nearest-neighbour search by inner product
    (cosine on unit vectors).

    Safe to share between threads: changes take turns, and searches, reads and a save's
    snapshot run beside each other (only changes wait for a snapshot).
    """

    @property
    def dim(self) -> int:
        """The size of every vector."""
        ...

    @property
    def version(self) -> int:
        """Changes whenever the index does: search results cached under it stay exact."""
        ...

    @property
    def tolerance(self) -> float:
        """How far (per component) ``vector`` may be from what was stored."""
        ...

    def upsert(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids`` (rows of ``vectors``, in that order).

        A product id repeated within one call keeps its last vector. Raises ValueError when
        the shapes do not match.
        """
        ...

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove these products' vectors; unknown ids are ignored. Returns how many went."""
        ...

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        exclude: Iterable[int] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best products for each query, best first: ``(scores, ids)``.

        ``queries`` is one vector or a ``(n, dim)`` array; the results are ``(n, k)``.
        ``exclude`` are ids never to return. When fewer than ``k`` products qualify, the
        rest of a row is padded with id ``-1`` and score ``-inf``, and only then. Raises
        ValueError for queries of another size or a ``k`` below 1.
        """
        ...

    def vector(self, product_id: int) -> np.ndarray | None:
        """The stored vector of ``product_id`` (a copy), or None if it is not indexed."""
        ...

    def vectors(self, product_ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` for those of ``product_ids`` that are indexed, in their order."""
        ...

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` of everything indexed, by ascending id: for checks and rebuilds."""
        ...

    def ids(self) -> np.ndarray:
        """Every indexed product id, ascending."""
        ...

    def snapshot(self) -> IndexSnapshot:
        """The whole index as of one moment, as its file holds it."""
        ...

    def save(self, path: Path | str) -> None:
        """Write the index to ``path`` atomically: a crash leaves the old file or the new one."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, product_id: object) -> bool: ...
