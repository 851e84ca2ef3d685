"""The approximate index: ``IndexIVFPQFastScan``, its best candidates re-ranked exactly.

An inverted file of ``nlist`` k-means cells of which ``nprobe`` are scanned per query, each
vector stored as 4-bit product-quantizer codes of its offset from its cell's centre (one
code per ``COMPONENTS_PER_CODE`` components), then the best candidates the scan found (at
least ``RERANK_MIN``, a margin beyond a larger ``k``: ``RERANK_FACTOR``, ``RERANK_EXTRA``)
re-ranked by their exact vectors.

IVF rather than HNSW because products change all the time: IVF removes and replaces vectors
in place (FAISS's HNSW cannot remove at all) and builds a large catalog far faster.
FastScan because a query's cost is the codes it scans: it compares 4-bit codes in SIMD
registers instead of decoding them, so more cells fit the next card's time budget; its
codes are coarser, so the re-ranking takes more candidates.

Every vector is also kept exactly, in float32 (the ``Shelf``): for the re-ranking, for
``vector``/``vectors`` (the ranking scores candidates with them) and for retraining: 4 bytes
per component, paid for speed and exactness. ``nprobe`` is set so that recall@10 against
exact search stays above 0.95 (``tests/embeddings/test_product_index.py`` measures it against
``ExactIndex``; ``benchmarks/next_card.py`` at 100k and 1M products).

The cells are trained once, when the index is made (``train``, ``build``); afterwards adds,
updates and removals go straight to the inverted lists. Retraining is building another
index (``VectorIndex`` does it behind, when the catalog has grown).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import faiss
import numpy as np

from reelcart.embeddings.faiss_search import as_queries, empty_results, one_thread, run_search
from reelcart.embeddings.ids import as_changes, as_ids, exclusion_selector
from reelcart.embeddings.index_file import IndexFile, IndexFileError
from reelcart.embeddings.shelf import grown
from reelcart.embeddings.shelved import ShelvedIndex

log = logging.getLogger(__name__)

#: Share of the IVF cells scanned per query, at least ``MIN_NPROBE`` and at most
#: ``MAX_NPROBE`` of them, read off the recall/time curve ``benchmarks/next_card.py``
#: prints (recall@10 against exact search by cells scanned, on the shoppers' tastes). A
#: taste blends several liked products, so in a large catalog its ten nearest are spread
#: over many cells; the cap keeps the next card within its time budget there, at the cost
#: of some recall.
NPROBE_SHARE = 1 / 22
MIN_NPROBE = 32
MAX_NPROBE = 128
#: The approximate search fetches ``k`` candidates plus this many times ``k`` more, at
#: most ``RERANK_EXTRA`` more (at least ``RERANK_MIN`` in all), and keeps the ``k`` best
#: by their exact vectors: a small ``k`` (the ten nearest) gets a wide margin, since 4-bit
#: codes order close neighbours coarsely; a large one (hundreds of candidates for the
#: ranking to filter) is not multiplied.
RERANK_FACTOR = 3
RERANK_EXTRA = 128
RERANK_MIN = 256
#: k-means training points per cell (FAISS asks for at least 39), and its iterations: few,
#: since training is what a switch to IVF or a retrain waits for.
TRAIN_POINTS_PER_CELL = 40
TRAIN_ITERATIONS = 10
#: Components per product-quantizer code (4 bits each): 192 codes for 384 components.
COMPONENTS_PER_CODE = 2


def codes_for(dim: int) -> int:
    """Product-quantizer codes per vector: one per ``COMPONENTS_PER_CODE`` components, or
    the next count that divides ``dim``."""
    return next(m for m in range(max(1, dim // COMPONENTS_PER_CODE), dim + 1) if dim % m == 0)


def nlist_for(count: int) -> int:
    """Cells for ``count`` vectors: about 4 sqrt(n), FAISS's usual advice, with at least the
    39 training points per cell that its k-means asks for."""
    return int(max(1, min(4096, 4 * np.sqrt(max(count, 1)), count // 39)))


def trained_cells(sample: np.ndarray) -> faiss.IndexIVFPQFastScan:
    """An empty IVF index with ``nlist_for(len(sample))`` cells trained on (a share of)
    ``sample``, rows of the vector size."""
    dim = sample.shape[1]
    nlist = nlist_for(len(sample))
    # FAISS's Python constructor keeps the quantizer alive as long as the index.
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFPQFastScan(
        quantizer, dim, nlist, codes_for(dim), 4, faiss.METRIC_INNER_PRODUCT
    )
    # Codes of each vector's offset from its cell's centre, not of the vector itself: the
    # offsets are smaller, so 4-bit codes describe them more finely.
    ivf.by_residual = True
    ivf.cp.niter = TRAIN_ITERATIONS
    limit = TRAIN_POINTS_PER_CELL * nlist
    if len(sample) > limit:
        rows = np.random.default_rng(0).choice(len(sample), limit, replace=False)
        sample = sample[np.sort(rows)]
    # On one thread: the product quantizer trains many tiny k-means in parallel, and on
    # two busy cores their threads wait on each other, many times slower than one.
    with one_thread():
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
    return ivf


def ivf_lists(index: faiss.IndexIVF) -> tuple[np.ndarray, np.ndarray]:
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


class IvfIndex(ShelvedIndex):
    """Product vectors by product id, searched approximately by inner product through
    trained IVF cells, the best candidates re-ranked exactly (a ``ProductIndex``).

    Safe to share between threads: changes hold the lock alone (FAISS indexes must not be
    searched while they change), searches, reads and a save's snapshot share it.
    """

    def __init__(self, cells: faiss.IndexIVF, *, trained_on: int = 0) -> None:
        """An index over the trained, empty IVF index ``cells`` (``train`` and ``build``
        make them), whose training stands for ``trained_on`` vectors."""
        super().__init__(cells.d, cells)
        self._ivf = cells  # the same index as ``_index``, typed as what it is
        self._trained_on = trained_on
        #: The IVF cell of each vector, by its shelf row (for ``_remove_vectors``).
        self._cells = np.zeros(0, dtype=np.int64)
        self._nprobe: int | None = None

    @classmethod
    def train(cls, sample: np.ndarray) -> IvfIndex:
        """An empty index whose cells are trained on ``sample`` (rows of the vector size)."""
        return cls(trained_cells(sample), trained_on=len(sample))

    @classmethod
    def build(cls, ids: np.ndarray, matrix: np.ndarray) -> IvfIndex:
        """An index with cells trained on ``matrix`` and holding it as the vectors of
        ``ids`` (distinct). The matrix is kept, not copied: the caller hands it over."""
        id_array = as_ids(ids)
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        index = cls(trained_cells(matrix), trained_on=len(id_array))
        if len(id_array):
            index._shelf.adopt(id_array, matrix)
            index._add_vectors(id_array, matrix)
        return index

    @property
    def nlist(self) -> int:
        """How many cells the vectors are spread over."""
        return int(self._ivf.nlist)

    @property
    def trained_on(self) -> int:
        """How many vectors the index held when its cells were trained."""
        return self._trained_on

    @property
    def nprobe(self) -> int:
        """IVF cells scanned per query; settable, for measurements (None goes back to the
        share of ``NPROBE_SHARE``)."""
        nlist = self._ivf.nlist
        if self._nprobe is not None:
            return int(min(nlist, self._nprobe))
        share = min(MAX_NPROBE, max(MIN_NPROBE, nlist * NPROBE_SHARE))
        return int(min(nlist, share))

    @nprobe.setter
    def nprobe(self, cells: int | None) -> None:
        if cells is not None and cells < 1:
            raise ValueError("nprobe must be positive")
        self._nprobe = cells

    def cells_of(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """The cell of each of ``ids`` that the index holds, in their order."""
        with self._lock.reading():
            rows = self._shelf.rows(as_ids(ids))
            return self._cells[rows[rows >= 0]]

    # -- changes ---------------------------------------------------------------------------

    def upsert(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids`` (rows of ``vectors``, in that order),
        in the cells trained already.

        A product id repeated within one call keeps its last vector. Raises ValueError when
        the shapes do not match.
        """
        id_array, matrix = as_changes(ids, vectors, self.dim)
        if len(id_array) == 0:
            return
        with self._lock.writing():
            present = [pid for pid in id_array.tolist() if pid in self._ids]
            if present:
                self._remove_vectors(present)
            self._shelf.put(id_array, matrix)
            self._add_vectors(id_array, matrix)
            self._version += 1

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove these products' vectors; unknown ids are ignored. Returns how many went."""
        with self._lock.writing():
            present = [pid for pid in as_ids(ids).tolist() if pid in self._ids]
            if not present:
                return 0
            removed = self._remove_vectors(present)
            self._shelf.drop(present)
            self._version += 1
            return removed

    def _add_vectors(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add vectors (already on the shelf) to the IVF index, recording the cell of each."""
        # FastScan picks the cells itself (its ``add_core`` does not pack the codes it is
        # given), so the cells are read back from the lists: for a few vectors from the
        # cells their centres point to, for many from all of them.
        predicted = None
        if len(ids) < self._ivf.nlist:
            predicted = self._ivf.quantizer.search(matrix, 1)[1].ravel()
        self._ivf.add_with_ids(matrix, ids)
        self._cells = grown(self._cells, len(self._shelf.matrix), 0)
        cells = np.full(len(ids), -1, dtype=np.int64)
        if predicted is not None:
            lists = self._ivf.invlists
            assert lists is not None
            for cell in np.unique(predicted).tolist():
                stored = faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell))
                cells[(predicted == cell) & np.isin(ids, stored)] = cell
        missing = cells < 0
        if missing.any():
            # Many vectors, or a near tie between two centres that FAISS's own assignment
            # broke the other way.
            stored, stored_cells = ivf_lists(self._ivf)
            order = np.argsort(stored, kind="stable")
            at = order[np.searchsorted(stored, ids[missing], sorter=order)]
            cells[missing] = stored_cells[at]
        self._cells[self._shelf.rows(ids)] = cells

    def _remove_vectors(self, ids: list[int]) -> int:
        """Take these (indexed) ids out of the IVF index; returns how many went.

        FastScan's ``remove_ids`` leaves its packed codes inconsistent (faiss 1.15.1: a
        vector added again after a removal is never found), so this empties the cells that
        hold them and adds the rest of those cells back from the shelf: a few hundred
        vectors per cell in a large catalog.
        """
        gone = np.array(ids, dtype=np.int64)
        cells = np.unique(self._cells[self._shelf.rows(gone)]).tolist()
        survivors = self._empty_cells(cells, gone)
        if len(survivors):
            self._add_vectors(survivors, self._shelf.get(survivors))
        return len(ids)

    def _empty_cells(self, cells: list[int], gone: np.ndarray) -> np.ndarray:
        """Empty these cells of the IVF index; returns the ids they held, but ``gone``."""
        lists = self._ivf.invlists
        assert lists is not None
        kept: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        for cell in cells:
            size = lists.list_size(cell)
            stored = faiss.rev_swig_ptr(lists.get_ids(cell), size).copy()
            lists.resize(cell, 0)
            self._ivf.ntotal -= size
            kept.append(stored[~np.isin(stored, gone)])
        return np.concatenate(kept)

    # -- reading ---------------------------------------------------------------------------

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        exclude: Iterable[int] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best products for each query that the cells scanned hold, best first
        by their exact vectors: ``(scores, ids)``.

        ``queries`` is one vector or a ``(n, dim)`` array; the results are ``(n, k)``.
        ``exclude`` are ids never to return, skipped inside the scan itself. When fewer
        than ``k`` products qualify in the cells scanned, more cells are scanned, up to all
        of them, so a row is padded (id ``-1``, score ``-inf``) only when no other product
        qualifies. Raises ValueError for queries of another size or a ``k`` below 1.
        """
        matrix = as_queries(queries, self.dim, k)
        excluded = as_ids(exclude) if exclude is not None else None
        selector = exclusion_selector(excluded)
        with self._lock.reading():
            if self._ivf.ntotal == 0:
                return empty_results(len(matrix), k)
            nprobe, nlist = self.nprobe, self._ivf.nlist
            fetch = max(RERANK_MIN, k + min(RERANK_FACTOR * k, RERANK_EXTRA))
            wanted: int | None = None
            while True:
                params = faiss.SearchParametersIVF()
                params.nprobe = nprobe
                if selector is not None:
                    params.sel = selector
                _, ids = run_search(self._ivf, matrix, fetch, params)
                found = int((ids >= 0).sum(axis=1).min())
                if nprobe >= nlist or found >= k:
                    return self._rerank(matrix, ids, k)
                if wanted is None:
                    # Counted only when short: counting walks every excluded id, too slow
                    # to pay on every search.
                    ids_excluded = [] if excluded is None else excluded.tolist()
                    hidden = sum(map(self._ids.__contains__, ids_excluded))
                    wanted = min(k, self._ivf.ntotal - hidden)
                if found >= wanted:
                    return self._rerank(matrix, ids, k)
                nprobe = min(nlist, 4 * nprobe)

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

    # -- files -----------------------------------------------------------------------------

    @classmethod
    def from_file(cls, file: IndexFile) -> IvfIndex:
        """The IVF index ``file`` holds; raises IndexFileError if it holds another kind,
        or its FAISS index and its vectors disagree."""
        raw = file.faiss
        if not isinstance(raw, faiss.IndexIVF):
            raise IndexFileError(f"{file.path}: not an IVF index reelcart writes")
        stored, cells = ivf_lists(raw)
        file.check_holds(stored)
        if not isinstance(raw, faiss.IndexIVFPQFastScan):
            # An older reelcart's 8-bit IVF index: retrained from the exact vectors beside it.
            log.info("%s: an older IVF index, rebuilt from its vectors", file.path)
            return cls.build(file.ids, file.vectors)
        index = cls(raw, trained_on=len(file.ids))
        index._shelf.adopt(file.ids, file.vectors)
        index._cells = np.zeros(len(index._shelf.matrix), dtype=np.int64)
        index._cells[index._shelf.rows(stored)] = cells
        return index
