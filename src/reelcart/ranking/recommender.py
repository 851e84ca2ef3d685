"""Which card next, and why: the feed's ranking, in memory.

Each shopper has a taste vector: the decayed, weighted sum of the vectors of the products
they reacted to (weights and decay in ``ranking.signals``), and a decayed list of the
products they engaged with. A pick is, in order of preference:

1. with probability ``discovery_rate`` (more on a losing streak), a *discovery* card:
   Thompson sampling on the like-rate of the least shown products (``signals``), never of
   the category or merchant of the last cards, nor of a category the shopper passed on
   lately when others are left, so new products get seen and shoppers find what they did
   not know they wanted;
2. if the shopper has engaged with something: the best of a *hybrid* score over candidates
   from the FAISS index (nearest to the taste) and from the collaborative model (what
   people who liked the same products liked, ``ranking.collaborative``): content
   similarity plus the normalised collaborative score, minus a penalty for being close to
   a recent dislike (blend weights in ``signals``). The reason names the side that won:
   the liked product it resembles, or the liked product whose fans liked it. Categories
   whose last verdict from the shopper was a pass (a quick skip, "not for me") sit out
   while others can be offered. A card that breaks a run of one category follows the
   shopper's likes outside it, or is a discovery card if there are none;
3. else, if they chose interests at onboarding: the product closest to an interest's
   centroid, interests taking turns;
4. else the most popular product (mean signal per impression).

Never a product seen in the current cycle, disliked, paused or out of stock; never a fourth
card in a row from one category or one merchant when another is available.

Threading: a ``Recommender`` is used from one thread only. The services run every call on
a dedicated single-thread executor, so its state needs no locks; only the ``VectorIndex``,
which the embedding thread also writes, locks itself. The collaborative model is rebuilt
on a background thread from a snapshot and swapped in by the ranking thread.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from reelcart.domain import EventKind, Pick, Product, ProductStatus, Reaction, ReasonKind
from reelcart.embeddings.index import VectorIndex
from reelcart.ranking import signals
from reelcart.ranking.collaborative import CoEngagement, Model

log = logging.getLogger(__name__)

#: Candidates fetched from the index beyond those the shopper has already seen (seen ones
#: cluster around their taste); multiplied by 4 until enough pass the exclusions.
FIRST_FETCH = 64
MAX_FIRST_FETCH = 1024
#: Search results kept (see ``_Shortlist``), and the longest kept: at most about 50 MB.
SHORTLIST_CACHE = 2048
SHORTLIST_LENGTH = 2048
#: While categories sit out (passed on), the nearest products are looked for among at most
#: this many: when they hold most of a large catalog, the full pass after it is cheaper.
SIT_OUT_FETCH = 256
#: Accepted candidates re-scored with the dislike penalty.
RERANK = 32
#: A taste query this close (cosine) to the one a shortlist was searched with reuses it.
SHORTLIST_COSINE = 0.995
#: At most this many cards in a row from one category (or one merchant), when others are
#: available.
MAX_CATEGORY_RUN = 3
# Cold feeds: how many recent cards count, and what each same-category card costs.
COLD_CATEGORY_MEMORY = 6
COLD_REPEAT_PENALTY = 0.05
#: Discovery avoids the categories and merchants of this many last cards.
DISCOVERY_CATEGORY_MEMORY = 2
#: The most popular products kept in order for cold shoppers (see ``_popular_ranking``).
POPULAR_CACHE = 4096
#: Discovery draws among this many eligible under-exposed products, sampled at random.
DISCOVERY_POOL = 8
#: ... and this many times more for a shopper on a losing streak.
LOST_POOL_FACTOR = 4
#: Under-exposed: shown at most as often as this quantile of the available products.
UNDER_EXPOSED_QUANTILE = 0.75
#: The exposure cut-off is recomputed after this many impressions, from at most about
#: this many products (evenly spaced rows): the exact quantile over a million products
#: took 10 ms, a pick's whole budget, and a sample's differs by a fraction of an impression.
EXPOSURE_CUT_EVERY = 1000
EXPOSURE_SAMPLE = 1 << 16
#: Discovery never offers a near-copy (cosine at least this) of something disliked.
DISCOVERY_DISLIKE_COSINE = 0.8
#: Liked products remembered per shopper for "because you liked ...".
POSITIVE_MEMORY = 1000


def _key(label: str) -> str:
    """Categories and hashtags compare case-insensitively, with or without ``#``."""
    return label.strip().lstrip("#").casefold()


# Diversity works on groups of products: a category or a merchant. Their keys are prefixed
# so that the two never collide in one "avoid" set.
def _category_group(category: str) -> str:
    return "c:" + category


def _merchant_group(merchant_id: int) -> str:
    return f"m:{merchant_id}"


def _accepted(
    ids: np.ndarray, scores: np.ndarray, accept: Callable[[int], bool], want: int
) -> list[tuple[int, float]]:
    """The first ``want`` of a ranked list that ``accept`` lets through."""
    found: list[tuple[int, float]] = []
    for pid, score in zip(ids.tolist(), scores.tolist(), strict=True):
        if accept(pid):
            found.append((pid, score))
            if len(found) >= want:
                break
    return found


def _within(members: set[int], accept: Callable[[int], bool]) -> Callable[[int], bool]:
    return lambda pid: pid in members and accept(pid)


def _outside(
    categories: set[str], category_of: dict[int, str], accept: Callable[[int], bool]
) -> Callable[[int], bool]:
    return lambda pid: category_of.get(pid) not in categories and accept(pid)


@dataclass(frozen=True)
class _Shortlist:
    """The last exact search for one shopper, reusable while nothing it depends on changed.

    An exact search for the same query over the same index gives the same ranked list, so
    after an impression or a neutral skip (which do not turn the taste) the next pick only
    filters this list again instead of scanning the index. A taste that moved only a little
    (``SHORTLIST_COSINE``) reuses it too: it only supplies candidates, which the hybrid
    score then ranks with the current taste.
    """

    key: tuple[object, ...]
    ids: np.ndarray
    scores: np.ndarray
    exhaustive: bool
    query: np.ndarray | None = None


