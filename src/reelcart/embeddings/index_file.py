"""The index file: the FAISS index and the exact vectors it was built from, together.

One uncompressed NumPy archive with three arrays: ``faiss`` (the serialised FAISS index:
``IndexIDMap2(IndexFlatIP)`` for the exact index, an ``IndexIVF`` for the approximate one),
``ids`` and ``vectors`` (the exact vector of each id), so that the two never come from
different moments.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)


class IndexFileError(ValueError):
    """An index file that cannot be used: unreadable, or built for another vector size."""


@dataclass(frozen=True)
class IndexSnapshot:
    """An index as of one moment: its FAISS index serialised, its ids and exact vectors."""

    faiss: np.ndarray
    ids: np.ndarray
    vectors: np.ndarray


@dataclass(frozen=True)
class IndexFile:
    """An index file as read, its arrays checked against each other and the vector size."""

    path: Path
    faiss: faiss.Index
    ids: np.ndarray
    vectors: np.ndarray

    def check_holds(self, stored: np.ndarray) -> None:
        """Raise IndexFileError unless the FAISS index holds exactly ``stored`` (its ids)."""
        if not np.array_equal(np.sort(stored), np.sort(self.ids)):
            raise IndexFileError(f"{self.path}: the index and its vectors disagree")


def write_index_file(path: Path | str, snapshot: IndexSnapshot) -> None:
    """Write ``snapshot`` to ``path`` atomically: a crash leaves the old file or the new one.

    Two saves racing may leave the older snapshot last; start-up repairs the file against
    the database (``ProductEmbedder.sync_index``), so that costs nothing but the repair.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with tmp.open("wb") as out:
            np.savez(out, faiss=snapshot.faiss, ids=snapshot.ids, vectors=snapshot.vectors)
            out.flush()
            os.fsync(out.fileno())
        # The rename is the commit point (atomic on POSIX within one directory).
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.debug("saved %d vectors to %s", len(snapshot.ids), target)


def read_index_file(path: Path | str, dim: int) -> IndexFile:
    """Read a file ``write_index_file`` wrote, for vectors of size ``dim``.

    Raises FileNotFoundError if there is no file, IndexFileError if it is unreadable, not
    what ``write_index_file`` writes (an older reelcart's bare FAISS file included: the
    caller rebuilds from the stored vectors), of another size than ``dim``, or its ids and
    vectors do not pair up. Whether the FAISS index holds those ids is ``check_holds``.
    """
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(target)
    try:
        with np.load(target, allow_pickle=False) as archive:
            raw = faiss.deserialize_index(archive["faiss"])
            ids = np.asarray(archive["ids"], dtype=np.int64)
            matrix = np.asarray(archive["vectors"], dtype=np.float32)
    except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as exc:
        raise IndexFileError(f"{target}: not an index reelcart wrote ({exc})") from None
    if raw.d != dim or matrix.ndim != 2 or matrix.shape[1] != dim:
        raise IndexFileError(f"{target}: vectors of size {raw.d}, expected {dim}")
    if len(ids) != len(matrix) or len(np.unique(ids)) != len(ids):
        raise IndexFileError(f"{target}: the index and its vectors disagree")
    return IndexFile(target, raw, ids, np.ascontiguousarray(matrix))
