"""The FAISS index of product vectors, searched by inner product (cosine on unit vectors).

Two shapes, one interface:

- **exact** while the catalog is small: ``IndexIDMap2(IndexFlatIP)``, a scan of every
  vector (about 1 ms at 10k x 384, 6 ms at 100k on this kind of machine);
- **approximate** above ``APPROXIMATE_THRESHOLD`` vectors: ``IndexIVFPQFastScan``, an
  inverted file of ``nlist`` k-means cells of which ``nprobe`` are scanned per query, each
  vector stored as 4-bit product-quantizer codes of its offset from its cell's centre (one
  code per ``COMPONENTS_PER_CODE`` components: 96 bytes at 384), then the best candidates
  it found (at least ``RERANK_MIN``, a margin beyond a larger ``k``: ``RERANK_FACTOR``,
  ``RERANK_EXTRA``) re-ranked by their exact vectors. IVF rather than HNSW because
  products change all the time: IVF removes and replaces vectors in place (FAISS's HNSW
  cannot remove at all) and builds a million vectors in a minute or two instead of many.
  FastScan because a query's cost is the codes it scans: it compares 4-bit codes in SIMD
  registers instead of decoding them. In ``benchmarks/next_card.py`` at a million
  products, a search of 128 cells took 3.5 ms with the 8-bit scalar codes used before and
  0.96 ms with these, so more cells fit the budget. Its codes are coarser, so the re-ranking takes
  more candidates (recall@10 at a million, 88 cells: 4-bit codes of 4 components with
  256 re-ranked 0.834; of 2 components, as here, 0.905; the 8-bit codes with 40, 0.914).

Every vector is also kept exactly, in float32 (``_Shelf``): for the re-ranking, for
``vector``/``vectors`` (the ranking scores candidates with them) and for retraining. That
is 1.5 KB per product (1.5 GB at a million), paid for speed and exactness. ``nprobe`` is
set so that recall@10 against exact search stays above 0.95
(``tests/embeddings/test_index.py`` measures it; ``benchmarks/next_card.py`` at 100k and
1M). The file ``save`` writes holds the FAISS index and the exact vectors together.

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
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import repeat
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


@contextmanager
def _one_thread() -> Iterator[None]:
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
#: ``MAX_NPROBE`` of them. Measured on the shoppers' tastes in ``benchmarks/next_card.py``
#: (recall@10 against exact search, with the re-ranking; median search time): at 100k
#: products (1264 cells) 32 cells 0.961 in 0.33 ms, 64 0.990 in 0.39 ms; at a million
#: (2828 cells) 64 cells 0.881 in 0.66 ms, 128 0.928 in 0.94 ms, 256 0.950 in 1.48 ms. A
#: taste blends several liked products, so at a million its ten nearest are spread over
#: many cells; the cap keeps the next card within its time budget there, at the cost of
#: that recall. The share gives 57 cells at 100k (recall@10 0.988) and the cap 128 at a
#: million (0.928).
NPROBE_SHARE = 1 / 22
MIN_NPROBE = 32
MAX_NPROBE = 128
#: The approximate search fetches ``k`` candidates plus this many times ``k`` more, at
#: most ``RERANK_EXTRA`` more (at least ``RERANK_MIN`` in all), and keeps the ``k`` best
#: by their exact vectors: a small ``k`` (the ten nearest) gets a wide margin, a large one
#: (hundreds of candidates for the ranking to filter) is not multiplied. 4-bit codes order
#: close neighbours coarsely: in ``tests/embeddings/test_index.py``'s recall test, codes of
#: 4 components of the vectors themselves gave recall@10 0.80 with 40 re-ranked, 0.96
#: with 200; the codes used now (offsets, 2 components) 0.99 with either. 256 is what the
#: million-product numbers above were measured with; re-ranking them costs about 0.1 ms.
RERANK_FACTOR = 3
RERANK_EXTRA = 128
RERANK_MIN = 256
#: k-means training points per cell (FAISS asks for at least 39), and its iterations: the
#: switch to IVF trains once, and at a million vectors more only costs minutes.
TRAIN_POINTS_PER_CELL = 40
TRAIN_ITERATIONS = 10
#: A retrain running behind swaps its cells in only when, since its snapshot, at most this
#: many products were added and at most this many of its cells hold a changed or removed
#: one; otherwise it starts over. An add costs about 30 us (measured at 400k products), so
#: a cell refilled (350 products at a million) about 10 ms: the swap holds searches for
#: 0.3 s at most.
CATCH_UP_MAX_NEW = 5_000
CATCH_UP_MAX_CELLS = 16
#: Components per product-quantizer code (4 bits each): 192 codes for 384 components.
COMPONENTS_PER_CODE = 2


def _codes_for(dim: int) -> int:
    """Product-quantizer codes per vector: one per ``COMPONENTS_PER_CODE`` components, or
    the next count that divides ``dim``."""
    return next(m for m in range(max(1, dim // COMPONENTS_PER_CODE), dim + 1) if dim % m == 0)


def _nlist_for(count: int) -> int:
    """Cells for ``count`` vectors: about 4 sqrt(n), FAISS's usual advice, with at least the
    39 training points per cell that its k-means asks for."""
    return int(max(1, min(4096, 4 * np.sqrt(max(count, 1)), count // 39)))


#: The shelf finds rows through an array indexed by product id while the largest id is
#: at most this many times the ids stored (SQLite's row ids are dense), else through its
#: dict alone.
LOOKUP_SPARSENESS = 4


def _grown(array: np.ndarray, size: int, fill: float) -> np.ndarray:
    """``array`` with at least ``size`` rows: itself if it has them, else a copy at least
    twice as long (so growing one id at a time stays cheap), the new rows set to ``fill``."""
    if len(array) >= size:
        return array
    grown = np.full((max(size, 2 * len(array)), *array.shape[1:]), fill, dtype=array.dtype)
    grown[: len(array)] = array
    return grown


class _Shelf:
    """The exact vectors by id: rows of one growable float32 matrix, freed rows reused.

    Rows are found by id through ``row``, and while ids are dense also through ``lookup``
    (row by id, -1 for none): one vectorized gather instead of a dict lookup per id. The
    ranking asks for the vectors of every candidate list and the index re-ranks hundreds
    of candidates per search; at 100k products those dict lookups cost 0.1-0.35 ms a
    search (cold entries of a large dict), the gather a few microseconds.
    """

    def __init__(self, dim: int) -> None:
        self.matrix = np.zeros((0, dim), dtype=np.float32)
        self.row: dict[int, int] = {}
        self.lookup: np.ndarray | None = np.zeros(0, dtype=np.intp)
        self._free: list[int] = []

    def put(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Store these vectors (replacing those of known ids)."""
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
            self.matrix = _grown(self.matrix, max(needed, 64), 0.0)
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
        self.lookup = _grown(self.lookup, top + 1, -1)
        self.lookup[ids] = rows

    def drop(self, ids: list[int]) -> None:
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