@dataclass
class _Shopper:
    """Everything the ranking knows about one shopper."""

    user_id: int
    taste: np.ndarray | None = None
    #: Products with positive engagement, most recent last, with their weight and the
    #: shopper's reaction count when it happened (for recency and "because you liked").
    positives: OrderedDict[int, tuple[float, int]] = field(default_factory=OrderedDict)
    #: Reactions so far (impressions excluded): the clock of recency weights.
    reactions: int = 0
    #: The last collaborative scores: (key, product ids ascending, scores, ids best first).
    collab_cache: tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray] | None = None
    #: The positives the collaborative side scores from, as arrays: (reaction count when
    #: computed, product ids, their rows, their decayed weights).
    collab_positives: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
    seen: set[int] = field(default_factory=set)
    #: Picked but their impression not observed yet: the impression must not count twice.
    pending: set[int] = field(default_factory=set)
    disliked: set[int] = field(default_factory=set)
    recent_dislikes: deque[int] = field(
        default_factory=lambda: deque(maxlen=signals.DISLIKE_MEMORY)
    )
    #: Last shown products and their (category, merchant) groups, newest last.
    recent: deque[tuple[int, tuple[str, str]]] = field(
        default_factory=lambda: deque(maxlen=max(MAX_CATEGORY_RUN, COLD_CATEGORY_MEMORY))
    )
    #: (as chosen, key) per onboarding interest.
    interests: list[tuple[str, str]] = field(default_factory=list)
    interest_turn: int = 0
    # Caches of vectors, rebuilt when the sets above change.
    dislike_matrix: np.ndarray | None = None
    #: Recently quick-skipped products, newest last: their neighbourhood tires.
    recent_skips: deque[int] = field(default_factory=lambda: deque(maxlen=signals.SKIP_MEMORY))
    skip_matrix: np.ndarray | None = None
    #: Passes (quick skips, dislikes) since the last positive reaction: the feed explores
    #: more, and fades the past, as it grows (``signals.MISS_GRACE``).
    misses: int = 0
    positive_matrix: tuple[np.ndarray, np.ndarray] | None = None
    #: Categories passed on since the shopper's last positive reaction in them: (passes in
    #: a row, the shopper's reaction count at the last one). Personal picks look elsewhere
    #: after ``signals.PASS_STRIKES`` of them, discovery after one, each for a while
    #: (``signals.PASS_MEMORY``).
    passed: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Their reaction count at their last positive reaction.
    positive_at: int = 0


