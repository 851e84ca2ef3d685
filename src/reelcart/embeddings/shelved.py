"""What the exact and the IVF index share: the exact vectors on a ``Shelf``, the lock, the
version, and every read that needs only the shelf."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Self

import faiss
import numpy as np

from reelcart.embeddings.ids import as_ids
from reelcart.embeddings.index_file import (
    IndexFile,
    IndexSnapshot,
    read_index_file,
    write_index_file,
)
from reelcart.embeddings.rwlock import ReadWriteLock
from reelcart.embeddings.shelf import Shelf


class ShelvedIndex:
    """A FAISS index beside the exact vector of every id it holds.

    Subclasses own the FAISS index (``_index``) and how it changes and is searched; they
    change it and the shelf only under ``_lock.writing()`` and bump ``_version`` with each
    change. Searches, reads and a save's snapshot share the lock's read side.
    """

    def __init__(self, dim: int, index: faiss.Index, shelf: Shelf | None = None) -> None:
        self.dim = dim
        self._index = index
        self._shelf = shelf if shelf is not None else Shelf(dim)
        # The shelf's ids double as a Python mirror of the FAISS index's, for membership
        # tests on the hot path of ranking without a trip through FAISS.
        self._ids = self._shelf.row
        self._lock = ReadWriteLock()
        self._version = 0

    @property
    def version(self) -> int:
        """Changes whenever the index does: search results cached under it stay exact."""
        return self._version

    @property
    def tolerance(self) -> float:
        """How far (per component) ``vector`` may be from what was stored: 0, vectors are
        kept exactly whatever the FAISS index keeps for its scan."""
        return 0.0

    @property
    def faiss_total(self) -> int:
        """How many vectors the FAISS index holds: ``len(self)``, unless it is broken."""
        return int(self._index.ntotal)

    def vector(self, product_id: int) -> np.ndarray | None:
        """The stored vector of ``product_id`` (a copy), or None if it is not indexed."""
        with self._lock.reading():
            row = self._ids.get(int(product_id))
            return None if row is None else self._shelf.matrix[row].copy()

    def vectors(self, product_ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` for those of ``product_ids`` that are indexed, in their order."""
        with self._lock.reading():
            return self._shelf.known(as_ids(product_ids))

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` of everything indexed, by ascending id: for checks and rebuilds."""
        with self._lock.reading():
            return self._shelf.items()

    def ids(self) -> np.ndarray:
        """Every indexed product id, ascending."""
        with self._lock.reading():
            return self._shelf.ids()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, product_id: object) -> bool:
        return isinstance(product_id, int | np.integer) and int(product_id) in self._ids

    def snapshot(self) -> IndexSnapshot:
        """The whole index as of one moment, as its file holds it. Changes wait for it to
        be taken; searches do not."""
        with self._lock.reading():
            ids, matrix = self._shelf.items()
            serialised = faiss.serialize_index(self._index)
        return IndexSnapshot(serialised, ids, matrix)

    def save(self, path: Path | str) -> None:
        """Write the index to ``path`` atomically (``write_index_file``): a crash leaves
        the old file or the new one. Searches go on while its snapshot is taken."""
        write_index_file(path, self.snapshot())

    @classmethod
    def load(cls, path: Path | str, dim: int) -> Self:
        """Read an index of this kind that ``save`` wrote.

        Raises FileNotFoundError if there is no file, IndexFileError if it is not an index
        of this kind that reelcart wrote for vectors of size ``dim`` (see
        ``read_index_file``).
        """
        return cls.from_file(read_index_file(path, dim))

    @classmethod
    def from_file(cls, file: IndexFile) -> Self:
        """The index ``file`` holds; each kind says how it reads its own."""
        raise NotImplementedError
