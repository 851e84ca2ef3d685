"""The collaborative signal, "people who liked what you liked also liked", live.

Two layers, so that a like counts at once while the heavy model stays cheap to keep:

- **a model refreshed now and then**, an item-to-item matrix ``S`` (each product's strongest
  neighbours), built from the whole engagement log off the ranking thread. For the most
  engaged ``ease_items`` products it is EASE (Steck, 2019: a closed-form linear item-item
  model, ``B = -P / diag(P)`` with ``P = (X'X + lambda I)^-1``), which measured best on
  MovieLens-100k (``reelcart eval movielens``, README); products beyond that head get
  cosine item-kNN neighbours from sparse co-occurrence counts, rescaled to EASE's range,
  because inverting a million-by-million matrix is not an option.
- **live co-occurrence counts** since the last refresh: when a shopper engages with a
  product, the pair it forms with each of their recent positives is counted on the spot,
  so a product liked a minute ago already shows up for shoppers with similar likes.

A shopper's collaborative scores are ``sum_j w_j S[j, :]`` over their positives ``j`` with
recency weights ``w_j``, plus the live pairs. Refreshing is split in three so that the
ranking thread never waits: ``snapshot`` (cheap, on the ranking thread), ``build`` (pure,
seconds at 100k products, on any thread), ``install`` (cheap, on the ranking thread).

Only the ranking thread calls into an instance; ``build`` touches only its snapshot.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)

#: Products modelled by EASE (the most engaged ones); the rest get item-kNN neighbours.
#: A 3000 x 3000 inversion is a few seconds of one core, off the ranking thread.
EASE_ITEMS = 3000
#: EASE's L2 regularisation, chosen on MovieLens-100k (a broad optimum).
EASE_L2 = 300.0
#: Neighbours kept per product: scoring cost is (positives x neighbours).
NEIGHBOURS = 200
#: A shopper's positives that form live pairs with a new one.
PAIR_MEMORY = 20
#: An engagement weight above this counts as this (a buy is not five likes).
MAX_CELL = 2.0
#: Refresh after this many engagements since the last one.
REFRESH_EVERY = 5000
#: Up to this many products, a shopper's scores are summed into one dense array (a pass
#: over the catalog is cheaper than sorting the neighbours); beyond, over the ones found.
DENSE_SCORES = 1 << 16
#: Up to this many products, the live pairs are also kept as a dense matrix (4 MB at
#: most), so a shopper's live scores are one product of arrays instead of a loop over
#: their positives; a catalog that grows past it goes on with the sparse pairs alone.
DENSE_PAIRS = 1024


@dataclass(frozen=True)
class Snapshot:
    """The engagement log up to some point, for ``build`` to turn into a model."""

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    n_items: int
    #: How many log entries it covers (live pairs recorded before it are folded in).
    upto: int


@dataclass(frozen=True)
class Model:
    """Each product's neighbours (CSR rows over dense product rows) and their strengths."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    #: Engagements per product at build time (rows beyond the model's size: none).
    counts: np.ndarray
    #: A typical strong neighbour weight: live pairs are scaled to it.
    scale: float
    upto: int

    @property
    def n_items(self) -> int:
        return len(self.indptr) - 1


def _empty_model() -> Model:
    return Model(
        indptr=np.zeros(1, dtype=np.int64),
        indices=np.zeros(0, dtype=np.int32),
        values=np.zeros(0, dtype=np.float32),
        counts=np.zeros(0, dtype=np.float32),
        scale=1.0,
        upto=0,
    )


def _top_per_row(matrix: np.ndarray, keep: int) -> sp.csr_matrix:
    """The ``keep`` largest positive entries of each row of a dense matrix, as CSR."""
    rows, cols = matrix.shape
    if keep < cols:
        part = np.argpartition(-matrix, keep - 1, axis=1)[:, :keep]
        values = np.take_along_axis(matrix, part, axis=1)
        row_ids = np.repeat(np.arange(rows), keep)
        out = sp.csr_matrix((values.ravel(), (row_ids, part.ravel())), shape=(rows, cols))
    else:
        out = sp.csr_matrix(matrix)
    out.data[out.data < 0] = 0
    out.eliminate_zeros()
    return out