class Recommender:
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
        self._products: dict[int, Product] = {}
        self._available: set[int] = set()
        self._by_category: dict[str, set[int]] = {}
        self._by_merchant: dict[int, set[int]] = {}
        self._by_hashtag: dict[str, set[int]] = {}
        self._category_of: dict[int, str] = {}
        # The diversity groups of each product, kept with the catalog: the eligibility test
        # runs for every candidate of every pick (one tuple per (category, merchant)).
        self._group_pairs: dict[tuple[str, int], tuple[str, str]] = {}
        self._groups_of: dict[int, tuple[str, str]] = {}
        # Each group's members as an array, for the index to leave out (see ``_excluded``).
        self._group_members: dict[str, np.ndarray] = {}
        self._clip_seconds: dict[int, float] = {}
        self._interest_vectors: dict[str, np.ndarray] = {}
        self._shoppers: dict[int, _Shopper] = {}
        self._shortlists: OrderedDict[tuple[int, str], _Shortlist] = OrderedDict()
        # Per-product counters in arrays (one row per product ever seen), so popularity and
        # "least shown" are a vectorized pass rather than a Python loop at 100k products.
        self._row: dict[int, int] = {}
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._row_available = np.zeros(0, dtype=bool)
        self._impressions = np.zeros(0, dtype=np.int64)
        self._signal = np.zeros(0, dtype=np.float64)
        self._likes = np.zeros(0, dtype=np.int64)
        # (impressions counted when computed, the cut-off), see ``_exposure_cut``.
        self._exposure: tuple[int, float] | None = None
        self._impression_count = 0
        self._popular_cache: tuple[int, np.ndarray, np.ndarray] | None = None
        self._tiebreak: np.ndarray = np.zeros(0, dtype=np.float64)
        self._popular_changes = 0

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
        settable at run time (the admin panel), between 0 and ``COLD_CATEGORY_MEMORY``."""
        return self._max_merchant_run

    @max_merchant_run.setter
    def max_merchant_run(self, run: int) -> None:
        if not 0 <= run <= max(MAX_CATEGORY_RUN, COLD_CATEGORY_MEMORY):
            raise ValueError("max_merchant_run must be between 0 and the recent-card memory")
        self._max_merchant_run = int(run)

    def forget(self, user_id: int) -> None:
        """Drop what the ranking holds about one shopper (their data was erased)."""
        self._shoppers.pop(user_id, None)
        for slot in [slot for slot in self._shortlists if slot[0] == user_id]:
            del self._shortlists[slot]
        self.collab.forget(user_id)

    # -- catalog -----------------------------------------------------------------------

    def load_products(self, products: Iterable[Product]) -> None:
        """Add or refresh many products (start-up); deleted ones are removed."""
        count = 0
        for product in products:
            self.update_product(product)
            count += 1
        log.debug("loaded %d products, %d available", count, len(self._available))

    def update_product(self, product: Product) -> None:
        """Take a product's new price, stock, status or text into account.

        Products that are not ``available`` (paused, sold out) stay known but are never
        picked; a deleted product is removed.
        """
        if product.status is ProductStatus.DELETED:
            self.remove_product(product.id)
            return
        old = self._products.get(product.id)
        if old is not None:
            self._unlink(old)
        self._products[product.id] = product
        self._link(product)
        row = self._row_of(product.id)
        if self._row_available[row] != product.available:
            self._popular_changes += 1
        self._row_available[row] = product.available
        if product.available:
            self._available.add(product.id)
        else:
            self._available.discard(product.id)

    def remove_product(self, product_id: int) -> None:
        """Forget a product (deleted); its counters stay in case it comes back."""
        old = self._products.pop(product_id, None)
        if old is not None:
            self._unlink(old)
        self._available.discard(product_id)
        row = self._row.get(product_id)
        if row is not None:
            self._row_available[row] = False
            self._popular_changes += 1

    def set_clip_seconds(self, product_id: int, seconds: float | None) -> None:
        """The length of a product's clip, against which dwell times are judged."""
        if seconds and seconds > 0:
            self._clip_seconds[product_id] = float(seconds)
        else:
            self._clip_seconds.pop(product_id, None)

    def _labels(self, product: Product) -> tuple[str, set[str]]:
        return _key(product.category), {_key(tag) for tag in product.hashtags if _key(tag)}

    def _link(self, product: Product) -> None:
        category, tags = self._labels(product)
        self._category_of[product.id] = category
        key = (category, product.merchant_id)
        groups = self._group_pairs.get(key)
        if groups is None:
            groups = (_category_group(category) if category else "", _merchant_group(key[1]))
            self._group_pairs[key] = groups
        self._groups_of[product.id] = groups
        for group in groups:
            self._group_members.pop(group, None)
        self._by_merchant.setdefault(product.merchant_id, set()).add(product.id)
        if category:
            self._by_category.setdefault(category, set()).add(product.id)
            self._interest_vectors.pop(category, None)
        for tag in tags:
            self._by_hashtag.setdefault(tag, set()).add(product.id)
            self._interest_vectors.pop(tag, None)

    def _unlink(self, product: Product) -> None:
        category, tags = self._labels(product)
        self._category_of.pop(product.id, None)
        for group in self._groups_of.pop(product.id, ()):
            self._group_members.pop(group, None)
        self._by_merchant.get(product.merchant_id, set()).discard(product.id)
        if category:
            self._by_category.get(category, set()).discard(product.id)
            self._interest_vectors.pop(category, None)
        for tag in tags:
            self._by_hashtag.get(tag, set()).discard(product.id)
            self._interest_vectors.pop(tag, None)

    def _row_of(self, product_id: int) -> int:
        row = self._row.get(product_id)
        if row is not None:
            return row
        row = len(self._row)
        if row == len(self._row_ids):
            size = max(64, 2 * row)
            self._row_ids = np.resize(self._row_ids, size)
            self._row_available = np.resize(self._row_available, size)
            self._impressions = np.resize(self._impressions, size)
            self._signal = np.resize(self._signal, size)
            self._likes = np.resize(self._likes, size)
            self._row_available[row:] = False
            self._impressions[row:] = 0
            self._signal[row:] = 0.0
            self._likes[row:] = 0
        self._row[product_id] = row
        self._row_ids[row] = product_id
        self.collab.grow(row + 1)
        return row

    def _category(self, product_id: int) -> str:
        return self._category_of.get(product_id, "")

    def _groups(self, product_id: int) -> tuple[str, str]:
        """The diversity groups of a product: its category and its merchant."""
        return self._groups_of.get(product_id, ("", ""))

    def _members(self, group: str) -> set[int]:
        if group.startswith("m:"):
            return self._by_merchant.get(int(group[2:]), set())
        return self._by_category.get(group[2:], set())

    def _excluded(self, groups: Iterable[str]) -> np.ndarray:
        """The products of these groups, as the index takes them to leave out. Each
        group's array is kept until its members change: at a million products a category
        holds thousands, and listing them again cost about 0.1 ms per search."""
        parts = []
        for group in groups:
            members = self._group_members.get(group)
            if members is None:
                members = np.fromiter(self._members(group), dtype=np.int64)
                self._group_members[group] = members
            parts.append(members)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    # -- shoppers ----------------------------------------------------------------------

    def _shopper(self, user_id: int) -> _Shopper:
        shopper = self._shoppers.get(user_id)
        if shopper is None:
            shopper = self._shoppers[user_id] = _Shopper(user_id)
        return shopper

    def set_interests(self, user_id: int, interests: Sequence[str]) -> None:
        """The categories or hashtags a shopper chose at onboarding; they lead the feed until
        the shopper's first like. Their vectors come from the catalog, not the model."""
        shopper = self._shopper(user_id)
        chosen: dict[str, str] = {}
        for interest in interests:
            key = _key(interest)
            if key and key not in chosen:
                chosen[key] = interest.strip()
        shopper.interests = [(label, key) for key, label in chosen.items()]
        shopper.interest_turn = 0

    def taste_of(self, user_id: int) -> np.ndarray | None:
        """The shopper's taste as a unit vector, or None before any reaction with a signal."""
        shopper = self._shoppers.get(user_id)
        if shopper is None or shopper.taste is None:
            return None
        norm = float(np.linalg.norm(shopper.taste))
        if norm < 1e-9:
            return None
        return (shopper.taste / norm).astype(np.float32)

    def observe(self, reaction: Reaction) -> None:
        """Learn from one event at once: taste, seen and disliked products, popularity.

        Also how the state is rebuilt on start, by replaying the event log in order: the
        result is the same as having observed the events live.
        """
        shopper = self._shopper(reaction.user_id)
        product_id = reaction.product_id
        row = self._row.get(product_id)
        if row is not None:
            self._popular_changes += 1
        if reaction.kind is EventKind.IMPRESSION:
            if row is not None:
                self._impressions[row] += 1
                self._impression_count += 1
            self._mark_shown(shopper, product_id)
            return

        weight = signals.signal_weight(
            reaction.kind, reaction.dwell_ms, self._clip_seconds.get(product_id)
        )
        if reaction.kind is EventKind.SKIP and weight < 0 and product_id in shopper.positives:
            # Moving on from a card just liked is not a verdict on it.
            weight = 0.0
        if row is not None:
            self._signal[row] += weight
            if reaction.kind in signals.POSITIVE_KINDS:
                self._likes[row] += 1
            collab_weight = (
                weight
                if reaction.kind in signals.POSITIVE_KINDS
                else signals.COLLAB_TAKE_BACK.get(reaction.kind, 0.0)
            )
            self.collab.record(reaction.user_id, row, collab_weight)
            if collab_weight:
                shopper.collab_cache = None
        shopper.reactions += 1
        shopper.seen.add(product_id)

        category = self._category(product_id)
        if reaction.kind in signals.POSITIVE_KINDS:
            shopper.misses = 0
            shopper.passed.pop(category, None)
            shopper.positive_at = shopper.reactions
            # A like in a category forgives the quick skips in it: their fatigue is lifted.
            forgiven = [pid for pid in shopper.recent_skips if self._category(pid) == category]
            if category and forgiven:
                for pid in forgiven:
                    shopper.recent_skips.remove(pid)
                shopper.skip_matrix = None
        elif weight < 0:
            strikes = shopper.passed.get(category, (0, 0))[0]
            shopper.passed[category] = (strikes + 1, shopper.reactions)
            shopper.misses += 1
            if shopper.misses > signals.MISS_GRACE:
                self._fade(shopper, signals.STREAK_DECAY)
        if reaction.kind is EventKind.SKIP and weight < 0:
            if product_id in shopper.recent_skips:
                shopper.recent_skips.remove(product_id)
            shopper.recent_skips.append(product_id)
            shopper.skip_matrix = None
        if reaction.kind is EventKind.DISLIKE:
            shopper.disliked.add(product_id)
            if product_id in shopper.recent_dislikes:
                shopper.recent_dislikes.remove(product_id)
            shopper.recent_dislikes.append(product_id)
            shopper.dislike_matrix = None
        if reaction.kind in (EventKind.DISLIKE, EventKind.UNLIKE):
            if product_id in shopper.positives:
                del shopper.positives[product_id]
                shopper.positive_matrix = None
                shopper.collab_positives = None
        elif reaction.kind in signals.POSITIVE_KINDS:
            previous = shopper.positives.get(product_id)
            total = weight + (self._decayed(shopper, previous) if previous else 0.0)
            shopper.positives[product_id] = (total, shopper.reactions)
            shopper.positives.move_to_end(product_id)
            while len(shopper.positives) > POSITIVE_MEMORY:
                shopper.positives.popitem(last=False)
            shopper.positive_matrix = None
            shopper.collab_positives = None

        if weight < 0 and shopper.positives:
            self._retract(shopper, product_id)
        if shopper.taste is not None:
            shopper.taste *= signals.TASTE_DECAY
        if weight != 0.0:
            vector = self.index.vector(product_id)
            if vector is not None:
                if shopper.taste is None:
                    shopper.taste = np.zeros(self.index.dim, dtype=np.float64)
                shopper.taste += weight * vector

    def _mark_shown(self, shopper: _Shopper, product_id: int) -> None:
        if product_id in shopper.pending:
            # Picked by next_pick, which already marked it seen.
            shopper.pending.discard(product_id)
            return
        if product_id in shopper.seen and not self._has_unseen(shopper):
            # A card seen before, shown after every product was seen: the new cycle that
            # next_pick started live, replayed.
            self._new_cycle(shopper)
        shopper.seen.add(product_id)
        shopper.recent.append((product_id, self._groups(product_id)))

    def _retract(self, shopper: _Shopper, product_id: int) -> None:
        """A pass on ``product_id`` takes back part of the positives near it: their weight
        in the taste and in the collaborative side (``signals.RETRACT_SHARE``)."""
        vector = self.index.vector(product_id)
        if vector is None:
            return
        if shopper.positive_matrix is None:
            shopper.positive_matrix = self.index.vectors(list(shopper.positives))
        ids, matrix = shopper.positive_matrix
        if len(ids) == 0:
            return
        floor = signals.DISLIKE_NEIGHBOUR_FLOOR
        share = np.clip((matrix @ vector - floor) / (1.0 - floor), 0.0, 1.0)
        for i in np.flatnonzero(share > 0).tolist():
            pid = int(ids[i])
            entry = shopper.positives.get(pid)
            if entry is None:
                continue
            weight, at = entry
            taken = signals.RETRACT_SHARE * float(share[i]) * weight
            shopper.positives[pid] = (weight - taken, at)
            if shopper.taste is not None:
                age = shopper.reactions - at
                shopper.taste -= taken * signals.TASTE_DECAY**age * matrix[i]
        shopper.collab_cache = None
        shopper.collab_positives = None

    @staticmethod
    def _fade(shopper: _Shopper, factor: float) -> None:
        """Scale down everything the shopper's past says (taste and positives' weights)."""
        shopper.collab_positives = None
        if shopper.taste is not None:
            shopper.taste *= factor
        for pid, (weight, at) in shopper.positives.items():
            shopper.positives[pid] = (weight * factor, at)

    @staticmethod
    def _decayed(shopper: _Shopper, entry: tuple[float, int]) -> float:
        weight, at = entry
        return weight * signals.CF_DECAY ** (shopper.reactions - at)

    def _has_unseen(self, shopper: _Shopper) -> bool:
        return any(
            pid not in shopper.seen and pid not in shopper.disliked for pid in self._available
        )

    def _new_cycle(self, shopper: _Shopper) -> None:
        shopper.seen = set()
        shopper.pending = set()

    # -- picking -----------------------------------------------------------------------

    def next_pick(self, user_id: int) -> Pick | None:
        """The next card for this shopper, and why; None if nothing can be shown.

        The pick is marked seen at once (two calls never return the same product); its
        impression, when observed, does not count it twice.
        """
        if not self._available:
            return None
        self._maintain()
        shopper = self._shopper(user_id)
        pick = self._pick(shopper)
        if pick is None:
            # Every available product has been seen: a new cycle. The card on screen sits
            # out its first pick, so the cycle does not open with a repeat.
            last = shopper.recent[-1][0] if shopper.recent else None
            self._new_cycle(shopper)
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
        shopper.recent.append((pick.product_id, self._groups(pick.product_id)))
        return pick

    def _explore_rate(self, shopper: _Shopper) -> float:
        """The discovery rate, raised while the shopper keeps passing on what they get:
        the feed has lost them (a change of taste, a wrong guess) and must look wider."""
        rate = self._discovery_rate
        if rate <= 0.0:
            return 0.0
        streak = shopper.misses - signals.MISS_GRACE
        if streak > 0:
            rate = max(rate, min(signals.MAX_EXPLORE_RATE, streak * signals.EXPLORE_STEP))
        return rate

    def _pick(self, shopper: _Shopper) -> Pick | None:
        rate = self._explore_rate(shopper)
        if rate > 0.0 and self._rng.random() < rate:
            pick = self._discovery(shopper)
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
                or self._interest(shopper, avoid)
                or self._popular(shopper, avoid)
            )
            if pick is not None:
                return pick
        return None

    def _eligible(self, shopper: _Shopper, avoid: set[str]) -> Callable[[int], bool]:
        available, seen, disliked = self._available, shopper.seen, shopper.disliked
        if not avoid:
            return lambda pid: pid in available and pid not in seen and pid not in disliked
        # Available products are linked, so they have groups; ``isdisjoint`` builds no set.
        groups_of = self._groups_of
        return lambda pid: (
            pid in available
            and pid not in seen
            and pid not in disliked
            and avoid.isdisjoint(groups_of[pid])
        )

    def _nearest(
        self,
        query: np.ndarray,
        accept: Callable[[int], bool],
        want: int,
        *,
        slot: tuple[int, str] | None = None,
        key: tuple[object, ...] = (),
        seen: int = 0,
        avoid: set[str] | frozenset[str] = frozenset(),
        drifting: bool = False,
        most: int = 0,
    ) -> list[tuple[int, float]]:
        """Up to ``want`` accepted products nearest to ``query``, best first.

        Fetches more until ``want`` pass or the whole index has been looked at. With a
        ``slot`` (shopper, purpose), the ranked list is kept there under ``key``, which must
        identify the query, and reused while the index is unchanged; ``seen`` sizes the
        first fetch. Products of the ``avoid`` categories are left out by the index itself:
        when the taste sits in that category, they are exactly the nearest ones. With
        ``drifting``, a kept list is reused for a query within ``SHORTLIST_COSINE`` of its own.
        With ``most``, that many are fetched at once and no more: what passes among them
        is returned, even if fewer than ``want``.
        """
        total = len(self.index)
        if total == 0:
            return []
        full_key = (*key, tuple(sorted(avoid)), self.index.version)
        exclude = self._excluded(avoid) if avoid else None
        cached = self._shortlists.get(slot) if slot is not None else None
        if (
            slot is not None
            and cached is not None
            and cached.key == full_key
            and (
                not drifting
                or (cached.query is not None and float(cached.query @ query) >= SHORTLIST_COSINE)
            )
        ):
            self._shortlists.move_to_end(slot)
            found = _accepted(cached.ids, cached.scores, accept, want)
            if len(found) >= want or cached.exhaustive or 0 < most <= len(cached.ids):
                return found
            k = min(4 * len(cached.ids), total, most or total)
        else:
            # A capped search (the sit-out pass) fetches its cap at once: its candidates lie
            # beyond the taste's own category, so a smaller first fetch was nearly always
            # followed by a second search (two searches and filters: the slowest 1% of
            # picks at 100k and 1M products).
            k = min(total, max(FIRST_FETCH + min(seen, MAX_FIRST_FETCH), most))
        while True:
            scores, ids = self.index.search(query, k, exclude=exclude)
            valid = ids[0] >= 0
            row_ids, row_scores = ids[0][valid], scores[0][valid]
            # Fewer hits than asked for: everything that qualifies has been returned.
            exhaustive = k >= total or len(row_ids) < k
            if slot is not None:
                kept = len(row_ids) <= SHORTLIST_LENGTH
                self._shortlists[slot] = _Shortlist(
                    full_key,
                    row_ids[:SHORTLIST_LENGTH],
                    row_scores[:SHORTLIST_LENGTH],
                    exhaustive and kept,
                    query if drifting else None,
                )
                self._shortlists.move_to_end(slot)
                while len(self._shortlists) > SHORTLIST_CACHE:
                    self._shortlists.popitem(last=False)
            found = _accepted(row_ids, row_scores, accept, want)
            if len(found) >= want or exhaustive or 0 < most <= k:
                return found
            k = min(4 * k, total, most or total)

    def _dislikes(self, shopper: _Shopper) -> np.ndarray:
        """Vectors of the shopper's recent dislikes (cached until the next dislike)."""
        if shopper.dislike_matrix is None:
            shopper.dislike_matrix = self.index.vectors(list(shopper.recent_dislikes))[1]
        return shopper.dislike_matrix

    def _dislike_penalty(self, shopper: _Shopper, vectors: np.ndarray) -> np.ndarray:
        """How far each of these vectors is pushed down for being close to a dislike."""
        dislikes = self._dislikes(shopper)
        if len(dislikes) == 0 or len(vectors) == 0:
            return np.zeros(len(vectors))
        closest = (vectors @ dislikes.T).max(axis=1)
        floor = signals.DISLIKE_NEIGHBOUR_FLOOR
        share = np.clip((closest - floor) / (1.0 - floor), 0.0, None)
        return np.asarray(signals.DISLIKE_NEIGHBOUR_PENALTY * share, dtype=np.float64)

    def _skip_penalty(self, shopper: _Shopper, vectors: np.ndarray) -> np.ndarray:
        """Fatigue: each recent quick skip pushes its neighbourhood down a little; several
        in one area add up (see ``signals.SKIP_NEIGHBOUR_PENALTY``)."""
        if not shopper.recent_skips or len(vectors) == 0:
            return np.zeros(len(vectors))
        if shopper.skip_matrix is None:
            shopper.skip_matrix = self.index.vectors(list(shopper.recent_skips))[1]
        if len(shopper.skip_matrix) == 0:
            return np.zeros(len(vectors))
        floor = signals.DISLIKE_NEIGHBOUR_FLOOR
        share = np.clip((vectors @ shopper.skip_matrix.T - floor) / (1.0 - floor), 0.0, None)
        return np.asarray(signals.SKIP_NEIGHBOUR_PENALTY * share.sum(axis=1), dtype=np.float64)

    def _want(self, shopper: _Shopper) -> int:
        # Without dislikes there is nothing to rerank: the nearest eligible product wins.
        return RERANK if shopper.recent_dislikes else 1

    def _rerank(
        self, shopper: _Shopper, candidates: list[tuple[int, float]]
    ) -> tuple[int, float] | None:
        """The best candidate once dislike neighbours are pushed down."""
        if not candidates:
            return None
        candidates = candidates[:RERANK]
        if not shopper.recent_dislikes:
            return candidates[0]
        ids, vectors = self.index.vectors([pid for pid, _ in candidates])
        penalty = dict(zip(ids.tolist(), self._dislike_penalty(shopper, vectors), strict=True))
        scored = [(pid, score - float(penalty.get(pid, 0.0))) for pid, score in candidates]
        return max(scored, key=lambda item: item[1])

    def _query(self, shopper: _Shopper) -> np.ndarray | None:
        if shopper.taste is None:
            return None
        norm = float(np.linalg.norm(shopper.taste))
        if norm < 1e-9:
            return None
        return (shopper.taste / norm).astype(np.float32)

    def _query_apart(self, shopper: _Shopper, avoid: set[str]) -> np.ndarray | None:
        """The shopper's taste apart from the ``avoid`` groups: their positives elsewhere,
        with the taste's recency, or None if those weigh less than ``signals.APART_MIN``."""
        if shopper.positive_matrix is None:
            shopper.positive_matrix = self.index.vectors(list(shopper.positives))
        ids, matrix = shopper.positive_matrix
        weights = np.zeros(len(ids))
        for i, pid in enumerate(ids.tolist()):
            if not avoid.isdisjoint(self._groups(pid)):
                continue
            weight, at = shopper.positives[pid]
            weights[i] = weight * signals.TASTE_DECAY ** (shopper.reactions - at)
        if weights.sum() < signals.APART_MIN:
            return None
        taste = weights @ matrix
        norm = float(np.linalg.norm(taste))
        if norm < 1e-9:
            return None
        return (taste / norm).astype(np.float32)

    def _collab_scores(self, shopper: _Shopper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(product ids ascending, raw scores, ids best first)`` from the collaborative
        model, cached until the shopper engages again or the model changes."""
        key = (shopper.reactions, self.collab.version)
        cached = shopper.collab_cache
        if cached is not None and cached[0] == key:
            return cached[1], cached[2], cached[3]
        _, rows, weights = self._collab_positives(shopper)
        empty = np.zeros(0, dtype=np.int64)
        if not len(rows):
            result: tuple[np.ndarray, np.ndarray, np.ndarray] = (empty, np.zeros(0), empty)
        else:
            score_rows, scores = self.collab.scores(rows, weights)
            ids = self._row_ids[score_rows]
            order = np.argsort(ids)
            ids, scores = ids[order], scores[order]
            keep = scores > 0
            ids, scores = ids[keep], scores[keep]
            result = (ids, scores, ids[np.argsort(-scores, kind="stable")])
        shopper.collab_cache = (key, *result)
        return result

    def _collab_positives(self, shopper: _Shopper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(product ids, rows, decayed weights)`` of the shopper's positives that have a
        row, cached until their next reaction."""
        cached = shopper.collab_positives
        if cached is not None and cached[0] == shopper.reactions:
            return cached[1], cached[2], cached[3]
        positives = [(pid, entry) for pid, entry in shopper.positives.items() if pid in self._row]
        pids = np.array([pid for pid, _ in positives], dtype=np.int64)
        rows = np.array([self._row[pid] for pid, _ in positives], dtype=np.int64)
        weights = np.array([self._decayed(shopper, entry) for _, entry in positives])
        shopper.collab_positives = (shopper.reactions, pids, rows, weights)
        return pids, rows, weights

    def _score(
        self,
        shopper: _Shopper,
        candidates: Sequence[int],
        query: np.ndarray | None,
        collab: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The hybrid score of each candidate, as in ``signals``: ``(ids, total, content
        part, collaborative part)``, for those of ``candidates`` that have a vector."""
        ids, vectors = self.index.vectors(candidates)
        content = np.zeros(len(ids))
        if query is not None and len(ids):
            content = signals.W_CONTENT * (vectors @ query).astype(np.float64)
        collab_part = np.zeros(len(ids))
        collab_ids, collab_scores, _ = collab
        if len(collab_ids) and len(ids):
            at = np.clip(np.searchsorted(collab_ids, ids), 0, len(collab_ids) - 1)
            found = collab_ids[at] == ids
            collab_part[found] = (
                signals.W_COLLAB * collab_scores[at[found]] / self._collab_norm(shopper)
            )
        total = content + collab_part
        if shopper.recent_dislikes and len(ids):
            total = total - self._dislike_penalty(shopper, vectors)
        if shopper.recent_skips and len(ids):
            total = total - self._skip_penalty(shopper, vectors)
        return ids, total, content, collab_part

    def _collab_norm(self, shopper: _Shopper) -> float:
        """What a collaborative score is divided by: the score of a product every positive
        of the shopper points to with a typical strong weight. A product a single positive
        points to scores little; one that all of them agree on scores about 1."""
        total = float(self._collab_positives(shopper)[2].sum())
        return max(total, 1.0) * self.collab.model.scale * signals.COLLAB_AGREEMENT

    def _personal(self, shopper: _Shopper, avoid: set[str]) -> Pick | None:
        """The best hybrid pick for a shopper who has engaged with something."""
        if not shopper.positives:
            return None
        query = self._query(shopper)
        # A run of one category is broken with the shopper's taste outside it (a merchant
        # run only limits supply: the taste stays whole).
        categories = {group for group in avoid if group.startswith("c:")}
        if categories:
            apart = self._query_apart(shopper, categories)
            if apart is None and self._discovery_rate > 0.0:
                # Nothing liked outside the run: another category's products nearest the
                # taste are near it by chance, and a discovery card guesses better.
                return self._discovery(shopper)
            query = apart if apart is not None else query
        collab = self._collab_scores(shopper)
        if query is None and not len(collab[0]):
            return None
        passed = self._passed_groups(shopper) - avoid
        if passed:
            # Categories whose last verdict was a pass sit out while others can be offered:
            # a shopper whose taste moved on is not led back to the old one.
            pick = self._personal_among(shopper, avoid, query, collab, passed)
            if pick is not None:
                return pick
        return self._personal_among(shopper, avoid, query, collab)

    def _personal_among(
        self,
        shopper: _Shopper,
        avoid: set[str],
        query: np.ndarray | None,
        collab: tuple[np.ndarray, np.ndarray, np.ndarray],
        sit_out: set[str] | frozenset[str] = frozenset(),
    ) -> Pick | None:
        """The best hybrid pick outside the ``avoid`` and ``sit_out`` groups, if any.

        Only ``avoid`` (a run, a few groups) is left out by the index itself; ``sit_out``
        may be most of a large catalog, which is cheaper to filter from the ranked list.
        """
        eligible = self._eligible(shopper, avoid | sit_out)
        candidates = self._candidates(
            shopper, eligible, avoid, query, collab, RERANK, most=SIT_OUT_FETCH if sit_out else 0
        )
        if not candidates:
            return None
        ids, total, content, collab_part = self._score(shopper, candidates, query, collab)
        if not len(ids):
            return None
        best = int(np.argmax(total))
        return self._explain(shopper, int(ids[best]), total[best], content[best], collab_part[best])

    def _candidates(
        self,
        shopper: _Shopper,
        accept: Callable[[int], bool],
        avoid: set[str],
        query: np.ndarray | None,
        collab: tuple[np.ndarray, np.ndarray, np.ndarray],
        want: int,
        *,
        most: int = 0,
    ) -> list[int]:
        """Up to ``want`` accepted products nearest the taste, and up to ``want`` with the
        highest collaborative scores: the best hybrid score is among them, since a product
        in neither has a lower content score than the first and a lower collaborative
        score than the second. With ``most``, the nearest are looked for among at most that
        many (see ``_nearest``)."""
        found: dict[int, None] = {}
        if query is not None:
            nearest = self._nearest(
                query,
                accept,
                want,
                slot=(shopper.user_id, "taste"),
                seen=len(shopper.seen) + len(shopper.disliked),
                avoid=avoid,
                drifting=True,
                most=most,
            )
            found.update((pid, None) for pid, _ in nearest)
        taken = 0
        for pid in collab[2].tolist():
            if accept(pid):
                found[pid] = None
                taken += 1
                if taken >= want:
                    break
        return list(found)

    def _explain(
        self, shopper: _Shopper, pid: int, total: float, content: float, collab: float
    ) -> Pick:
        """The pick with the reason that carried it: the side of the score that weighed more."""
        if collab > content and collab > 0:
            because = self._collab_because(shopper, pid)
            if because is not None:
                return Pick(
                    pid, ReasonKind.OTHERS_LIKED, because_product_id=because, score=float(total)
                )
        return Pick(
            pid,
            ReasonKind.SIMILAR_TO_LIKED,
            because_product_id=self._because(shopper, pid),
            score=float(total),
        )

    def _collab_because(self, shopper: _Shopper, product_id: int) -> int | None:
        """The shopper's positive whose fans did most to put ``product_id`` here."""
        target = self._row.get(product_id)
        if target is None:
            return None
        pids, rows, weights = self._collab_positives(shopper)
        if not len(rows):
            return None
        values = weights * self.collab.strengths(rows, target)
        best = int(np.argmax(values))
        return int(pids[best]) if values[best] > 0 else None

    def _because(self, shopper: _Shopper, product_id: int) -> int | None:
        """The liked product most similar to ``product_id`` (the latest like if unknown)."""
        if not shopper.positives:
            return None
        if shopper.positive_matrix is None:
            shopper.positive_matrix = self.index.vectors(list(shopper.positives))
        ids, matrix = shopper.positive_matrix
        vector = self.index.vector(product_id)
        if vector is None or len(ids) == 0:
            return next(reversed(shopper.positives))
        return int(ids[int(np.argmax(matrix @ vector))])

    def _interest_vector(self, key: str) -> np.ndarray | None:
        cached = self._interest_vectors.get(key)
        if cached is not None:
            return cached
        members = self._by_category.get(key, set()) | self._by_hashtag.get(key, set())
        _, matrix = self.index.vectors(sorted(members))
        if len(matrix) == 0:
            return None
        mean = matrix.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm < 1e-9:
            return None
        vector = (mean / norm).astype(np.float32)
        self._interest_vectors[key] = vector
        return vector

    def _interest(self, shopper: _Shopper, avoid: set[str]) -> Pick | None:
        count = len(shopper.interests)
        for step in range(count):
            turn = (shopper.interest_turn + step) % count
            label, key = shopper.interests[turn]
            members = self._by_category.get(key, set()) | self._by_hashtag.get(key, set())
            eligible = self._eligible(shopper, avoid)
            if not any(eligible(pid) for pid in members):
                continue
            vector = self._interest_vector(key)
            best = None
            if vector is not None:
                candidates = self._nearest(
                    vector,
                    _within(members, eligible),
                    self._want(shopper),
                    slot=(shopper.user_id, "interest:" + key),
                    key=(vector.tobytes(),),
                    seen=len(shopper.seen) + len(shopper.disliked),
                    avoid=avoid,
                )
                best = self._rerank(shopper, candidates)
            if best is None:
                # Members not embedded yet: still this interest, in catalog order.
                best = (min(pid for pid in members if eligible(pid)), 0.0)
            shopper.interest_turn = (turn + 1) % count
            return Pick(best[0], ReasonKind.INTEREST, because_interest=label, score=best[1])
        return None

    def _ordered_rows(self, keys: np.ndarray, shopper: _Shopper) -> Iterable[int]:
        """Rows of available products by ascending ``keys``, lazily: a partial sort first,
        widened only when the shopper has excluded everything it returned."""
        rows = np.flatnonzero(self._row_available[: len(self._row)])
        keys = keys[rows]
        take = min(len(rows), len(shopper.seen) + len(shopper.disliked) + FIRST_FETCH)
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

    def _first(
        self, shopper: _Shopper, keys: np.ndarray, accept: Callable[[int], bool], want: int
    ) -> list[int]:
        found: list[int] = []
        for row in self._ordered_rows(keys, shopper):
            pid = int(self._row_ids[row])
            if accept(pid):
                found.append(pid)
                if len(found) >= want:
                    break
        return found

    def _popular_ranking(self) -> tuple[np.ndarray, np.ndarray]:
        """Popularity per row and the ``POPULAR_CACHE`` most popular rows, best first.

        Recomputed (an O(catalog) pass) once per hundredth of the catalog's size in
        changes, so at a million products a cold shopper's pick does not sort a million
        scores, while the chart of a shop under a hundred products is always exact.
        """
        n = len(self._row)
        cached = self._popular_cache
        if cached is not None and cached[0] == n and self._popular_changes < max(1, n // 100):
            return cached[1], cached[2]
        score = self._signal[:n] / (self._impressions[:n] + signals.POPULARITY_PRIOR_IMPRESSIONS)
        keys = self._tiebroken(score)
        keys[~self._row_available[:n]] = np.inf
        top = min(n, POPULAR_CACHE)
        order = np.argpartition(keys, top - 1)[:top] if top < n else np.arange(n)
        order = order[np.argsort(keys[order], kind="stable")]
        self._popular_cache = (n, score, order)
        self._popular_changes = 0
        return score, order

    def _tiebroken(self, score: np.ndarray) -> np.ndarray:
        """Sort keys for ``score`` per row, best first, exact ties broken.

        Equal scores (a cold catalog) would follow insertion order, i.e. one merchant's
        whole range in a row. Exact ties are broken by a fixed scramble of the rows
        (golden-ratio steps), not by the random generator, so a replay stays identical. The
        scramble is kept: computing it anew took the chart from 11 ms to 32 ms of CPU time at
        a million products (2 ms to 4 ms at 100k).
        """
        n = len(score)
        if len(self._tiebreak) < n:
            self._tiebreak = 1e-9 * (
                (np.arange(max(n, 2 * len(self._tiebreak))) * 0.6180339887498949) % 1.0
            )
        return self._tiebreak[:n] - score

    def _popular(self, shopper: _Shopper, avoid: set[str]) -> Pick | None:
        score, order = self._popular_ranking()
        accept = self._eligible(shopper, avoid)
        found: list[int] = []
        for pid in self._row_ids[order].tolist():
            if accept(pid):
                found.append(pid)
                if len(found) >= RERANK:
                    break
        if len(found) < RERANK and len(order) < len(score):
            # The shopper has seen most of the chart: the rest of the catalog, in order.
            found = self._first(shopper, self._tiebroken(score), accept, RERANK)
        if not found:
            return None
        # A shopper with no taste yet should see the breadth of the catalog: every recent
        # card of the same category makes a popular product a little less attractive.
        recent = Counter(g[0][2:] for _, g in list(shopper.recent)[-COLD_CATEGORY_MEMORY:] if g[0])
        candidates = sorted(
            (
                (
                    pid,
                    float(score[self._row[pid]])
                    - COLD_REPEAT_PENALTY * recent[self._category(pid)],
                )
                for pid in found
            ),
            key=lambda item: -item[1],
        )
        best = self._rerank(shopper, candidates)
        assert best is not None
        return Pick(best[0], ReasonKind.POPULAR, score=best[1])

    def _exposure_cut(self) -> float:
        """How often an under-exposed product has been shown at most (cached)."""
        cached = self._exposure
        if cached is not None and self._impression_count - cached[0] < EXPOSURE_CUT_EVERY:
            return cached[1]
        n = len(self._row)
        rows = slice(0, n, 1 + n // EXPOSURE_SAMPLE)
        shown = self._impressions[rows][self._row_available[rows]]
        cut = float(np.quantile(shown, UNDER_EXPOSED_QUANTILE)) if len(shown) else 0.0
        self._exposure = (self._impression_count, cut)
        return cut

    def _discovery_pool(
        self, shopper: _Shopper, accept: Callable[[int], bool], size: int = DISCOVERY_POOL
    ) -> list[int]:
        """Up to ``size`` eligible under-exposed products, at random.

        Sampled rows rather than a scan, so a discovery pick costs the same at a million
        products; when sampling finds too few (a small catalog, mostly seen), the least
        shown eligible products fill the pool.
        """
        n = len(self._row)
        cut = self._exposure_cut()
        pool: dict[int, None] = {}
        for _ in range(4):
            rows = np.unique(self._rng.integers(0, n, size=4 * size))
            self._rng.shuffle(rows)
            rows = rows[self._row_available[rows] & (self._impressions[rows] <= cut)]
            for pid in self._row_ids[rows].tolist():
                if pid not in pool and accept(pid):
                    pool[pid] = None
                    if len(pool) >= size:
                        return list(pool)
        # Least shown first; noise below one impression shuffles products shown equally.
        keys = self._impressions[:n] + 0.5 * self._rng.random(n)
        for pid in self._first(
            shopper, keys, lambda p: p not in pool and accept(p), size - len(pool)
        ):
            pool[pid] = None
        return list(pool)

    def _discovery(self, shopper: _Shopper) -> Pick | None:
        """Thompson sampling on like-rates among eligible under-exposed products, never of
        the category or merchant of the last cards when others are available."""
        recent = {
            group
            for _, groups in list(shopper.recent)[-DISCOVERY_CATEGORY_MEMORY:]
            for group in groups
            if group
        }
        spent = self._spent(shopper)
        for avoid in [recent, set()] if recent else [set()]:
            # A shopper the feed has lost gets a wider pool: with the fatigue penalty below,
            # the draw then sweeps areas not tried yet instead of landing anywhere.
            size = DISCOVERY_POOL * (LOST_POOL_FACTOR if shopper.misses > signals.MISS_GRACE else 1)
            accept = self._eligible(shopper, avoid)
            pool: list[int] = []
            if spent:
                # Categories passed on lately are not where this shopper's taste went.
                pool = self._discovery_pool(
                    shopper, _outside(spent, self._category_of, accept), size
                )
            if not pool:
                pool = self._discovery_pool(shopper, accept, size)
            if not pool:
                continue
            rows = np.array([self._row[pid] for pid in pool], dtype=np.int64)
            likes = self._likes[rows].astype(np.float64)
            misses = np.maximum(self._impressions[rows] - likes, 0.0)
            draws = self._rng.beta(
                signals.DISCOVERY_PRIOR_LIKES + likes, signals.DISCOVERY_PRIOR_MISSES + misses
            )
            if shopper.recent_skips or shopper.recent_dislikes:
                # Exploring where the shopper just passed three times is not exploring, and
                # next to what they called "not for me" is not worth a card.
                _, vectors = self.index.vectors(pool)
                if len(vectors) == len(pool):
                    draws = draws - signals.DISCOVERY_FATIGUE * self._skip_penalty(shopper, vectors)
                    draws = draws - self._dislike_penalty(shopper, vectors)
            order = [pool[i] for i in np.argsort(-draws, kind="stable").tolist()]
            pid = order[0]
            dislikes = self._dislikes(shopper) if shopper.recent_dislikes else None
            if dislikes is not None and len(dislikes):
                # Random is fine; a near-copy of what was just rejected is not.
                ids, vectors = self.index.vectors(order)
                near = (vectors @ dislikes.T).max(axis=1) >= DISCOVERY_DISLIKE_COSINE
                close = set(ids[near].tolist())
                pid = next((p for p in order if p not in close), pid)
            return Pick(pid, ReasonKind.DISCOVERY)
        return None

    @staticmethod
    def _spent(shopper: _Shopper) -> set[str]:
        """Categories the shopper passed on since their last positive reaction or within
        ``signals.PASS_MEMORY`` reactions, and has not reacted positively to since."""
        since = min(shopper.positive_at, shopper.reactions - signals.PASS_MEMORY)
        return {category for category, (_, at) in shopper.passed.items() if at > since and category}

    @staticmethod
    def _passed_groups(shopper: _Shopper) -> set[str]:
        """The category groups the shopper passed on within the last
        ``signals.PASS_MEMORY`` reactions: ``signals.PASS_STRIKES`` times in a row, or once
        while on a losing streak (one quick skip of a favourite category between likes is a
        glance, not a change of mind; passes one after another are)."""
        recent = shopper.reactions - signals.PASS_MEMORY
        enough = 1 if shopper.misses > signals.MISS_GRACE else signals.PASS_STRIKES
        return {
            _category_group(category)
            for category, (strikes, at) in shopper.passed.items()
            if category and strikes >= enough and at > recent
        }

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
        shopper = self._shoppers.get(user_id) or _Shopper(user_id)
        self._maintain()
        explore = round(k * self._discovery_rate) if discovery else 0
        exploit = k - explore
        members = set(among) if among is not None else None
        base = self._eligible(shopper, set())
        accept = base if members is None else _within(members, base)
        picks: list[Pick] = []
        if shopper.positives:
            query = self._query(shopper)
            collab = self._collab_scores(shopper)
            if members is not None:
                candidates = [pid for pid in members if accept(pid)]
            else:
                candidates = self._candidates(
                    shopper, accept, set(), query, collab, exploit + RERANK
                )
            ids, total, content, collab_part = self._score(shopper, candidates, query, collab)
            for i in np.argsort(-total, kind="stable")[:exploit].tolist():
                picks.append(
                    self._explain(shopper, int(ids[i]), total[i], content[i], collab_part[i])
                )
        if len(picks) < exploit:
            chosen = {p.product_id for p in picks}
            n = len(self._row)
            score = self._signal[:n] / (
                self._impressions[:n] + signals.POPULARITY_PRIOR_IMPRESSIONS
            )
            found = self._first(
                shopper, -score, lambda pid: accept(pid) and pid not in chosen, exploit
            )
            picks.extend(Pick(pid, ReasonKind.POPULAR) for pid in found[: exploit - len(picks)])
        if explore:
            # Discovery draws as in the feed, from a copy of the shopper that also counts
            # the products already on the list as seen.
            probe = _Shopper(
                user_id,
                seen=shopper.seen | {p.product_id for p in picks},
                disliked=shopper.disliked,
                recent_dislikes=shopper.recent_dislikes,
                dislike_matrix=shopper.dislike_matrix,
            )
            while len(picks) < k:
                pick = self._discovery(probe)
                if pick is None or (members is not None and pick.product_id not in members):
                    break
                picks.append(pick)
                probe.seen.add(pick.product_id)
        return picks

    # -- search ------------------------------------------------------------------------

    def search(self, query_vector: np.ndarray, k: int = 10) -> list[int]:
        """Ids of the ``k`` available products nearest to ``query_vector``, best first."""
        query = np.asarray(query_vector, dtype=np.float32)
        available = self._available
        return [pid for pid, _ in self._nearest(query, lambda pid: pid in available, k)][:k]
