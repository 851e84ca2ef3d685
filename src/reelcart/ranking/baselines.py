"""The classic baselines the feed's ranking is measured against, as ``Recommender``s.

Each ranks a fixed list of product ids (the catalog it is built with) from the shoppers'
history: which products each shopper was shown or reacted to (never recommended to them
again) and which they engaged with (``signals.POSITIVE_KINDS``; an unlike or "not for me"
takes the engagement back). ``reelcart eval movielens`` reports them beside reelcart:

- ``RandomRecommender``: unseen products in a random order (seeded): the floor.
- ``MostPopular``: the products the most shoppers engaged with.
- ``ItemKNN``: item-based k nearest neighbours, cosine on co-engagement, the classic
  collaborative baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from reelcart.domain import EventKind, Reaction
from reelcart.ranking import signals

#: Reactions that take a shopper's engagement with a product back.
TAKE_BACK_KINDS = frozenset({EventKind.UNLIKE, EventKind.DISLIKE})


class History:
    """What each shopper was shown or reacted to, and what they engaged with."""

    def __init__(self) -> None:
        self.seen: dict[int, set[int]] = {}
        self.positives: dict[int, set[int]] = {}

    def record(self, reaction: Reaction) -> int:
        """Take one event into account; returns +1 if it adds an engagement (a new
        shopper-product pair), -1 if it takes one back, else 0."""
        user, product = reaction.user_id, reaction.product_id
        self.seen.setdefault(user, set()).add(product)
        if reaction.kind in signals.POSITIVE_KINDS:
            mine = self.positives.setdefault(user, set())
            if product not in mine:
                mine.add(product)
                return 1
        elif reaction.kind in TAKE_BACK_KINDS:
            mine = self.positives.get(user, set())
            if product in mine:
                mine.discard(product)
                return -1
        return 0


def top_k(
    scores: np.ndarray, excluded: Iterable[int], k: int, allowed: np.ndarray | None = None
) -> list[int]:
    """Positions of the ``k`` highest ``scores``, best first, none of ``excluded`` and,
    with ``allowed`` (a boolean mask), only allowed ones; fewer if fewer remain."""
    scores = scores.copy()
    for position in excluded:
        scores[position] = -np.inf
    if allowed is not None:
        scores[~allowed] = -np.inf
    if k <= 0:
        return []
    # Every position when k reaches the catalog's size (argpartition needs k < n).
    best = np.argpartition(-scores, k)[:k] if k < len(scores) else np.arange(len(scores))
    best = best[np.argsort(-scores[best], kind="stable")]
    return [int(i) for i in best.tolist() if scores[i] > -np.inf]


class _CatalogRanker:
    """What the three baselines share: the catalog's ids, the history, the plumbing."""

    def __init__(self, product_ids: Iterable[int]) -> None:
        self.product_ids: list[int] = list(dict.fromkeys(product_ids))
        self.position = {pid: n for n, pid in enumerate(self.product_ids)}
        self.history = History()

    def replay(self, reactions: Iterable[Reaction]) -> int:
        """Learn from an event log, oldest first; returns how many events were read."""
        count = 0
        for reaction in reactions:
            self.observe(reaction)
            count += 1
        self.fit()
        return count

    def observe(self, reaction: Reaction) -> None:
        """Record one event at once."""
        self.history.record(reaction)

    def fit(self) -> None:
        """Rebuild whatever is computed from the whole history (nothing by default)."""

    def close(self) -> None:
        """Nothing to release."""

    def _excluded(self, user_id: int) -> list[int]:
        """Catalog positions of the products this shopper was shown or reacted to."""
        seen = self.history.seen.get(user_id, set())
        return [self.position[pid] for pid in seen if pid in self.position]

    def _allowed(self, among: Iterable[int] | None) -> np.ndarray | None:
        if among is None:
            return None
        mask = np.zeros(len(self.product_ids), dtype=bool)
        for pid in among:
            position = self.position.get(pid)
            if position is not None:
                mask[position] = True
        return mask

    def _ranked(
        self, scores: np.ndarray, user_id: int, k: int, among: Iterable[int] | None
    ) -> list[int]:
        positions = top_k(scores, self._excluded(user_id), k, self._allowed(among))
        return [self.product_ids[n] for n in positions]