def _top_sparse(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """The ``keep`` largest entries of each row of a sparse matrix."""
    matrix = matrix.tocsr()
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    new_ptr = [0]
    new_idx: list[np.ndarray] = []
    new_val: list[np.ndarray] = []
    for row in range(matrix.shape[0]):
        start, end = indptr[row], indptr[row + 1]
        if end - start > keep:
            part = start + np.argpartition(-data[start:end], keep - 1)[:keep]
        else:
            part = np.arange(start, end)
        new_idx.append(indices[part])
        new_val.append(data[part])
        new_ptr.append(new_ptr[-1] + len(part))
    return sp.csr_matrix(
        (
            np.concatenate(new_val) if new_val else np.zeros(0),
            np.concatenate(new_idx) if new_idx else np.zeros(0, dtype=np.int32),
            np.array(new_ptr),
        ),
        shape=matrix.shape,
    )


def build(
    snapshot: Snapshot,
    *,
    ease_items: int = EASE_ITEMS,
    l2: float = EASE_L2,
    neighbours: int = NEIGHBOURS,
) -> Model:
    """The item-item model of a snapshot (pure: safe on any thread, touches nothing else)."""
    n_items = snapshot.n_items
    if n_items == 0 or len(snapshot.users) == 0:
        return _empty_model()
    n_users = int(snapshot.users.max()) + 1
    coo = sp.coo_matrix(
        (snapshot.weights.astype(np.float64), (snapshot.users, snapshot.items)),
        shape=(n_users, n_items),
    )
    # Duplicates sum: a like and a later unlike cancel; a buy after a like adds up.
    x = coo.tocsr()
    x.data = np.clip(x.data, 0.0, MAX_CELL)
    x.eliminate_zeros()
    counts = np.asarray((x > 0).sum(axis=0)).ravel().astype(np.float32)
    engaged = np.flatnonzero(counts > 0)
    if len(engaged) == 0:
        return _empty_model()
    head = engaged[np.argsort(-counts[engaged], kind="stable")[:ease_items]]
    head.sort()
    tail = np.setdiff1d(engaged, head)

    # EASE over the head.
    xh = x[:, head]
    gram = (xh.T @ xh).toarray()
    gram[np.diag_indices_from(gram)] += l2
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    head_top = _top_per_row(weights, min(neighbours, len(head))).tocoo()
    rows = [head[head_top.row]]
    cols = [head[head_top.col]]
    vals = [head_top.data]
    row_max = head_top.tocsr().max(axis=1).toarray().ravel()
    scale = float(np.mean(row_max[row_max > 0])) if (row_max > 0).any() else 1.0

    if len(tail):
        # Item-kNN for the long tail: cosine of co-occurrence with every engaged product.
        binary = x.copy()
        binary.data[:] = 1.0
        xt = binary[:, tail]
        co = (xt.T @ binary).tocsr()
        norms = np.sqrt(counts)
        co = sp.diags(1.0 / norms[tail]) @ co @ sp.diags(1.0 / np.maximum(norms, 1e-9))
        co = co.tocsr()
        # Drop the self pair (row tail[r], column tail[r]).
        coo_t = co.tocoo()
        keep = tail[coo_t.row] != coo_t.col
        co = sp.csr_matrix((coo_t.data[keep], (coo_t.row[keep], coo_t.col[keep])), shape=co.shape)
        tail_top = _top_sparse(co, neighbours).tocoo()
        tail_max = float(np.mean(tail_top.tocsr().max(axis=1).toarray())) or 1.0
        rows.append(tail[tail_top.row])
        cols.append(tail_top.col.astype(np.int64))
        vals.append(tail_top.data * (scale / tail_max))

    model = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
    )
    model.sort_indices()
    return Model(
        indptr=model.indptr.astype(np.int64),
        indices=model.indices.astype(np.int32),
        values=model.data.astype(np.float32),
        counts=counts,
        scale=scale,
        upto=snapshot.upto,
    )


