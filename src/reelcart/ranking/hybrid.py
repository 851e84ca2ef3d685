"""Which card next, and why: the feed's ranking, in memory.

What the ranking knows of each shopper is in ``ranking.shopper`` (taste, positives, passes),
of each product in ``ranking.assortment`` (groups, exposure, popularity). A pick is, in
order of preference:

1. with probability ``discovery_rate`` (more on a losing streak), a *discovery* card
   (``ranking.discovery``): Thompson sampling on the like-rate of the least shown products,
   never of the category or merchant of the last cards, nor of a category the shopper
   passed on lately when others are left, so new products get seen and shoppers find what
   they did not know they wanted;
2. if the shopper has engaged with something: the best of a *hybrid* score
   (``ranking.scoring``) over candidates from the FAISS index (nearest to the taste) and
   from the collaborative model (what people who liked the same products liked,
   ``ranking.collaborative``). The reason names the side that won (``ranking.explanations``):
   the liked product it resembles, or the liked product whose fans liked it. Categories
   whose last verdict from the shopper was a pass (a quick skip, "not for me") sit out
   while others can be offered. A card that breaks a run of one category follows the
   shopper's likes outside it, or is a discovery card if there are none;
3. else, if they chose interests at onboarding: the product closest to an interest's
   centroid, interests taking turns (``ranking.cold_start``);
4. else the most popular product (mean signal per impression).

Never a product seen in the current cycle, disliked, paused or out of stock; never a fourth
card in a row from one category or one merchant when another is available.

Threading: a ``HybridRecommender`` is used from one thread only. The services run every
call on a dedicated single-thread executor, so its state needs no locks; only the
``VectorIndex``, which the embedding thread also writes, locks itself. The collaborative
model is rebuilt on a background thread from a snapshot and swapped in by the ranking
thread.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Iterable, Sequence

import numpy as np

from reelcart.domain import Pick, Product, ProductStatus, Reaction, ReasonKind
from reelcart.embeddings.index import VectorIndex
from reelcart.ranking import signals
from reelcart.ranking.assortment import Assortment, within
from reelcart.ranking.cold_start import ColdStart
from reelcart.ranking.collaborative import CoEngagement, Model
from reelcart.ranking.discovery import Discovery
from reelcart.ranking.explanations import Explanations
from reelcart.ranking.scoring import RERANK, CollabScores, HybridScore
from reelcart.ranking.shopper import (
    MAX_CATEGORY_RUN,
    RECENT_CARDS,
    Shopper,
    Shoppers,
    passed_groups,
    start_cycle,
    unit_taste,
)
from reelcart.ranking.shortlists import Shortlists

log = logging.getLogger(__name__)

#: While categories sit out (passed on), the nearest products are looked for among at most
#: this many: when they hold most of a large catalog, the full pass after it is cheaper.
SIT_OUT_FETCH = 256


class HybridRecommender:
    """The feed's ranking over one catalog, updated live by every reaction."""

    def __init__(
        self,
        index: VectorIndex,
        *,
        discovery_rate: float = 0.1,
        seed: int | None = None,
        collaborative: CoEngagement | None = None,
        background_refresh: bool = True,
    ) -> None:
        """Rank over ``index``. ``collaborative`` defaults to a ``CoEngagement`` with the
        documented parameters; with ``background_refresh`` its model is rebuilt on a
        thread of its own, otherwise in line (deterministic: tests, evaluation)."""
        self.index = index
        self.discovery_rate = discovery_rate
        self.max_merchant_run = MAX_CATEGORY_RUN
        self._rng = np.random.default_rng(seed)
        self.collab = collaborative if collaborative is not None else CoEngagement()
        self._background_refresh = background_refresh
        self._refresher: concurrent.futures.ThreadPoolExecutor | None = None
        self._refreshing: concurrent.futures.Future[Model] | None = None
        self.assortment = Assortment(index)
        self.shoppers = Shoppers(index, self.assortment, self.collab)
        self.shortlists = Shortlists(index, self.assortment)
        self.scoring = HybridScore(index, self.assortment, self.collab, self.shortlists)
        self.explanations = Explanations(self.scoring, self.shoppers)
        self.discovery = Discovery(self.assortment, self.scoring, self._rng)
        self.cold_start = ColdStart(self.assortment, self.shortlists, self.scoring)

    @property
    def discovery_rate(self) -> float:
        """Share of picks that are discovery cards, between 0 and 1; settable at run time."""
        return self._discovery_rate

    @discovery_rate.setter
    def discovery_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("discovery_rate must be between 0 and 1")
        self._discovery_rate = float(rate)

    @property
    def max_merchant_run(self) -> int:
        """Most cards of one merchant in a row when others are available (0: no limit);
        settable at run time (the admin panel), between 0 and the recent cards remembered
        (``shopper.RECENT_CARDS``). Raises ValueError outside that range."""
        return self._max_merchant_run

    @max_merchant_run.setter
    def max_merchant_run(self, run: int) -> None:
        if not 0 <= run <= RECENT_CARDS:
            raise ValueError("max_merchant_run must be between 0 and the recent-card memory")
        self._max_merchant_run = int(run)

    def forget(self, user_id: int) -> None:
        """Drop what the ranking holds about one shopper (their data was erased)."""
        self.shoppers.forget(user_id)
        self.shortlists.forget(user_id)
        self.collab.forget(user_id)

    # -- catalog -----------------------------------------------------------------------

    def load_products(self, products: Iterable[Product]) -> None:
        """Add or refresh many products (start-up); deleted ones are removed."""
        count = 0
        for product in products:
            self.update_product(product)
            count += 1
        log.debug("loaded %d products, %d available", count, len(self.assortment.available))

    def update_product(self, product: Product) -> None:
        """Take a product's new price, stock, status or text into account.

        Products that are not ``available`` (paused, sold out) stay known but are never
        picked; a deleted product is removed.
        """
        if product.status is ProductStatus.DELETED:
            self.remove_product(product.id)
            return
        row = self.assortment.update(product)
        self.collab.grow(row + 1)

    def remove_product(self, product_id: int) -> None:
        """Forget a product (deleted); its counters stay in case it comes back."""
        self.assortment.remove(product_id)

    def set_clip_seconds(self, product_id: int, seconds: float | None) -> None:
        """The length of a product's clip, against which dwell times are judged."""
        self.assortment.set_clip_seconds(product_id, seconds)

    # -- shoppers ----------------------------------------------------------------------

    def set_interests(self, user_id: int, interests: Sequence[str]) -> None:
        """The categories or hashtags a shopper chose at onboarding; they lead the feed until
        the shopper's first like. Their vectors come from the catalog, not the model."""
        self.shoppers.set_interests(user_id, interests)

    def taste_of(self, user_id: int) -> np.ndarray | None:
        """The shopper's taste as a unit vector, or None before any reaction with a signal."""
        return self.shoppers.taste_of(user_id)

    def observe(self, reaction: Reaction) -> None:
        """Learn from one event at once: taste, seen and disliked products, popularity.

        Also how the state is rebuilt on start, by replaying the event log in order: the
        result is the same as having observed the events live.
        """
        self.shoppers.observe(reaction)

    # -- picking -----------------------------------------------------------------------

    def next_pick(self, user_id: int) -> Pick | None:
        """The next card for this shopper, and why; None if nothing can be shown.

        The pick is marked seen at once (two calls never return the same product); its
        impression, when observed, does not count it twice.
        """
        if not self.assortment.available:
            return None
        self._maintain()
        shopper = self.shoppers.of(user_id)
        pick = self._pick(shopper)
        if pick is None:
            # Every available product has been seen: a new cycle. The card on screen sits
            # out its first pick, so the cycle does not open with a repeat.
            last = shopper.recent[-1][0] if shopper.recent else None
            start_cycle(shopper)
            if last is not None:
                shopper.seen.add(last)
            pick = self._pick(shopper)
            if last is not None:
                shopper.seen.discard(last)
            if pick is None:
                pick = self._pick(shopper)
        if pick is None:
            return None
        shopper.seen.add(pick.product_id)
        shopper.pending.add(pick.product_id)
        shopper.recent.append((pick.product_id, self.assortment.groups(pick.product_id)))
        return pick

    def _explore_rate(self, shopper: Shopper) -> float:
        """The discovery rate, raised while the shopper keeps passing on what they get:
        the feed has lost them (a change of taste, a wrong guess) and must look wider."""
        rate = self._discovery_rate
        if rate <= 0.0:
            return 0.0
        streak = shopper.misses - signals.MISS_GRACE
        if streak > 0:
            rate = max(rate, min(signals.MAX_EXPLORE_RATE, streak * signals.EXPLORE_STEP))
        return rate

    def _pick(self, shopper: Shopper) -> Pick | None:
        rate = self._explore_rate(shopper)
        if rate > 0.0 and self._rng.random() < rate:
            pick = self.discovery.pick(shopper)
            if pick is not None:
                return pick
        run: set[str] = set()
        for position, limit in enumerate((MAX_CATEGORY_RUN, self._max_merchant_run)):
            last = [groups[position] for _, groups in list(shopper.recent)[-limit:]]
            if limit and len(last) == limit and len(set(last)) == 1 and last[-1]:
                run.add(last[-1])
        # Avoid both runs if possible, else either one (a one-merchant shop still varies its
        # categories), else none.
        options = [run, *({group} for group in sorted(run) if len(run) > 1)] if run else []
        for avoid in [*options, set()]:
            pick = (
                self._personal(shopper, avoid)
                or self.cold_start.interest(shopper, avoid)
                or self.cold_start.popular(shopper, avoid)
            )
            if pick is not None:
                return pick
        return None

    def _personal(self, shopper: Shopper, avoid: set[str]) -> Pick | None:
        """The best hybrid pick for a shopper who has engaged with something."""
        if not shopper.positives:
            return None
        query = unit_taste(shopper)
        # A run of one category is broken with the shopper's taste outside it (a merchant
        # run only limits supply: the taste stays whole).
        categories = {group for group in avoid if group.startswith("c:")}
        if categories:
            apart = self.shoppers.taste_apart(shopper, categories)
            if apart is None and self._discovery_rate > 0.0:
                # Nothing liked outside the run: another category's products nearest the
                # taste are near it by chance, and a discovery card guesses better.
                return self.discovery.pick(shopper)
            query = apart if apart is not None else query
        collab = self.scoring.collab_scores(shopper)
        if query is None and not len(collab[0]):
            return None
        passed = passed_groups(shopper) - avoid
        if passed:
            # Categories whose last verdict was a pass sit out while others can be offered:
            # a shopper whose taste moved on is not led back to the old one.
            pick = self._personal_among(shopper, avoid, query, collab, passed)
            if pick is not None:
                return pick
        return self._personal_among(shopper, avoid, query, collab)

    def _personal_among(
        self,
        shopper: Shopper,
        avoid: set[str],
        query: np.ndarray | None,
        collab: CollabScores,
        sit_out: set[str] | frozenset[str] = frozenset(),
    ) -> Pick | None:
        """The best hybrid pick outside the ``avoid`` and ``sit_out`` groups, if any.

        Only ``avoid`` (a run, a few groups) is left out by the index itself; ``sit_out``
        may be most of a large catalog, which is cheaper to filter from the ranked list.
        """
        eligible = self.assortment.eligible(shopper.seen, shopper.disliked, avoid | sit_out)
        candidates = self.scoring.candidates(
            shopper, eligible, avoid, query, collab, RERANK, most=SIT_OUT_FETCH if sit_out else 0
        )
        if not candidates:
            return None
        ids, total, content, collab_part = self.scoring.score(shopper, candidates, query, collab)
        if not len(ids):
            return None
        best = int(np.argmax(total))
        return self.explanations.explain(
            shopper, int(ids[best]), total[best], content[best], collab_part[best]
        )

    # -- the collaborative model -------------------------------------------------------

    def _maintain(self) -> None:
        """Install a finished background refresh; start one when enough has changed."""
        future = self._refreshing
        if future is not None and future.done():
            self._refreshing = None
            try:
                self.collab.install(future.result())
            except Exception:
                log.exception("collaborative refresh failed; keeping the previous model")
        if self._refreshing is None and self.collab.needs_refresh():
            if not self._background_refresh:
                self.collab.refresh()
                return
            if self._refresher is None:
                self._refresher = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="reelcart-collab"
                )
            self._refreshing = self._refresher.submit(self.collab.build, self.collab.snapshot())

    def refresh_collaborative(self) -> None:
        """Rebuild the collaborative model now, in line (start-up, tests, evaluation)."""
        if self._refreshing is not None:
            self._refreshing.cancel()
            self._refreshing = None
        self.collab.refresh()

    def replay(self, reactions: Iterable[Reaction]) -> int:
        """Observe a whole event log (start-up), building the collaborative model once at
        its end instead of counting live pairs all along. Returns how many were replayed."""
        count = 0
        self.collab.live = False
        try:
            for reaction in reactions:
                self.observe(reaction)
                count += 1
        finally:
            self.collab.live = True
        self.refresh_collaborative()
        return count

    def close(self) -> None:
        """Stop the background refresh thread, if one was started."""
        if self._refresher is not None:
            self._refresher.shutdown(wait=False, cancel_futures=True)
            self._refresher = None

    # -- lists -------------------------------------------------------------------------

    def recommend(
        self, user_id: int, k: int = 10, *, among: Iterable[int] | None = None
    ) -> list[int]:
        """The ids of ``picks``, with discovery places when the discovery rate is above 0
        (as the feed has discovery cards): the ``Recommender`` interface."""
        return [
            pick.product_id
            for pick in self.picks(user_id, k, among=among, discovery=self._discovery_rate > 0)
        ]

    def picks(
        self,
        user_id: int,
        k: int = 10,
        *,
        among: Iterable[int] | None = None,
        discovery: bool = False,
    ) -> list[Pick]:
        """The shopper's top ``k`` by the same hybrid score the feed picks with, best first.

        For lists (evaluation, a "for you" page): no feed sequencing (category runs) and no
        state change. Seen, disliked and unavailable products are left out. ``among``
        restricts the ranking to those products. With ``discovery``, the last
        ``round(k * discovery_rate)`` places go to discovery picks (drawn as the feed draws
        them). A shopper with no engagement gets popular products.
        """
        shopper = self.shoppers.get(user_id) or Shopper(user_id)
        self._maintain()
        explore = round(k * self._discovery_rate) if discovery else 0
        exploit = k - explore
        members = set(among) if among is not None else None
        base = self.assortment.eligible(shopper.seen, shopper.disliked, set())
        accept = base if members is None else within(members, base)
        picks: list[Pick] = []
        if shopper.positives:
            query = unit_taste(shopper)
            collab = self.scoring.collab_scores(shopper)
            if members is not None:
                candidates = [pid for pid in members if accept(pid)]
            else:
                candidates = self.scoring.candidates(
                    shopper, accept, set(), query, collab, exploit + RERANK
                )
            ids, total, content, collab_part = self.scoring.score(
                shopper, candidates, query, collab
            )
            for i in np.argsort(-total, kind="stable")[:exploit].tolist():
                picks.append(
                    self.explanations.explain(
                        shopper, int(ids[i]), total[i], content[i], collab_part[i]
                    )
                )
        if len(picks) < exploit:
            chosen = {p.product_id for p in picks}
            found = self.assortment.first(
                -self.assortment.popularity(),
                lambda pid: accept(pid) and pid not in chosen,
                exploit,
                len(shopper.seen) + len(shopper.disliked),
            )
            picks.extend(Pick(pid, ReasonKind.POPULAR) for pid in found[: exploit - len(picks)])
        if explore:
            # Discovery draws as in the feed, from a copy of the shopper that also counts
            # the products already on the list as seen.
            probe = Shopper(
                user_id,
                seen=shopper.seen | {p.product_id for p in picks},
                disliked=shopper.disliked,
                recent_dislikes=shopper.recent_dislikes,
                dislike_matrix=shopper.dislike_matrix,
            )
            while len(picks) < k:
                pick = self.discovery.pick(probe)
                if pick is None or (members is not None and pick.product_id not in members):
                    break
                picks.append(pick)
                probe.seen.add(pick.product_id)
        return picks

    # -- search ------------------------------------------------------------------------

    def search(self, query_vector: np.ndarray, k: int = 10) -> list[int]:
        """Ids of the ``k`` available products nearest to ``query_vector``, best first."""
        query = np.asarray(query_vector, dtype=np.float32)
        available = self.assortment.available
        found = self.shortlists.nearest(query, lambda pid: pid in available, k)
        return [pid for pid, _ in found][:k]