class RandomRecommender(_CatalogRanker):
    """Unseen products in a random order: what any ranking must beat."""

    def __init__(self, product_ids: Iterable[int], *, seed: int | None = None) -> None:
        """Rank ``product_ids``; the same ``seed`` and the same calls give the same lists."""
        super().__init__(product_ids)
        self._rng = np.random.default_rng(seed)

    def recommend(
        self, user_id: int, k: int = 10, *, among: Iterable[int] | None = None
    ) -> list[int]:
        """``k`` unseen products drawn at random (each call draws anew)."""
        seen = self.history.seen.get(user_id, set())
        members = set(among) if among is not None else None
        order = self._rng.permutation(len(self.product_ids))
        ids = self.product_ids
        picked = [
            ids[i]
            for i in order.tolist()
            if ids[i] not in seen and (members is None or ids[i] in members)
        ]
        return picked[: max(k, 0)]


class MostPopular(_CatalogRanker):
    """The products the most shoppers engaged with, the same list for everyone."""

    def __init__(self, product_ids: Iterable[int]) -> None:
        super().__init__(product_ids)
        self.fans: Counter[int] = Counter()

    def observe(self, reaction: Reaction) -> None:
        """Record one event; an engagement counts for its product at once."""
        change = self.history.record(reaction)
        if change:
            self.fans[reaction.product_id] += change

    def recommend(
        self, user_id: int, k: int = 10, *, among: Iterable[int] | None = None
    ) -> list[int]:
        """The ``k`` unseen products with the most shoppers engaged, most first."""
        scores = np.array([self.fans.get(pid, 0) for pid in self.product_ids], dtype=np.float64)
        return self._ranked(scores, user_id, k, among)


class ItemKNN(_CatalogRanker):
    """Item-based kNN: a shopper's score for a product is the sum of its cosine
    similarities (on co-engagement, ``neighbours`` kept per product) to what they engaged
    with. The similarities are computed by ``replay`` from the whole history; ``observe``
    adds to the shopper's own engagements at once, the similarities wait for a replay."""

    def __init__(self, product_ids: Iterable[int], *, neighbours: int = 100) -> None:
        super().__init__(product_ids)
        self.neighbours = neighbours
        self._matrix = np.zeros((0, len(self.product_ids)), dtype=np.float32)
        self._row_of: dict[int, int] = {}
        self._similarity: np.ndarray | None = None

    def observe(self, reaction: Reaction) -> None:
        """Record one event; an engagement joins the shopper's row at once."""
        change = self.history.record(reaction)
        row = self._row_of.get(reaction.user_id)
        position = self.position.get(reaction.product_id)
        if change and row is not None and position is not None:
            self._matrix[row, position] = 1.0 if change > 0 else 0.0

    def fit(self) -> None:
        """The shopper-by-product engagement matrix and the product similarities."""
        positives = self.history.positives
        users = sorted(positives)
        matrix = np.zeros((len(users), len(self.product_ids)), dtype=np.float32)
        for row, user in enumerate(users):
            for pid in positives[user]:
                position = self.position.get(pid)
                if position is not None:
                    matrix[row, position] = 1.0
        self._matrix = matrix
        self._row_of = {user: row for row, user in enumerate(users)}
        co = matrix.T @ matrix
        norms = np.sqrt(np.diag(co))
        similarity = co / np.maximum(np.outer(norms, norms), 1e-9)
        np.fill_diagonal(similarity, 0.0)
        if self.neighbours < len(self.product_ids):
            cut = np.argpartition(-similarity, self.neighbours, axis=1)[:, self.neighbours :]
            np.put_along_axis(similarity, cut, 0.0, axis=1)
        self._similarity = similarity

    def recommend(
        self, user_id: int, k: int = 10, *, among: Iterable[int] | None = None
    ) -> list[int]:
        """The ``k`` unseen products most similar to the shopper's engagements."""
        row = self._row_of.get(user_id)
        if self._similarity is None:
            scores = np.zeros(len(self.product_ids))
        elif row is not None:
            scores = self._matrix[row] @ self._similarity
        else:
            # Engaged only since the last replay (or never): their row, built now.
            engaged = self._engaged(self.history.positives.get(user_id, set()))
            scores = engaged @ self._similarity if engaged.any() else engaged.astype(np.float64)
        return self._ranked(scores, user_id, k, among)

    def _engaged(self, product_ids: Iterable[int]) -> np.ndarray:
        vector = np.zeros(len(self.product_ids), dtype=np.float32)
        for pid in product_ids:
            position = self.position.get(pid)
            if position is not None:
                vector[position] = 1.0
        return vector
