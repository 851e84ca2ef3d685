"""The exact vectors of an index, by product id, in one growable float32 matrix."""

from __future__ import annotations

from itertools import repeat

import numpy as np

#: The shelf finds rows through an array indexed by product id while the largest id is
#: at most this many times the ids stored (SQLite's row ids are dense), else through its
#: dict alone.
LOOKUP_SPARSENESS = 4


def grown(array: np.ndarray, size: int, fill: float) -> np.ndarray:
    """``array`` with at least ``size`` rows: itself if it has them, else a copy at least
    twice as long (so growing one id at a time stays cheap), the new rows set to ``fill``."""
    if len(array) >= size:
        return array
    bigger = np.full((max(size, 2 * len(array)), *array.shape[1:]), fill, dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class Shelf:
    """The exact vectors by id: rows of one growable float32 matrix, freed rows reused.

    Rows are found by id through ``row``, and while ids are dense also through ``lookup``
    (row by id, -1 for none): one vectorized gather instead of a dict lookup per id. The
    ranking asks for the vectors of every candidate list and the IVF index re-ranks
    hundreds of candidates per search, so these lookups are on the feed's hot path, and the
    entries of a large dict are cold in the cache.

    Not thread-safe: the index that owns it holds its lock around every call.
    """

    def __init__(self, dim: int) -> None:
        self.matrix = np.zeros((0, dim), dtype=np.float32)
        self.row: dict[int, int] = {}
        self.lookup: np.ndarray | None = np.zeros(0, dtype=np.intp)
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self.row)

    def adopt(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Hold ``matrix`` itself (no copy) as the vectors of ``ids`` (distinct), on an
        empty shelf: how an index built from another's snapshot avoids a second copy."""
        if self.row or self._free:
            raise ValueError("only an empty shelf adopts a matrix")
        if matrix.dtype != np.float32 or not matrix.flags.c_contiguous:
            raise ValueError("the adopted matrix must be contiguous float32")
        self.matrix = matrix
        self.row.update(zip(ids.tolist(), range(len(ids)), strict=True))
        self._point(ids, np.arange(len(ids), dtype=np.intp))

    def put(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Store these vectors (replacing those of known ids); ``ids`` are distinct."""
        rows = np.empty(len(ids), dtype=np.int64)
        fresh: list[int] = []
        for n, pid in enumerate(ids.tolist()):
            row = self.row.get(pid)
            if row is None:
                if self._free:
                    row = self._free.pop()
                else:
                    fresh.append(n)
                    continue
                self.row[pid] = row
            rows[n] = row
        if fresh:
            start = len(self.row) + len(self._free)
            needed = start + len(fresh)
            self.matrix = grown(self.matrix, max(needed, 64), 0.0)
            for offset, n in enumerate(fresh):
                rows[n] = start + offset
                self.row[int(ids[n])] = start + offset
        self.matrix[rows] = matrix
        self._point(ids, rows)

    def _point(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Keep ``lookup`` in step with ``row``, or give it up if ids become sparse."""
        if self.lookup is None or not len(ids):
            return
        top, low = int(ids.max()), int(ids.min())
        if low < 0 or top >= LOOKUP_SPARSENESS * max(len(self.row), 1024):
            self.lookup = None
            return
        self.lookup = grown(self.lookup, top + 1, -1)
        self.lookup[ids] = rows

    def drop(self, ids: list[int]) -> None:
        """Forget these ids' vectors (unknown ids are ignored); their rows are reused."""
        for pid in ids:
            row = self.row.pop(pid, None)
            if row is not None:
                self._free.append(row)
                if self.lookup is not None:
                    self.lookup[pid] = -1

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The rows of ``ids``, -1 for those not stored."""
        lookup = self.lookup
        if lookup is None:
            return np.fromiter(
                map(self.row.get, ids.tolist(), repeat(-1)), dtype=np.intp, count=len(ids)
            )
        rows = np.full(len(ids), -1, dtype=np.intp)
        inside = (ids >= 0) & (ids < len(lookup))
        rows[inside] = lookup[ids[inside]]
        return rows

    def get(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of ``ids`` (all known), in their order."""
        return self.matrix[self.rows(ids)]

    def known(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Those of ``ids`` that are stored, in their order, and their vectors."""
        rows = self.rows(ids)
        found = rows >= 0
        return ids[found], self.matrix[rows[found]]

    def ids(self) -> np.ndarray:
        """Every stored id, ascending."""
        # In numpy, not by sorting the dict: a save takes its snapshot on its own thread,
        # and sorting many Python ints would hold the GIL, so the feed, meanwhile.
        lookup = self.lookup
        if lookup is not None:
            return np.flatnonzero(lookup >= 0).astype(np.int64)
        return np.sort(np.fromiter(self.row, dtype=np.int64, count=len(self.row)))

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` of everything stored, by ascending id (the matrix a copy)."""
        ids = self.ids()
        if len(ids) == 0:
            return ids, np.zeros((0, self.matrix.shape[1]), dtype=np.float32)
        return ids, self.get(ids)
