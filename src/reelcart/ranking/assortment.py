"""The catalog as the ranking sees it: what can be shown, in which groups, and how it fared.

Each product is linked to its category, merchant and hashtags (compared case-insensitively,
with or without ``#``) and to two diversity groups, a category (``c:<category>``) and a
merchant (``m:<merchant id>``), prefixed so that the two never collide in one "avoid" set.
Every product ever seen gets a dense row in counter arrays (impressions, signal, likes), so
popularity and "least shown" are a vectorized pass rather than a Python loop at 100k
products; the collaborative model numbers products by the same rows.

Used from the ranking thread only (see ``ranking.hybrid``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from reelcart.domain import Product
from reelcart.embeddings.index import VectorIndex
from reelcart.ranking import signals

#: Candidates fetched beyond those the shopper has already seen or disliked (seen ones
#: cluster around their taste); widened by 4 until enough pass the exclusions.
FIRST_FETCH = 64
#: The most popular products kept in order for cold shoppers (see ``popular_ranking``).
POPULAR_CACHE = 4096

#: Accepts a product id or not: the eligibility tests the picks filter candidates with.
Accept = Callable[[int], bool]


def label_key(label: str) -> str:
    """Categories and hashtags compare case-insensitively, with or without ``#``."""
    return label.strip().lstrip("#").casefold()


def category_group(category: str) -> str:
    """The diversity group of a category (a key from ``label_key``)."""
    return "c:" + category


def merchant_group(merchant_id: int) -> str:
    """The diversity group of a merchant."""
    return f"m:{merchant_id}"


def within(members: set[int], accept: Accept) -> Accept:
    """``accept``, for ``members`` only."""
    return lambda pid: pid in members and accept(pid)


