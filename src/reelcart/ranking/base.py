"""The one interface every recommender implements: learn from events, rank products.

Modelled on implicit's ``RecommenderBase``: ``replay`` is its ``fit`` (a whole event log,
oldest first), ``observe`` its partial fit (one more event, learnt at once, as the feed
learns from every swipe), and ``recommend`` its ``recommend`` with what the shopper has
already seen filtered out. The catalog is given when a recommender is built (each needs
something different of it: ids, products, vectors), so the interface itself speaks only
of events and product ids.

Implemented by the feed's ``HybridRecommender`` and by the baselines it is measured
against (``ranking.baselines``); ``tests/ranking/test_contract.py`` holds every one of
them to this contract, and ``reelcart eval movielens`` ranks through it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from reelcart.domain import Reaction


@runtime_checkable
class Recommender(Protocol):
    """Ranks the catalog's products for a shopper, from the reactions it has learnt."""

    def replay(self, reactions: Iterable[Reaction]) -> int:
        """Learn from an event log, oldest first, then bring any model built from the
        whole log up to date. Adds to what is already known; returns how many events
        were read."""
        ...

    def observe(self, reaction: Reaction) -> None:
        """Learn from one more event at once: an impression or a reaction marks its
        product seen by that shopper; a positive reaction is engagement."""
        ...

    def recommend(
        self, user_id: int, k: int = 10, *, among: Iterable[int] | None = None
    ) -> list[int]:
        """Up to ``k`` product ids for ``user_id``, best first, no id twice.

        Never a product the shopper was shown or reacted to, nor one outside ``among``
        when it is given. Fewer than ``k`` only when fewer remain. A shopper never seen
        before gets a list too (what the recommender offers anyone).
        """
        ...

    def close(self) -> None:
        """Release what the recommender holds (a background thread); it is not used after."""
        ...
