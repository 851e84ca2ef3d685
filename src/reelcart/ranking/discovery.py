"""Discovery cards: products the shopper did not ask for, so new products get seen and
shoppers find what they did not know they wanted.

A discovery pick is Thompson sampling on the like-rate of under-exposed products (priors in
``ranking.signals``), never of the category or merchant of the last cards when others are
available, nor of a category the shopper passed on lately, nor a near-copy of something
they called "not for me". A shopper on a losing streak gets a wider pool, pushed away from
where they just passed, so the feed sweeps areas not tried yet.

Used from the ranking thread only (see ``ranking.hybrid``).
"""

from __future__ import annotations

import numpy as np

from reelcart.domain import Pick, ReasonKind
from reelcart.ranking import signals
from reelcart.ranking.assortment import Accept, Assortment
from reelcart.ranking.scoring import HybridScore
from reelcart.ranking.shopper import Shopper, spent_categories

#: Discovery avoids the categories and merchants of this many last cards.
DISCOVERY_CATEGORY_MEMORY = 2
#: Discovery draws among this many eligible under-exposed products, sampled at random.
DISCOVERY_POOL = 8
#: ... and this many times more for a shopper on a losing streak.
LOST_POOL_FACTOR = 4
#: Under-exposed: shown at most as often as this quantile of the available products.
UNDER_EXPOSED_QUANTILE = 0.75
#: The exposure cut-off is recomputed after this many impressions, from at most about
#: this many products (evenly spaced rows): the exact quantile over a large catalog costs
#: a pick's whole budget, and a sample's differs by a fraction of an impression.
EXPOSURE_CUT_EVERY = 1000
EXPOSURE_SAMPLE = 1 << 16
#: Discovery never offers a near-copy (cosine at least this) of something disliked.
DISCOVERY_DISLIKE_COSINE = 0.8


def outside(categories: set[str], category_of: dict[int, str], accept: Accept) -> Accept:
    """``accept``, for products outside ``categories`` only."""
    return lambda pid: category_of.get(pid) not in categories and accept(pid)


class Discovery:
    """Draws discovery cards; the random generator is the recommender's own."""

    def __init__(
        self, assortment: Assortment, scoring: HybridScore, rng: np.random.Generator
    ) -> None:
        self.assortment = assortment
        self.scoring = scoring
        self.index = scoring.index
        self.rng = rng
        # (impressions counted when computed, the cut-off), see ``exposure_cut``.
        self._exposure: tuple[int, float] | None = None

    def exposure_cut(self) -> float:
        """How often an under-exposed product has been shown at most (cached)."""
        assortment = self.assortment
        cached = self._exposure
        if cached is not None and assortment.impression_count - cached[0] < EXPOSURE_CUT_EVERY:
            return cached[1]
        n = len(assortment.row)
        rows = slice(0, n, 1 + n // EXPOSURE_SAMPLE)
        shown = assortment.impressions[rows][assortment.row_available[rows]]
        cut = float(np.quantile(shown, UNDER_EXPOSED_QUANTILE)) if len(shown) else 0.0
        self._exposure = (assortment.impression_count, cut)
        return cut

    def pool(self, shopper: Shopper, accept: Accept, size: int = DISCOVERY_POOL) -> list[int]:
        """Up to ``size`` eligible under-exposed products, at random.

        Sampled rows rather than a scan, so a discovery pick costs the same at a million
        products; when sampling finds too few (a small catalog, mostly seen), the least
        shown eligible products fill the pool.
        """
        assortment = self.assortment
        n = len(assortment.row)
        cut = self.exposure_cut()
        pool: dict[int, None] = {}
        for _ in range(4):
            rows = np.unique(self.rng.integers(0, n, size=4 * size))
            self.rng.shuffle(rows)
            rows = rows[assortment.row_available[rows] & (assortment.impressions[rows] <= cut)]
            for pid in assortment.row_ids[rows].tolist():
                if pid not in pool and accept(pid):
                    pool[pid] = None
                    if len(pool) >= size:
                        return list(pool)
        # Least shown first; noise below one impression shuffles products shown equally.
        keys = assortment.impressions[:n] + 0.5 * self.rng.random(n)
        for pid in assortment.first(
            keys,
            lambda p: p not in pool and accept(p),
            size - len(pool),
            len(shopper.seen) + len(shopper.disliked),
        ):
            pool[pid] = None
        return list(pool)

    def pick(self, shopper: Shopper) -> Pick | None:
        """A discovery card for the shopper, never of the category or merchant of the last
        cards when others are available; None if nothing is eligible."""
        recent = {
            group
            for _, groups in list(shopper.recent)[-DISCOVERY_CATEGORY_MEMORY:]
            for group in groups
            if group
        }
        spent = spent_categories(shopper)
        for avoid in [recent, set()] if recent else [set()]:
            # A shopper the feed has lost gets a wider pool: with the fatigue penalty below,
            # the draw then sweeps areas not tried yet instead of landing anywhere.
            size = DISCOVERY_POOL * (LOST_POOL_FACTOR if shopper.misses > signals.MISS_GRACE else 1)
            accept = self.assortment.eligible(shopper.seen, shopper.disliked, avoid)
            pool: list[int] = []
            if spent:
                # Categories passed on lately are not where this shopper's taste went.
                pool = self.pool(shopper, outside(spent, self.assortment.category_of, accept), size)
            if not pool:
                pool = self.pool(shopper, accept, size)
            if not pool:
                continue
            return Pick(self._draw(shopper, pool), ReasonKind.DISCOVERY)
        return None

    def _draw(self, shopper: Shopper, pool: list[int]) -> int:
        """One Thompson draw per pool product, pushed away from recent passes; the best
        draw that is no near-copy of a recent dislike."""
        rows = np.array([self.assortment.row[pid] for pid in pool], dtype=np.int64)
        likes = self.assortment.likes[rows].astype(np.float64)
        misses = np.maximum(self.assortment.impressions[rows] - likes, 0.0)
        draws = self.rng.beta(
            signals.DISCOVERY_PRIOR_LIKES + likes, signals.DISCOVERY_PRIOR_MISSES + misses
        )
        scoring = self.scoring
        if shopper.recent_skips or shopper.recent_dislikes:
            # Exploring where the shopper just passed three times is not exploring, and
            # next to what they called "not for me" is not worth a card.
            _, vectors = self.index.vectors(pool)
            if len(vectors) == len(pool):
                draws = draws - signals.DISCOVERY_FATIGUE * scoring.skip_penalty(shopper, vectors)
                draws = draws - scoring.dislike_penalty(shopper, vectors)
        order = [pool[i] for i in np.argsort(-draws, kind="stable").tolist()]
        pid = order[0]
        dislikes = scoring.dislikes(shopper) if shopper.recent_dislikes else None
        if dislikes is not None and len(dislikes):
            # Random is fine; a near-copy of what was just rejected is not.
            ids, vectors = self.index.vectors(order)
            near = (vectors @ dislikes.T).max(axis=1) >= DISCOVERY_DISLIKE_COSINE
            close = set(ids[near].tolist())
            pid = next((p for p in order if p not in close), pid)
        return pid