class _ReadWriteLock:
    """Many readers at once, or one writer.

    Searches and snapshots only read the FAISS index and the shelf, and FAISS allows
    concurrent reads: so a save's snapshot (most of a second at a million products) no
    longer holds up the feed's searches, only the changes, which must not interleave with
    it. A waiting writer holds off new readers, so changes are not starved. Not reentrant:
    code under the lock calls the unlocked helpers (``_items``), never a locked method.

    A pick takes the read side many times, so it is kept cheap: about 1 us uncontended,
    where a ``Condition`` and a ``contextmanager`` cost 2.7 us (an ``RLock``, 0.26 us).
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._read_side = _Side(self._acquire_read, self._release_read)
        self._write_side = _Side(self._acquire_write, self._release_write)

    def reading(self) -> _Side:
        return self._read_side

    def writing(self) -> _Side:
        return self._write_side

    def _acquire_read(self) -> None:
        with self._mutex:
            while self._writing or self._writers_waiting:
                self._changed.wait()
            self._readers += 1

    def _release_read(self) -> None:
        with self._mutex:
            self._readers -= 1
            if self._readers == 0 and self._writers_waiting:
                self._changed.notify_all()

    def _acquire_write(self) -> None:
        with self._mutex:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._changed.wait()
            except BaseException:
                self._writers_waiting -= 1
                self._changed.notify_all()  # the readers it held off may go on
                raise
            self._writers_waiting -= 1
            self._writing = True

    def _release_write(self) -> None:
        with self._mutex:
            self._writing = False
            self._changed.notify_all()


class _Side:
    """One side of a ``_ReadWriteLock``, as a context manager."""

    __slots__ = ("_acquire", "_release")

    def __init__(self, acquire: Callable[[], None], release: Callable[[], None]) -> None:
        self._acquire = acquire
        self._release = release

    def __enter__(self) -> None:
        self._acquire()

    def __exit__(self, *exc: object) -> None:
        self._release()


class VectorIndex:
    """Product vectors by product id, with nearest-neighbour search by inner product.

    Safe to share between threads: changes hold the lock alone (FAISS indexes must not be
    searched while they change), searches, reads and a save's snapshot share it.
    """

    def __init__(self, dim: int, *, approximate_threshold: int = APPROXIMATE_THRESHOLD) -> None:
        """An empty index of ``dim``-sized vectors, exact until it holds more than
        ``approximate_threshold`` of them."""
        if dim < 1:
            raise ValueError("dim must be positive")
        self.dim = dim
        self.approximate_threshold = approximate_threshold
        self._index: faiss.Index = self._new_faiss_index(dim)
        # The exact vectors; its ids double as a Python mirror of the index's, for
        # membership tests on the hot path of ranking without a trip through FAISS.
        self._shelf = _Shelf(dim)
        self._ids = self._shelf.row
        self._lock = _ReadWriteLock()
        self._version = 0
        #: How many vectors the IVF cells were trained on (0 while exact).
        self._trained_on = 0
        #: The IVF cell of each vector, by its shelf row (kept while approximate).
        self._cells = np.zeros(0, dtype=np.int64)
        self._nprobe: int | None = None
        #: The thread retraining the IVF cells behind, if one runs; while it does, the ids
        #: changed since its snapshot (it brings them up to date when it swaps its cells in).
        self._retrainer: threading.Thread | None = None
        self._touched: set[int] | None = None

    @staticmethod
    def _new_faiss_index(dim: int) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def approximate(self) -> bool:
        """Whether searches go through the IVF index rather than an exact scan."""
        return isinstance(self._index, faiss.IndexIVF)

    @property
    def tolerance(self) -> float:
        """How far (per component) ``vector`` may be from what was stored: 0, they are kept
        exactly (the 4-bit codes only serve the scan)."""
        return 0.0

    @property
    def nprobe(self) -> int:
        """IVF cells scanned per query (0 while exact); settable, for measurements (None
        goes back to the share of ``NPROBE_SHARE``)."""
        if not isinstance(self._index, faiss.IndexIVF):
            return 0
        if self._nprobe is not None:
            return int(min(self._index.nlist, self._nprobe))
        share = min(MAX_NPROBE, max(MIN_NPROBE, self._index.nlist * NPROBE_SHARE))
        return int(min(self._index.nlist, share))

    @nprobe.setter
    def nprobe(self, cells: int | None) -> None:
        if cells is not None and cells < 1:
            raise ValueError("nprobe must be positive")
        self._nprobe = cells

    def _trained_ivf(self, matrix: np.ndarray) -> faiss.IndexIVF:
        """An empty IVF index with cells trained on (a sample of) ``matrix``; touches
        nothing of ``self``, so it may run on any thread without the lock."""
        nlist = _nlist_for(len(matrix))
        quantizer = faiss.IndexFlatIP(self.dim)
        # FAISS's Python constructor keeps the quantizer alive as long as the index. Codes
        # of the vectors themselves, not of their offsets from the cell centre: FastScan
        # then scans every cell with one lookup table per query.
        ivf = faiss.IndexIVFPQFastScan(
            quantizer, self.dim, nlist, _codes_for(self.dim), 4, faiss.METRIC_INNER_PRODUCT
        )
        ivf.by_residual = True
        ivf.cp.niter = TRAIN_ITERATIONS
        sample = matrix
        limit = TRAIN_POINTS_PER_CELL * nlist
        if len(sample) > limit:
            rows = np.random.default_rng(0).choice(len(sample), limit, replace=False)
            sample = matrix[np.sort(rows)]
        # On one thread: the product quantizer trains many tiny k-means in parallel, and on
        # two busy cores their threads waited on each other (12k x 48: 0.1 s -> 8 s).
        with _one_thread():
            ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        return ivf

    def _build_ivf(self, ids: np.ndarray, matrix: np.ndarray) -> faiss.IndexIVF:
        """Replace the index by an IVF one trained on these vectors and holding them (the
        first switch from exact search, and an older file's index; growth retrains behind)."""
        ivf = self._trained_ivf(matrix)
        self._cells = np.zeros(len(self._shelf.matrix), dtype=np.int64)
        self._trained_on = len(ids)
        self._index = ivf
        if len(ids):
            self._add_vectors(ids, np.ascontiguousarray(matrix, dtype=np.float32))
        log.info("built an IVF index: %d vectors in %d cells", len(ids), ivf.nlist)
        return ivf

    def _maybe_reshape(self) -> None:
        """Switch to IVF past the threshold; retrain behind when grown far past the training.

        The switch itself is made at once: its training is on a few thousand vectors. A
        retrain is not: at 100k products it takes 10 s, at 400k 40 s, and in the meantime
        the feed, whose searches share this index, would wait.
        """
        count = len(self._ids)
        if count <= self.approximate_threshold:
            return
        if not self.approximate:
            self._build_ivf(*self._items())
        elif count > RETRAIN_GROWTH * max(self._trained_on, 1) and self._retrainer is None:
            self._retrainer = threading.Thread(
                target=self._retrain_behind, name="reelcart-index-retrain", daemon=True
            )
            self._retrainer.start()

    def _retrain_behind(self) -> None:
        """Train and fill new IVF cells from a snapshot, while the old ones go on serving
        searches and taking changes; then swap them in, with the changes made meanwhile.

        Bringing those changes into the new cells happens under the lock, so it must be
        small: when more changed (a bulk import going on), the new cells are dropped and
        the retrain starts over from a fresh snapshot, until the catalog holds still.
        """
        try:
            while True:
                with self._lock.reading():
                    ids, matrix = self._items()
                    self._touched = set()  # no writer runs now: later changes are recorded
                ivf = self._trained_ivf(matrix)
                if len(ids):
                    ivf.add_with_ids(matrix, ids)
                stored, cells = _ivf_lists(ivf)
                del matrix
                with self._lock.writing():
                    touched = np.fromiter(self._touched or (), dtype=np.int64)
                    held = np.isin(stored, touched)
                    if (
                        len(touched) - int(held.sum()) <= CATCH_UP_MAX_NEW
                        and len(np.unique(cells[held])) <= CATCH_UP_MAX_CELLS
                    ):
                        self._swap_in(ivf, stored, cells, touched, held)
                        break
                log.info("the catalog changed a lot during a retrain: starting it over")
            log.info("retrained the IVF index: %d vectors in %d cells", len(ids), ivf.nlist)
        except Exception:
            log.exception("retraining the IVF index failed; the old cells stay")
        finally:
            with self._lock.writing():
                self._touched = None
                self._retrainer = None

    def _swap_in(
        self,
        ivf: faiss.IndexIVF,
        stored: np.ndarray,
        cells: np.ndarray,
        touched: np.ndarray,
        held: np.ndarray,
    ) -> None:
        """Make ``ivf`` (holding ``stored`` in ``cells``, as of the snapshot) the index, and
        bring the ``touched`` products (changed since; ``held`` marks those of ``stored``)
        up to date in it. Under the lock: each touched product the snapshot held costs its
        cell emptied and refilled, each new one an add, hence the limits on both."""
        self._index = ivf
        self._trained_on = len(stored)
        self._cells = np.zeros(len(self._shelf.matrix), dtype=np.int64)
        # An id nobody changed since the snapshot still sits on the same shelf row.
        self._cells[self._shelf.rows(stored[~held])] = cells[~held]
        if len(touched):
            survivors = self._empty_cells(np.unique(cells[held]).tolist(), touched)
            if len(survivors):
                self._add_vectors(survivors, self._shelf.get(survivors))
            present = touched[[int(i) in self._ids for i in touched.tolist()]]
            if len(present):
                self._add_vectors(present, self._shelf.get(present))
        self._version += 1

    def wait_for_retrain(self, timeout: float | None = None) -> bool:
        """Wait for a retrain running behind to swap its cells in (benchmarks and tests:
        the index answers correctly meanwhile); returns whether none runs now."""
        thread = self._retrainer
        if thread is not None:
            thread.join(timeout)
        return self._retrainer is None

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
        with self._lock.writing():
            if self._touched is not None:
                self._touched.update(id_array.tolist())
            present = [int(i) for i in id_array if int(i) in self._ids]
            if present:
                self._remove_vectors(present)
            self._shelf.put(id_array, matrix)
            self._add_vectors(id_array, matrix)
            self._maybe_reshape()
            self._version += 1

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove these products' vectors; unknown ids are ignored. Returns how many went."""
        with self._lock.writing():
            present = [int(i) for i in _as_ids(ids) if int(i) in self._ids]
            if not present:
                return 0
            if self._touched is not None:
                self._touched.update(present)
            removed = self._remove_vectors(present)
            self._shelf.drop(present)
            self._version += 1
            return removed

    def _add_vectors(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add vectors (already on the shelf) to the FAISS index; an IVF index records the
        cell of each, for ``_remove_vectors``."""
        if not isinstance(self._index, faiss.IndexIVF):
            self._index.add_with_ids(matrix, ids)
            return
        # FastScan picks the cells itself (its ``add_core`` does not pack the codes it is
        # given), so the cells are read back from the lists: for a few vectors from the
        # cells their centres point to, for many from all of them.
        predicted = None
        if len(ids) < self._index.nlist:
            predicted = self._index.quantizer.search(matrix, 1)[1].ravel()
        self._index.add_with_ids(matrix, ids)
        self._cells = _grown(self._cells, len(self._shelf.matrix), 0)
        cells = np.full(len(ids), -1, dtype=np.int64)
        if predicted is not None:
            lists = self._index.invlists
            assert lists is not None
            for cell in np.unique(predicted).tolist():
                stored = faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell))
                cells[(predicted == cell) & np.isin(ids, stored)] = cell
        missing = cells < 0
        if missing.any():
            # Many vectors, or a near tie between two centres that FAISS's own assignment
            # broke the other way.
            stored, stored_cells = _ivf_lists(self._index)
            order = np.argsort(stored, kind="stable")
            at = order[np.searchsorted(stored, ids[missing], sorter=order)]
            cells[missing] = stored_cells[at]
        self._cells[self._shelf.rows(ids)] = cells

    def _remove_vectors(self, ids: list[int]) -> int:
        """Take these (indexed) ids out of the FAISS index; returns how many went.

        FastScan's ``remove_ids`` leaves its packed codes inconsistent (faiss 1.15.1: a
        vector added again after a removal is never found), so an IVF index empties the
        cells that hold them and adds the rest of those cells back from the shelf: about
        350 vectors per cell at a million products, a fraction of a millisecond each.
        """
        if not isinstance(self._index, faiss.IndexIVF):
            return int(self._index.remove_ids(_selector(ids)))
        gone = np.array(ids, dtype=np.int64)
        cells = np.unique(self._cells[self._shelf.rows(gone)]).tolist()
        survivors = self._empty_cells(cells, gone)
        if len(survivors):
            self._add_vectors(survivors, self._shelf.get(survivors))
        return len(ids)

    def _empty_cells(self, cells: list[int], gone: np.ndarray) -> np.ndarray:
        """Empty these cells of the IVF index; returns the ids they held, but ``gone``."""
        assert isinstance(self._index, faiss.IndexIVF)
        lists = self._index.invlists
        assert lists is not None
        kept: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        for cell in cells:
            size = lists.list_size(cell)
            stored = faiss.rev_swig_ptr(lists.get_ids(cell), size).copy()
            lists.resize(cell, 0)
            self._index.ntotal -= size
            kept.append(stored[~np.isin(stored, gone)])
        return np.concatenate(kept)

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
        with self._lock.reading():
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
            nprobe, nlist = self.nprobe, self._index.nlist
            fetch = max(RERANK_MIN, k + min(RERANK_FACTOR * k, RERANK_EXTRA))
            wanted: int | None = None
            while True:
                ivf_params = faiss.SearchParametersIVF()
                ivf_params.nprobe = nprobe
                if selector is not None:
                    ivf_params.sel = selector
                _, ids = self._run_search(matrix, fetch, ivf_params)
                found = int((ids >= 0).sum(axis=1).min())
                if nprobe >= nlist or found >= k:
                    return self._rerank(matrix, ids, k)
                if wanted is None:
                    # Counted only when short: the 2,000 excluded ids of a category at a
                    # million products took about 1 ms to count, on every search.
                    ids_excluded = [] if excluded is None else excluded.tolist()
                    hidden = sum(map(self._ids.__contains__, ids_excluded))
                    wanted = min(k, self._index.ntotal - hidden)
                if found >= wanted:
                    return self._rerank(matrix, ids, k)
                nprobe = min(nlist, 4 * nprobe)

    def _run_search(
        self, matrix: np.ndarray, k: int, params: faiss.SearchParameters | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(matrix) >= _PARALLEL_QUERIES:
            scores, ids = self._index.search(matrix, k, params=params)
        else:
            with _one_thread():
                scores, ids = self._index.search(matrix, k, params=params)
        scores[ids == -1] = -np.inf
        return scores, ids

    def _rerank(self, matrix: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best of each row of candidates ``ids`` by exact inner product."""
        scores = np.full((len(matrix), k), -np.inf, dtype=np.float32)
        best = np.full((len(matrix), k), -1, dtype=np.int64)
        for n, (query, row) in enumerate(zip(matrix, ids, strict=True)):
            found = row[row >= 0]
            if len(found) == 0:
                continue
            exact = self._shelf.get(found) @ query
            order = np.argsort(-exact, kind="stable")[:k]
            scores[n, : len(order)] = exact[order]
            best[n, : len(order)] = found[order]
        return scores, best

    def vector(self, product_id: int) -> np.ndarray | None:
        """The stored vector of ``product_id`` (a copy), or None if it is not indexed."""
        with self._lock.reading():
            row = self._ids.get(int(product_id))
            return None if row is None else self._shelf.matrix[row].copy()

    def vectors(self, product_ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` for those of ``product_ids`` that are indexed, in their order."""
        with self._lock.reading():
            return self._shelf.known(_as_ids(product_ids))

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` of everything indexed, by ascending id: for checks and rebuilds."""
        with self._lock.reading():
            return self._items()

    def _items(self) -> tuple[np.ndarray, np.ndarray]:
        ids = self._sorted_ids()
        if len(ids) == 0:
            return ids, np.zeros((0, self.dim), dtype=np.float32)
        return ids, self._shelf.get(ids)

    def _sorted_ids(self) -> np.ndarray:
        # In numpy, not by sorting the id dict: a save takes its snapshot on its own thread,
        # and sorting a million Python ints would hold the GIL (so the feed) for 0.3 s.
        lookup = self._shelf.lookup
        if lookup is not None:
            return np.flatnonzero(lookup >= 0).astype(np.int64)
        return np.sort(np.fromiter(self._ids, dtype=np.int64, count=len(self._ids)))

    def ids(self) -> np.ndarray:
        """Every indexed product id, ascending."""
        with self._lock.reading():
            return self._sorted_ids()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, product_id: object) -> bool:
        return isinstance(product_id, int | np.integer) and int(product_id) in self._ids

    # -- files -----------------------------------------------------------------------------

    def save(self, path: Path | str) -> None:
        """Write the index to ``path`` atomically: a crash leaves the old file or the new one.

        One uncompressed NumPy archive: the FAISS index (serialised), the ids and their
        exact vectors, so that the two never come from different moments. Two saves racing
        may leave the older snapshot last; start-up repairs the file against the database
        (``ProductEmbedder.sync_index``), so that costs nothing but the repair.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            # A snapshot that changes wait for (searches do not), written after.
            with self._lock.reading():
                ids, matrix = self._items()
                serialised = faiss.serialize_index(self._index)
            tmp = Path(tmp_name)
            with tmp.open("wb") as out:
                np.savez(out, faiss=serialised, ids=ids, vectors=matrix)
                out.flush()
                os.fsync(out.fileno())
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
        not what ``save`` writes (an older reelcart's bare FAISS file included: the caller
        rebuilds from the stored vectors), inconsistent, or of another size than ``dim``.
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
        cells = None
        if isinstance(raw, faiss.IndexIDMap2):
            stored = faiss.vector_to_array(raw.id_map).astype(np.int64)
        elif isinstance(raw, faiss.IndexIVF):
            stored, cells = _ivf_lists(raw)
        else:
            raise IndexFileError(f"{target}: not an index reelcart writes")
        if (
            len(ids) != len(matrix)
            or len(np.unique(ids)) != len(ids)
            or not np.array_equal(np.sort(stored), np.sort(ids))
        ):
            raise IndexFileError(f"{target}: the index and its vectors disagree")
        index = cls(dim, approximate_threshold=approximate_threshold)
        index._shelf.put(ids, matrix)
        if cells is None:
            index._index = raw
        elif isinstance(raw, faiss.IndexIVFPQFastScan):
            index._index = raw
            index._trained_on = len(ids)
            index._cells = np.zeros(len(index._shelf.matrix), dtype=np.int64)
            index._cells[index._shelf.rows(stored)] = cells
        else:
            # An older reelcart's 8-bit IVF index: retrained from the exact vectors beside it.
            log.info("%s: an older IVF index, rebuilt from its vectors", target)
            index._build_ivf(*index.items())
        return index


def _ivf_lists(index: faiss.IndexIVF) -> tuple[np.ndarray, np.ndarray]:
    """Every id stored in an IVF index's inverted lists, and the cell of each."""
    lists = index.invlists
    assert lists is not None
    sizes = np.array([lists.list_size(cell) for cell in range(index.nlist)], dtype=np.int64)
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(cell), int(sizes[cell])).copy()
        for cell in np.flatnonzero(sizes).tolist()
    ]
    ids = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    return ids, np.repeat(np.arange(index.nlist, dtype=np.int64), sizes)
