"""The index of product vectors the shop uses: exact while the catalog is small, IVF past
``APPROXIMATE_THRESHOLD``, its cells retrained behind as the catalog grows.

``VectorIndex`` serves through one index at a time: an ``ExactIndex`` until an upsert takes
it past the threshold, then an ``IvfIndex`` trained on the vectors present then (made at
once: its training is on a few thousand vectors). Afterwards adds, updates and removals go
straight to the IVF lists, and the cells are retrained only when the catalog has grown
``RETRAIN_GROWTH`` times since they were trained, behind: a new ``IvfIndex`` is built from
a snapshot on a thread of its own while the serving one goes on answering searches and
taking changes, then it is brought up to date with the changes made meanwhile and takes
over. Callers rely only on ``search`` returning the best ``k`` it found, padded with ``-1``
only when nothing else qualifies. ``save`` writes the serving index's file (``index_file``);
``load`` reads either kind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

from reelcart.embeddings.exact import ExactIndex
from reelcart.embeddings.ids import as_ids
from reelcart.embeddings.index_file import IndexFileError, IndexSnapshot, read_index_file
from reelcart.embeddings.ivf import IvfIndex

log = logging.getLogger(__name__)

#: Above this many vectors the exact scan gives way to the IVF index: about as many as an
#: IVF search scans in a catalog of 100k, so the exact scan stops where it would cost more
#: than the approximate one.
APPROXIMATE_THRESHOLD = 5_000
#: The IVF cells are retrained when the catalog has grown this many times past their training.
RETRAIN_GROWTH = 4.0
#: A retrain running behind takes over only when, since its snapshot, at most this many
#: products were added and at most this many of its cells hold a changed or removed one;
#: otherwise it starts over from a fresh snapshot. Bringing those changes in holds up
#: other changes (not searches): an add per new product, a cell emptied and refilled per
#: changed one.
CATCH_UP_MAX_NEW = 5_000
CATCH_UP_MAX_CELLS = 16


class VectorIndex:
    """Product vectors by product id, with nearest-neighbour search by inner product (a
    ``ProductIndex``): exact while small, approximate (IVF) above the threshold.

    Safe to share between threads: reads go to the serving index, under its own lock;
    changes take turns, together with the switch to IVF and a retrain's take-over, so no
    change lands on an index being replaced.
    """

    def __init__(
        self,
        dim: int,
        *,
        approximate_threshold: int = APPROXIMATE_THRESHOLD,
        serving: ExactIndex | IvfIndex | None = None,
    ) -> None:
        """An index of ``dim``-sized vectors, exact until it holds more than
        ``approximate_threshold`` of them; it starts from ``serving`` (``load`` passes what
        a file held), else empty. Raises ValueError for a ``dim`` below 1 or not ``serving``'s.
        """
        if dim < 1:
            raise ValueError("dim must be positive")
        if serving is not None and serving.dim != dim:
            raise ValueError(f"the serving index holds vectors of size {serving.dim}, not {dim}")
        self.dim = dim
        self.approximate_threshold = approximate_threshold
        self._serving: ExactIndex | IvfIndex = serving if serving is not None else ExactIndex(dim)
        #: Held by every change, the switch and a retrain's snapshot and take-over.
        self._changing = threading.Lock()
        self._version = 0
        self._nprobe: int | None = None
        #: The thread retraining the IVF cells behind, if one runs; while it does, the ids
        #: changed since its snapshot (it brings them up to date before it takes over).
        self._retrainer: threading.Thread | None = None
        self._touched: set[int] | None = None

    @property
    def serving(self) -> ExactIndex | IvfIndex:
        """The index that answers now (replaced by the switch to IVF and by retrains)."""
        return self._serving

    @property
    def approximate(self) -> bool:
        """Whether searches go through the IVF index rather than an exact scan."""
        return isinstance(self._serving, IvfIndex)

    @property
    def tolerance(self) -> float:
        """How far (per component) ``vector`` may be from what was stored: 0, vectors are
        kept exactly (the IVF index's 4-bit codes only serve its scan)."""
        return self._serving.tolerance

    @property
    def version(self) -> int:
        """Changes whenever the index does: search results cached under it stay exact."""
        return self._version

    @property
    def nprobe(self) -> int:
        """IVF cells scanned per query (0 while exact); settable, for measurements (None
        goes back to ``IvfIndex``'s own choice), and kept across retrains."""
        serving = self._serving
        return serving.nprobe if isinstance(serving, IvfIndex) else 0

    @nprobe.setter
    def nprobe(self, cells: int | None) -> None:
        if cells is not None and cells < 1:
            raise ValueError("nprobe must be positive")
        with self._changing:
            self._nprobe = cells
            if isinstance(self._serving, IvfIndex):
                self._serving.nprobe = cells

    # -- changes ---------------------------------------------------------------------------

    def upsert(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids`` (rows of ``vectors``, in that order).

        A product id repeated within one call keeps its last vector. Raises ValueError when
        the shapes do not match.
        """
        id_array = as_ids(ids)
        with self._changing:
            self._serving.upsert(id_array, vectors)
            if len(id_array) == 0:
                return
            if self._touched is not None:
                self._touched.update(id_array.tolist())
            self._reshape()
            self._version += 1

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove these products' vectors; unknown ids are ignored. Returns how many went."""
        id_array = as_ids(ids)
        with self._changing:
            touched = self._touched
            if touched is not None:
                touched.update(pid for pid in id_array.tolist() if pid in self._serving)
            removed = self._serving.remove(id_array)
            if removed:
                self._version += 1
            return removed

    def _reshape(self) -> None:
        """Switch to IVF past the threshold; retrain behind when grown far past the training.

        Under ``_changing``. The switch is made at once, its training being on a few
        thousand vectors; a retrain is not: its training grows with the catalog, and the
        changes would wait for it meanwhile.
        """
        serving = self._serving
        count = len(serving)
        if count <= self.approximate_threshold:
            return
        if isinstance(serving, ExactIndex):
            ivf = IvfIndex.build(*serving.items())
            ivf.nprobe = self._nprobe
            self._serving = ivf
            log.info("built an IVF index: %d vectors in %d cells", len(ivf), ivf.nlist)
        elif count > RETRAIN_GROWTH * max(serving.trained_on, 1) and self._retrainer is None:
            self._retrainer = threading.Thread(
                target=self._retrain_behind, name="reelcart-index-retrain", daemon=True
            )
            self._retrainer.start()

    def _retrain_behind(self) -> None:
        """Build a new IVF index from a snapshot while the serving one goes on serving
        searches and taking changes; then bring it up to date and let it take over.

        Bringing the changes made meanwhile into it holds up other changes, so it must be
        small: when more changed (a bulk import going on), the new index is dropped and the
        retrain starts over from a fresh snapshot, until the catalog holds still.
        """
        try:
            while True:
                with self._changing:
                    ids, matrix = self._serving.items()
                    self._touched = set()  # no change runs now: later ones are recorded
                fresh = IvfIndex.build(ids, matrix)
                with self._changing:
                    if self._take_over(fresh):
                        break
                log.info("the catalog changed a lot during a retrain: starting it over")
            log.info("retrained the IVF index: %d vectors in %d cells", len(ids), fresh.nlist)
        except Exception:
            log.exception("retraining the IVF index failed; the old cells stay")
        finally:
            with self._changing:
                self._touched = None
                self._retrainer = None

    def _take_over(self, fresh: IvfIndex) -> bool:
        """Bring ``fresh`` (built from a snapshot) up to date with the products changed
        since, and make it the serving index; or return False, leaving everything as it
        is, when more changed than ``CATCH_UP_MAX_NEW`` and ``CATCH_UP_MAX_CELLS`` allow.
        Under ``_changing``."""
        touched = np.fromiter(self._touched or (), dtype=np.int64)
        held = fresh.cells_of(touched)  # the cells of the touched products it holds
        if len(touched) - len(held) > CATCH_UP_MAX_NEW or len(np.unique(held)) > CATCH_UP_MAX_CELLS:
            return False
        if len(touched):
            fresh.remove([pid for pid in touched.tolist() if pid not in self._serving])
            fresh.upsert(*self._serving.vectors(touched))
        fresh.nprobe = self._nprobe
        self._serving = fresh
        self._version += 1
        return True

    def wait_for_retrain(self, timeout: float | None = None) -> bool:
        """Wait for a retrain running behind to take over (benchmarks and tests: the index
        answers correctly meanwhile); returns whether none runs now."""
        thread = self._retrainer
        if thread is not None:
            thread.join(timeout)
        return self._retrainer is None

    # -- reading ---------------------------------------------------------------------------

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
        return self._serving.search(queries, k, exclude=exclude)

    def vector(self, product_id: int) -> np.ndarray | None:
        """The stored vector of ``product_id`` (a copy), or None if it is not indexed."""
        return self._serving.vector(product_id)

    def vectors(self, product_ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` for those of ``product_ids`` that are indexed, in their order."""
        return self._serving.vectors(product_ids)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` of everything indexed, by ascending id: for checks and rebuilds."""
        return self._serving.items()

    def ids(self) -> np.ndarray:
        """Every indexed product id, ascending."""
        return self._serving.ids()

    def __len__(self) -> int:
        return len(self._serving)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._serving

    # -- files -----------------------------------------------------------------------------

    def snapshot(self) -> IndexSnapshot:
        """The whole index as of one moment, as its file holds it. Changes wait for it to
        be taken; searches do not."""
        return self._serving.snapshot()

    def save(self, path: Path | str) -> None:
        """Write the index to ``path`` atomically: a crash leaves the old file or the new one.

        One file holds the FAISS index and the exact vectors, taken at one moment (see
        ``index_file``); searches go on while the snapshot is taken.
        """
        self._serving.save(path)

    @classmethod
    def load(
        cls, path: Path | str, dim: int, *, approximate_threshold: int = APPROXIMATE_THRESHOLD
    ) -> VectorIndex:
        """Read an index written by ``save`` (exact or IVF, whichever it was).

        Raises FileNotFoundError if there is no file, IndexFileError if it is unreadable,
        not what ``save`` writes (an older reelcart's bare FAISS file included: the caller
        rebuilds from the stored vectors), inconsistent, or of another size than ``dim``.
        """
        file = read_index_file(path, dim)
        serving: ExactIndex | IvfIndex
        if isinstance(file.faiss, faiss.IndexIDMap2):
            serving = ExactIndex.from_file(file)
        elif isinstance(file.faiss, faiss.IndexIVF):
            serving = IvfIndex.from_file(file)
        else:
            raise IndexFileError(f"{file.path}: not an index reelcart writes")
        return cls(dim, approximate_threshold=approximate_threshold, serving=serving)
