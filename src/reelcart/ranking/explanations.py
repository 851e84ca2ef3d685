"""Why a personal pick: the side of its hybrid score that carried it, and the product
behind it ("because you liked X", "people who liked X liked this")."""

from __future__ import annotations

import numpy as np

from reelcart.domain import Pick, ReasonKind
from reelcart.ranking.scoring import HybridScore
from reelcart.ranking.shopper import Shopper, Shoppers


class Explanations:
    """Turns a scored personal pick into a ``Pick`` with its reason."""

    def __init__(self, scoring: HybridScore, shoppers: Shoppers) -> None:
        self.scoring = scoring
        self.shoppers = shoppers

    def explain(
        self, shopper: Shopper, pid: int, total: float, content: float, collab: float
    ) -> Pick:
        """The pick with the reason that carried it: the side of the score that weighed
        more (the collaborative side only if it names a positive behind it)."""
        if collab > content and collab > 0:
            because = self.collab_because(shopper, pid)
            if because is not None:
                return Pick(
                    pid, ReasonKind.OTHERS_LIKED, because_product_id=because, score=float(total)
                )
        return Pick(
            pid,
            ReasonKind.SIMILAR_TO_LIKED,
            because_product_id=self.because(shopper, pid),
            score=float(total),
        )

    def collab_because(self, shopper: Shopper, product_id: int) -> int | None:
        """The shopper's positive whose fans did most to put ``product_id`` here."""
        target = self.scoring.assortment.row.get(product_id)
        if target is None:
            return None
        pids, rows, weights = self.scoring.collab_positives(shopper)
        if not len(rows):
            return None
        values = weights * self.scoring.collab.strengths(rows, target)
        best = int(np.argmax(values))
        return int(pids[best]) if values[best] > 0 else None

    def because(self, shopper: Shopper, product_id: int) -> int | None:
        """The liked product most similar to ``product_id`` (the latest like if unknown);
        None if the shopper likes nothing."""
        if not shopper.positives:
            return None
        ids, matrix = self.shoppers.positive_vectors(shopper)
        vector = self.scoring.index.vector(product_id)
        if vector is None or len(ids) == 0:
            return next(reversed(shopper.positives))
        return int(ids[int(np.argmax(matrix @ vector))])
