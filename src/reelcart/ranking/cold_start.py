"""Picks for a shopper the ranking has no taste for yet: their onboarding interests, taking
turns, else the most popular products, spread across categories.

Used from the ranking thread only (see ``ranking.hybrid``).
"""

from __future__ import annotations

from collections import Counter

from reelcart.domain import Pick, ReasonKind
from reelcart.ranking.assortment import Assortment, within
from reelcart.ranking.scoring import RERANK, HybridScore
from reelcart.ranking.shopper import COLD_CATEGORY_MEMORY, Shopper
from reelcart.ranking.shortlists import Shortlists

#: What each recent card of the same category costs a popular product, for a cold shopper.
COLD_REPEAT_PENALTY = 0.05


class ColdStart:
    """Interest and popular picks."""

    def __init__(
        self, assortment: Assortment, shortlists: Shortlists, scoring: HybridScore
    ) -> None:
        self.assortment = assortment
        self.shortlists = shortlists
        self.scoring = scoring

    def interest(self, shopper: Shopper, avoid: set[str]) -> Pick | None:
        """The product nearest to the centroid of one of the shopper's interests, outside
        the ``avoid`` groups; interests take turns. None if no interest has one to offer."""
        assortment = self.assortment
        count = len(shopper.interests)
        for step in range(count):
            turn = (shopper.interest_turn + step) % count
            label, key = shopper.interests[turn]
            members = assortment.interest_members(key)
            eligible = assortment.eligible(shopper.seen, shopper.disliked, avoid)
            if not any(eligible(pid) for pid in members):
                continue
            vector = assortment.interest_vector(key)
            best = None
            if vector is not None:
                candidates = self.shortlists.nearest(
                    vector,
                    within(members, eligible),
                    self.scoring.want(shopper),
                    slot=(shopper.user_id, "interest:" + key),
                    key=(vector.tobytes(),),
                    seen=len(shopper.seen) + len(shopper.disliked),
                    avoid=avoid,
                )
                best = self.scoring.rerank(shopper, candidates)
            if best is None:
                # Members not embedded yet: still this interest, in catalog order.
                best = (min(pid for pid in members if eligible(pid)), 0.0)
            shopper.interest_turn = (turn + 1) % count
            return Pick(best[0], ReasonKind.INTEREST, because_interest=label, score=best[1])
        return None

    def popular(self, shopper: Shopper, avoid: set[str]) -> Pick | None:
        """The most popular eligible product outside the ``avoid`` groups, a little less
        attractive for each recent card of its category; None if nothing is eligible."""
        assortment = self.assortment
        score, order = assortment.popular_ranking()
        accept = assortment.eligible(shopper.seen, shopper.disliked, avoid)
        found: list[int] = []
        for pid in assortment.row_ids[order].tolist():
            if accept(pid):
                found.append(pid)
                if len(found) >= RERANK:
                    break
        if len(found) < RERANK and len(order) < len(score):
            # The shopper has seen most of the chart: the rest of the catalog, in order.
            found = assortment.first(
                assortment.tiebroken(score),
                accept,
                RERANK,
                len(shopper.seen) + len(shopper.disliked),
            )
        if not found:
            return None
        # A shopper with no taste yet should see the breadth of the catalog: every recent
        # card of the same category makes a popular product a little less attractive.
        recent = Counter(g[0][2:] for _, g in list(shopper.recent)[-COLD_CATEGORY_MEMORY:] if g[0])
        candidates = sorted(
            (
                (
                    pid,
                    float(score[assortment.row[pid]])
                    - COLD_REPEAT_PENALTY * recent[assortment.category(pid)],
                )
                for pid in found
            ),
            key=lambda item: -item[1],
        )
        best = self.scoring.rerank(shopper, candidates)
        assert best is not None
        return Pick(best[0], ReasonKind.POPULAR, score=best[1])