class CoEngagement:
    """The engagement log and the collaborative model over it (see the module docstring).

    Products are addressed by dense rows (the recommender's own numbering); users by any
    integer id.
    """

    def __init__(
        self,
        *,
        ease_items: int = EASE_ITEMS,
        l2: float = EASE_L2,
        neighbours: int = NEIGHBOURS,
        refresh_every: int = REFRESH_EVERY,
    ) -> None:
        self.ease_items = ease_items
        self.l2 = l2
        self.neighbours = neighbours
        self.refresh_every = refresh_every
        self._user_row: dict[int, int] = {}
        self._users = np.zeros(1024, dtype=np.int32)
        self._items = np.zeros(1024, dtype=np.int32)
        self._weights = np.zeros(1024, dtype=np.float32)
        self._size = 0
        self._n_items = 0
        self._recent: dict[int, deque[int]] = {}
        # Live pairs, and the counts they are normalised by, since the model's snapshot.
        self._pairs: defaultdict[int, defaultdict[int, float]] = defaultdict(
            lambda: defaultdict(float)
        )
        self._live_counts: defaultdict[int, float] = defaultdict(float)
        self._pairs_before: dict[int, defaultdict[int, float]] = {}
        self._live_before: dict[int, float] = {}
        # Engagements per product row (the model's counts plus the live ones), kept up to
        # date as they come, and each product's live partners as arrays (dropped when its
        # pairs change): scoring then needs no Python loop over partners.
        self._totals = np.zeros(0, dtype=np.float64)
        self._partner_arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._pair_matrix: np.ndarray | None = np.zeros((0, 0), dtype=np.float32)
        self.model = _empty_model()
        #: Changes whenever scores may change: cached scores keyed on it stay right.
        self.version = 0
        #: Off for a bulk replay (the model is built once at its end instead).
        self.live = True
        self._forgotten = False

    # -- the log -----------------------------------------------------------------------

    def record(self, user_id: int, item: int, weight: float) -> None:
        """One engagement (positive or a take-back) of ``user_id`` with product row ``item``."""
        if weight == 0.0:
            return
        row = self._user_row.setdefault(user_id, len(self._user_row))
        if self._size == len(self._users):
            size = 2 * len(self._users)
            self._users = np.resize(self._users, size)
            self._items = np.resize(self._items, size)
            self._weights = np.resize(self._weights, size)
        self._users[self._size] = row
        self._items[self._size] = item
        self._weights[self._size] = weight
        self._size += 1
        self.grow(item + 1)
        recent = self._recent.setdefault(user_id, deque(maxlen=PAIR_MEMORY))
        if weight > 0 and self.live and item not in recent:
            self._live_counts[item] += 1.0
            self._totals[item] += 1.0
            for other in recent:
                self._pairs[other][item] += 1.0
                self._pairs[item][other] += 1.0
                self._partner_arrays.pop(other, None)
            if recent:
                self._partner_arrays.pop(item, None)
                if self._pair_matrix is not None:
                    others = np.fromiter(recent, dtype=np.int64, count=len(recent))
                    self._pair_matrix[others, item] += 1.0
                    self._pair_matrix[item, others] += 1.0
            self.version += 1
        if weight > 0:
            if item in recent:
                recent.remove(item)
            recent.append(item)
        elif item in recent:
            recent.remove(item)

    def forget(self, user_id: int) -> None:
        """Erase a shopper from the log (their data was deleted); the model built without
        them replaces the current one at the next refresh, which this makes due."""
        row = self._user_row.pop(user_id, None)
        self._recent.pop(user_id, None)
        if row is None:
            return
        self._weights[: self._size][self._users[: self._size] == row] = 0.0
        self._forgotten = True
        self.version += 1

    def grow(self, n_items: int) -> None:
        """Make room for product rows below ``n_items`` (rows never engaged with score 0)."""
        self._n_items = max(self._n_items, n_items)
        if len(self._totals) < n_items:
            grown = np.zeros(max(n_items, 2 * len(self._totals)), dtype=np.float64)
            grown[: len(self._totals)] = self._totals
            self._totals = grown
        matrix = self._pair_matrix
        if matrix is not None and len(matrix) < n_items:
            if n_items > DENSE_PAIRS:
                self._pair_matrix = None
            else:
                size = min(DENSE_PAIRS, max(n_items, 2 * len(matrix)))
                grown_pairs = np.zeros((size, size), dtype=np.float32)
                grown_pairs[: len(matrix), : len(matrix)] = matrix
                self._pair_matrix = grown_pairs

    @property
    def pending(self) -> int:
        """Engagements recorded since the model's snapshot."""
        return self._size - self.model.upto

    def needs_refresh(self) -> bool:
        """Whether enough has changed since the model's snapshot to rebuild it."""
        return self._forgotten or self.pending >= self.refresh_every

    # -- refreshing --------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The log so far, for ``build``; live pairs recorded until now move aside until the
        model built from it is installed."""
        for item, partners in self._pairs.items():
            bucket = self._pairs_before.setdefault(item, defaultdict(float))
            for other, count in partners.items():
                bucket[other] += count
        for item, count in self._live_counts.items():
            self._live_before[item] = self._live_before.get(item, 0.0) + count
        self._pairs = defaultdict(lambda: defaultdict(float))
        self._live_counts = defaultdict(float)
        self._forgotten = False
        size = self._size
        # The arrays only grow by appending (a resize makes new arrays), so slices of the
        # current ones stay valid while this thread goes on recording.
        return Snapshot(
            users=self._users[:size],
            items=self._items[:size],
            weights=self._weights[:size],
            n_items=self._n_items,
            upto=size,
        )

    def build(self, snapshot: Snapshot) -> Model:
        """``build`` with this instance's parameters (pure; any thread)."""
        return build(snapshot, ease_items=self.ease_items, l2=self.l2, neighbours=self.neighbours)

    def install(self, model: Model) -> None:
        """Use ``model`` from now on; the live pairs it already covers are dropped."""
        self.model = model
        self._pairs_before = {}
        self._live_before = {}
        self._partner_arrays = {}
        self.grow(model.n_items)
        self._totals[:] = 0.0
        self._totals[: len(model.counts)] = model.counts
        for item, count in self._live_counts.items():
            self._totals[item] += count
        if self._pair_matrix is not None:
            self._pair_matrix[:] = 0.0
            for item, partners in self._pairs.items():
                for other, count in partners.items():
                    self._pair_matrix[item, other] = count
        self.version += 1
        log.debug(
            "collaborative model: %d products, %d neighbour pairs, %d log entries",
            model.n_items, len(model.values), model.upto,
        )  # fmt: skip

    def refresh(self) -> None:
        """Snapshot, build and install in one go (start-up, tests, evaluation)."""
        self.install(self.build(self.snapshot()))

    # -- scoring -----------------------------------------------------------------------

    def _live_partners(self, item: int) -> dict[int, float]:
        now = self._pairs.get(item)
        before = self._pairs_before.get(item)
        if not before:
            return now or {}
        if not now:
            return before
        merged = dict(before)
        for other, count in now.items():
            merged[other] = merged.get(other, 0.0) + count
        return merged

    def _partners(self, item: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(partner rows, pair counts)`` of ``item``'s live pairs, or None (cached)."""
        cached = self._partner_arrays.get(item)
        if cached is None:
            partners = self._live_partners(item)
            if not partners:
                return None
            cached = (
                np.fromiter(partners, dtype=np.int64, count=len(partners)),
                np.fromiter(partners.values(), dtype=np.float64, count=len(partners)),
            )
            self._partner_arrays[item] = cached
        return cached

    def _count(self, item: int) -> float:
        """Engagements with product row ``item``, at least 1 (a normaliser)."""
        return max(float(self._totals[item]), 1.0) if item < len(self._totals) else 1.0

    def scores(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Collaborative scores from positives ``items`` (rows) weighted by ``weights``.

        Returns ``(rows, scores)`` for every product with a non-zero score, unordered.
        """
        model = self.model
        items = np.asarray(items, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        parts_rows: list[np.ndarray] = []
        parts_vals: list[np.ndarray] = []
        # The model's rows of all the positives at once: their CSR slices, concatenated.
        inside = items < model.n_items
        if inside.any():
            starts = model.indptr[items[inside]]
            lengths = model.indptr[items[inside] + 1] - starts
            total = int(lengths.sum())
            if total:
                offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
                at = offsets + np.arange(total)
                parts_rows.append(model.indices[at])
                parts_vals.append(model.values[at] * np.repeat(weights[inside], lengths))
        # Live pairs: each pair normalised by both ends' engagement counts (cosine-like).
        if self._pair_matrix is not None:
            n = self._n_items
            known = items < n  # a row never recorded nor grown to has no pairs
            sources = items[known]
            per_source = weights[known] / np.sqrt(np.maximum(self._totals[sources], 1.0))
            live = per_source @ self._pair_matrix[sources, :n]
            live *= model.scale / np.sqrt(np.maximum(self._totals[:n], 1.0))
            found = np.flatnonzero(live)
            if len(found):
                parts_rows.append(found)
                parts_vals.append(live[found])
        else:
            self._sparse_live(items, weights, parts_rows, parts_vals)
        if not parts_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        rows = np.concatenate(parts_rows)
        vals = np.concatenate(parts_vals).astype(np.float64)
        if self._n_items <= DENSE_SCORES:
            dense = np.bincount(rows, weights=vals, minlength=self._n_items)
            found = np.flatnonzero(dense)
            return found.astype(np.int64), dense[found]
        unique, inverse = np.unique(rows, return_inverse=True)
        return unique.astype(np.int64), np.bincount(inverse, weights=vals)

    def _sparse_live(
        self,
        items: np.ndarray,
        weights: np.ndarray,
        parts_rows: list[np.ndarray],
        parts_vals: list[np.ndarray],
    ) -> None:
        """Append the live part of ``scores`` from the sparse pairs, one positive at a time."""
        sources: list[int] = []
        source_weights: list[float] = []
        live: list[tuple[np.ndarray, np.ndarray]] = []
        for item, weight in zip(items.tolist(), weights.tolist(), strict=True):
            partners = self._partners(item)
            if partners is not None:
                sources.append(item)
                source_weights.append(weight)
                live.append(partners)
        if live:
            totals = self._totals
            lengths = np.array([len(others) for others, _ in live])
            others = np.concatenate([others for others, _ in live])
            counts = np.concatenate([counts for _, counts in live])
            per_source = np.array(source_weights) / np.sqrt(np.maximum(totals[sources], 1.0))
            theirs = np.sqrt(np.maximum(totals[others], 1.0))
            parts_rows.append(others)
            parts_vals.append(self.model.scale * counts * np.repeat(per_source, lengths) / theirs)

    def strengths(self, sources: np.ndarray, target: int) -> np.ndarray:
        """``strength(source, target)`` for each of the product rows ``sources``."""
        model = self.model
        sources = np.asarray(sources, dtype=np.int64)
        values = np.zeros(len(sources))
        inside = np.flatnonzero(sources < model.n_items)
        if len(inside):
            starts = model.indptr[sources[inside]]
            lengths = model.indptr[sources[inside] + 1] - starts
            total = int(lengths.sum())
            if total:
                at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
                hit = model.indices[at] == target
                owner = np.repeat(inside, lengths)[hit]
                np.add.at(values, owner, model.values[at][hit])
        # Live pairs are symmetric: the target's partners are the sources pointing to it.
        partners = self._live_partners(target)
        if partners:
            live = np.array([partners.get(source, 0.0) for source in sources.tolist()])
            if live.any():
                theirs = np.sqrt(np.maximum(self._totals[sources], 1.0))
                values += model.scale * live / (theirs * np.sqrt(self._count(target)))
        return values

    def strength(self, source: int, target: int) -> float:
        """How strongly product row ``source`` points to ``target`` (model and live pairs)."""
        model = self.model
        value = 0.0
        if source < model.n_items:
            start, end = model.indptr[source], model.indptr[source + 1]
            row = model.indices[start:end]
            at = int(np.searchsorted(row, target))
            if at < len(row) and row[at] == target:
                value += float(model.values[start + at])
        live = self._live_partners(source).get(target)
        if live:
            value += model.scale * live / np.sqrt(self._count(source) * self._count(target))
        return value