class Assortment:
    """The products the ranking knows, their labels and groups, and their counters."""

    def __init__(self, index: VectorIndex) -> None:
        """Products' vectors come from ``index`` (for the centroids of interests)."""
        self.index = index
        self.products: dict[int, Product] = {}
        #: Products that may be picked: active, approved, in stock.
        self.available: set[int] = set()
        self.by_category: dict[str, set[int]] = {}
        self.by_merchant: dict[int, set[int]] = {}
        self.by_hashtag: dict[str, set[int]] = {}
        self.category_of: dict[int, str] = {}
        #: The diversity groups of each product, kept with the catalog: the eligibility
        #: test runs for every candidate of every pick (one tuple per (category, merchant)).
        self.groups_of: dict[int, tuple[str, str]] = {}
        self._group_pairs: dict[tuple[str, int], tuple[str, str]] = {}
        # Each group's members as an array, for the index to leave out (see ``excluded``).
        self._group_members: dict[str, np.ndarray] = {}
        self.clip_seconds: dict[int, float] = {}
        self._interest_vectors: dict[str, np.ndarray] = {}
        #: Each product's row in the counter arrays, and the product of each row.
        self.row: dict[int, int] = {}
        self.row_ids = np.zeros(0, dtype=np.int64)
        self.row_available = np.zeros(0, dtype=bool)
        self.impressions = np.zeros(0, dtype=np.int64)
        self.signal = np.zeros(0, dtype=np.float64)
        self.likes = np.zeros(0, dtype=np.int64)
        #: Impressions counted so far, all products together.
        self.impression_count = 0
        #: Changes since the popularity chart was last ranked (see ``popular_ranking``).
        self.popular_changes = 0
        self._popular_cache: tuple[int, np.ndarray, np.ndarray] | None = None
        self._tiebreak: np.ndarray = np.zeros(0, dtype=np.float64)

    # -- products ------------------------------------------------------------------------

    def update(self, product: Product) -> int:
        """Take a product's new state, labels and availability into account (it must not
        be deleted); returns its row."""
        old = self.products.get(product.id)
        if old is not None:
            self._unlink(old)
        self.products[product.id] = product
        self._link(product)
        row = self.row_of(product.id)
        if self.row_available[row] != product.available:
            self.popular_changes += 1
        self.row_available[row] = product.available
        if product.available:
            self.available.add(product.id)
        else:
            self.available.discard(product.id)
        return row

    def remove(self, product_id: int) -> None:
        """Forget a product (deleted); its counters stay in case it comes back."""
        old = self.products.pop(product_id, None)
        if old is not None:
            self._unlink(old)
        self.available.discard(product_id)
        row = self.row.get(product_id)
        if row is not None:
            self.row_available[row] = False
            self.popular_changes += 1

    def set_clip_seconds(self, product_id: int, seconds: float | None) -> None:
        """The length of a product's clip, against which dwell times are judged."""
        if seconds and seconds > 0:
            self.clip_seconds[product_id] = float(seconds)
        else:
            self.clip_seconds.pop(product_id, None)

    @staticmethod
    def _labels(product: Product) -> tuple[str, set[str]]:
        tags = {label_key(tag) for tag in product.hashtags if label_key(tag)}
        return label_key(product.category), tags

    def _link(self, product: Product) -> None:
        category, tags = self._labels(product)
        self.category_of[product.id] = category
        key = (category, product.merchant_id)
        groups = self._group_pairs.get(key)
        if groups is None:
            groups = (category_group(category) if category else "", merchant_group(key[1]))
            self._group_pairs[key] = groups
        self.groups_of[product.id] = groups
        for group in groups:
            self._group_members.pop(group, None)
        self.by_merchant.setdefault(product.merchant_id, set()).add(product.id)
        if category:
            self.by_category.setdefault(category, set()).add(product.id)
            self._interest_vectors.pop(category, None)
        for tag in tags:
            self.by_hashtag.setdefault(tag, set()).add(product.id)
            self._interest_vectors.pop(tag, None)

    def _unlink(self, product: Product) -> None:
        category, tags = self._labels(product)
        self.category_of.pop(product.id, None)
        for group in self.groups_of.pop(product.id, ()):
            self._group_members.pop(group, None)
        self.by_merchant.get(product.merchant_id, set()).discard(product.id)
        if category:
            self.by_category.get(category, set()).discard(product.id)
            self._interest_vectors.pop(category, None)
        for tag in tags:
            self.by_hashtag.get(tag, set()).discard(product.id)
            self._interest_vectors.pop(tag, None)

    def row_of(self, product_id: int) -> int:
        """The product's row in the counter arrays, given it on first sight."""
        row = self.row.get(product_id)
        if row is not None:
            return row
        row = len(self.row)
        if row == len(self.row_ids):
            size = max(64, 2 * row)
            self.row_ids = np.resize(self.row_ids, size)
            self.row_available = np.resize(self.row_available, size)
            self.impressions = np.resize(self.impressions, size)
            self.signal = np.resize(self.signal, size)
            self.likes = np.resize(self.likes, size)
            self.row_available[row:] = False
            self.impressions[row:] = 0
            self.signal[row:] = 0.0
            self.likes[row:] = 0
        self.row[product_id] = row
        self.row_ids[row] = product_id
        return row

    def category(self, product_id: int) -> str:
        """The product's category key ("" if none or unknown)."""
        return self.category_of.get(product_id, "")

    def groups(self, product_id: int) -> tuple[str, str]:
        """The diversity groups of a product: its category and its merchant."""
        return self.groups_of.get(product_id, ("", ""))

    def members(self, group: str) -> set[int]:
        """The products of a diversity group."""
        if group.startswith("m:"):
            return self.by_merchant.get(int(group[2:]), set())
        return self.by_category.get(group[2:], set())

    def interest_members(self, key: str) -> set[int]:
        """The products of a category or a hashtag (a key from ``label_key``)."""
        return self.by_category.get(key, set()) | self.by_hashtag.get(key, set())

    def excluded(self, groups: Iterable[str]) -> np.ndarray:
        """The products of these groups, as the index takes them to leave out. Each
        group's array is kept until its members change: at a million products a category
        holds thousands, too many to list again for every search."""
        parts = []
        for group in groups:
            members = self._group_members.get(group)
            if members is None:
                members = np.fromiter(self.members(group), dtype=np.int64)
                self._group_members[group] = members
            parts.append(members)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def interest_vector(self, key: str) -> np.ndarray | None:
        """The unit centroid of an interest's products (cached until they change), or None
        if none of them is embedded yet."""
        cached = self._interest_vectors.get(key)
        if cached is not None:
            return cached
        _, matrix = self.index.vectors(sorted(self.interest_members(key)))
        if len(matrix) == 0:
            return None
        mean = matrix.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm < 1e-9:
            return None
        vector = (mean / norm).astype(np.float32)
        self._interest_vectors[key] = vector
        return vector

    # -- eligibility ---------------------------------------------------------------------

    def eligible(self, seen: set[int], disliked: set[int], avoid: set[str]) -> Accept:
        """Accepts available products neither ``seen`` nor ``disliked``, outside the
        ``avoid`` groups. The sets are read when called, not copied."""
        available = self.available
        if not avoid:
            return lambda pid: pid in available and pid not in seen and pid not in disliked
        # Available products are linked, so they have groups; ``isdisjoint`` builds no set.
        groups_of = self.groups_of
        return lambda pid: (
            pid in available
            and pid not in seen
            and pid not in disliked
            and avoid.isdisjoint(groups_of[pid])
        )

    def has_unseen(self, seen: set[int], disliked: set[int]) -> bool:
        """Whether an available product is neither seen nor disliked."""
        return any(pid not in seen and pid not in disliked for pid in self.available)

    # -- counters ------------------------------------------------------------------------

    def count_impression(self, product_id: int) -> None:
        """One more impression of the product (nothing if it has no row)."""
        row = self.row.get(product_id)
        if row is not None:
            self.popular_changes += 1
            self.impressions[row] += 1
            self.impression_count += 1

    def count_reaction(self, product_id: int, weight: float, positive: bool) -> int | None:
        """Add a reaction's weight to the product's signal (and a like if ``positive``);
        returns its row, or None if it has none."""
        row = self.row.get(product_id)
        if row is not None:
            self.popular_changes += 1
            self.signal[row] += weight
            if positive:
                self.likes[row] += 1
        return row

    def popularity(self) -> np.ndarray:
        """Each row's popularity: its smoothed mean signal per impression (``signals``)."""
        n = len(self.row)
        return self.signal[:n] / (self.impressions[:n] + signals.POPULARITY_PRIOR_IMPRESSIONS)

    def popular_ranking(self) -> tuple[np.ndarray, np.ndarray]:
        """Popularity per row and the ``POPULAR_CACHE`` most popular rows, best first.

        Recomputed (an O(catalog) pass) once per hundredth of the catalog's size in
        changes, so at a million products a cold shopper's pick does not sort a million
        scores, while the chart of a shop under a hundred products is always exact.
        """
        n = len(self.row)
        cached = self._popular_cache
        if cached is not None and cached[0] == n and self.popular_changes < max(1, n // 100):
            return cached[1], cached[2]
        score = self.popularity()
        keys = self.tiebroken(score)
        keys[~self.row_available[:n]] = np.inf
        top = min(n, POPULAR_CACHE)
        order = np.argpartition(keys, top - 1)[:top] if top < n else np.arange(n)
        order = order[np.argsort(keys[order], kind="stable")]
        self._popular_cache = (n, score, order)
        self.popular_changes = 0
        return score, order

    def tiebroken(self, score: np.ndarray) -> np.ndarray:
        """Sort keys for ``score`` per row, best first, exact ties broken.

        Equal scores (a cold catalog) would follow insertion order, i.e. one merchant's
        whole range in a row. Exact ties are broken by a fixed scramble of the rows
        (golden-ratio steps), not by a random generator, so a replay stays identical. The
        scramble is computed once and kept: anew for every chart it cost more than the
        chart itself.
        """
        n = len(score)
        if len(self._tiebreak) < n:
            self._tiebreak = 1e-9 * (
                (np.arange(max(n, 2 * len(self._tiebreak))) * 0.6180339887498949) % 1.0
            )
        return self._tiebreak[:n] - score

    def ordered_rows(self, keys: np.ndarray, passed: int) -> Iterator[int]:
        """Rows of available products by ascending ``keys``, lazily: a partial sort of the
        first ``passed + FIRST_FETCH`` first (``passed``: how many the caller will likely
        turn down), widened only when the caller has turned down everything it returned."""
        rows = np.flatnonzero(self.row_available[: len(self.row)])
        keys = keys[rows]
        take = min(len(rows), passed + FIRST_FETCH)
        given: set[int] = set()
        while len(given) < len(rows):
            if take < len(rows):
                part = np.argpartition(keys, take - 1)[:take]
            else:
                part = np.arange(len(rows))
            # Ties broken by row, i.e. by when the product first appeared: deterministic. A
            # wider pass may order ties differently, hence the set of rows already given.
            part = part[np.lexsort((rows[part], keys[part]))]
            for position in part.tolist():
                if position not in given:
                    given.add(position)
                    yield int(rows[position])
            take = min(len(rows), 4 * take)

    def first(self, keys: np.ndarray, accept: Accept, want: int, passed: int) -> list[int]:
        """Up to ``want`` available products that ``accept`` lets through, by ascending
        ``keys`` per row (see ``ordered_rows`` for ``passed``)."""
        found: list[int] = []
        for row in self.ordered_rows(keys, passed):
            pid = int(self.row_ids[row])
            if accept(pid):
                found.append(pid)
                if len(found) >= want:
                    break
        return found
