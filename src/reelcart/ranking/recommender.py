"""Which card next, and why: the feed's ranking, in memory.

Each shopper has a taste vector: the decayed, weighted sum of the vectors of the products
they reacted to (weights and decay in ``ranking.signals``). A pick is, in order of
preference:

1. with probability ``discovery_rate``, a *discovery* card: a random product among the
   least shown ones, so new products get seen and shoppers find what they did not know
   they wanted;
2. if the shopper has liked (or shared, clicked, bought) something: the nearest neighbours
   of their taste in the FAISS index, products near a recent dislike pushed down;
3. else, if they chose interests at onboarding: the product closest to an interest's
   centroid, interests taking turns;
4. else the most popular product (mean signal per impression).

Never a product seen in the current cycle, disliked, paused or out of stock; never a fourth
card in a row from one category when another category is available.

Threading: a ``Recommender`` is used from one thread only. The services run every call on
a dedicated single-thread executor, so its state needs no locks; only the ``VectorIndex``,
which the embedding thread also writes, locks itself.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from reelcart.domain import EventKind, Pick, Product, ProductStatus, Reaction, ReasonKind
from reelcart.embeddings.index import VectorIndex
from reelcart.ranking import signals

log = logging.getLogger(__name__)

#: Candidates fetched from the index beyond those the shopper has already seen (seen ones
#: cluster around their taste); multiplied by 4 until enough pass the exclusions.
FIRST_FETCH = 64
MAX_FIRST_FETCH = 1024
#: Search results kept (see ``_Shortlist``), and the longest kept: at most about 50 MB.
SHORTLIST_CACHE = 2048
SHORTLIST_LENGTH = 2048
#: Accepted candidates re-scored with the dislike penalty.
RERANK = 32
#: At most this many cards in a row from one category, when others are available.
MAX_CATEGORY_RUN = 3
# Cold feeds: how many recent cards count, and what each same-category card costs.
COLD_CATEGORY_MEMORY = 6
COLD_REPEAT_PENALTY = 0.05
#: Discovery avoids the categories of this many last cards.
DISCOVERY_CATEGORY_MEMORY = 2
#: Discovery never offers a near-copy (cosine at least this) of something disliked.
DISCOVERY_DISLIKE_COSINE = 0.8
#: Liked products remembered per shopper for "because you liked ...".
POSITIVE_MEMORY = 50


def _key(label: str) -> str:
    """Categories and hashtags compare case-insensitively, with or without ``#``."""
    return label.strip().lstrip("#").casefold()


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


@dataclass(frozen=True)
class _Shortlist:
    """The last exact search for one shopper, reusable while nothing it depends on changed.

    An exact search for the same query over the same index gives the same ranked list, so
    after an impression or a neutral skip (which do not turn the taste) the next pick only
    filters this list again instead of scanning the index.
    """

    key: tuple[object, ...]
    ids: np.ndarray
    scores: np.ndarray
    exhaustive: bool


@dataclass
class _Shopper:
    """Everything the ranking knows about one shopper."""

    user_id: int
    taste: np.ndarray | None = None
    #: Bumped whenever the taste turns (decay alone only scales it).
    taste_version: int = 0
    #: Products with positive engagement, most recent last (for "because you liked").
    positives: OrderedDict[int, None] = field(default_factory=OrderedDict)
    seen: set[int] = field(default_factory=set)
    #: Picked but their impression not observed yet: the impression must not count twice.
    pending: set[int] = field(default_factory=set)
    disliked: set[int] = field(default_factory=set)
    recent_dislikes: deque[int] = field(
        default_factory=lambda: deque(maxlen=signals.DISLIKE_MEMORY)
    )
    #: Last shown products and their category keys, newest last.
    recent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=MAX_CATEGORY_RUN))
    #: (as chosen, key) per onboarding interest.
    interests: list[tuple[str, str]] = field(default_factory=list)
    interest_turn: int = 0
    # Caches of vectors, rebuilt when the sets above change.
    dislike_matrix: np.ndarray | None = None
    positive_matrix: tuple[np.ndarray, np.ndarray] | None = None


class Recommender:
    """The feed's ranking over one catalog, updated live by every reaction."""

    def __init__(
        self, index: VectorIndex, *, discovery_rate: float = 0.1, seed: int | None = None
    ) -> None:
        self.index = index
        self.discovery_rate = discovery_rate
        self._rng = np.random.default_rng(seed)
        self._products: dict[int, Product] = {}
        self._available: set[int] = set()
        self._by_category: dict[str, set[int]] = {}
        self._by_hashtag: dict[str, set[int]] = {}
        self._category_of: dict[int, str] = {}
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

    @property
    def discovery_rate(self) -> float:
        """Share of picks that are discovery cards, between 0 and 1; settable at run time."""
        return self._discovery_rate

    @discovery_rate.setter
    def discovery_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("discovery_rate must be between 0 and 1")
        self._discovery_rate = float(rate)

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
        if category:
            self._by_category.setdefault(category, set()).add(product.id)
            self._interest_vectors.pop(category, None)
        for tag in tags:
            self._by_hashtag.setdefault(tag, set()).add(product.id)
            self._interest_vectors.pop(tag, None)

    def _unlink(self, product: Product) -> None:
        category, tags = self._labels(product)
        self._category_of.pop(product.id, None)
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
            self._row_available[row:] = False
            self._impressions[row:] = 0
            self._signal[row:] = 0.0
        self._row[product_id] = row
        self._row_ids[row] = product_id
        return row

    def _category(self, product_id: int) -> str:
        return self._category_of.get(product_id, "")

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
        if reaction.kind is EventKind.IMPRESSION:
            if row is not None:
                self._impressions[row] += 1
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
        shopper.seen.add(product_id)

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
        elif reaction.kind in signals.POSITIVE_KINDS:
            shopper.positives[product_id] = None
            shopper.positives.move_to_end(product_id)
            while len(shopper.positives) > POSITIVE_MEMORY:
                shopper.positives.popitem(last=False)
            shopper.positive_matrix = None

        if shopper.taste is not None:
            shopper.taste *= signals.TASTE_DECAY
        if weight != 0.0:
            vector = self.index.vector(product_id)
            if vector is not None:
                if shopper.taste is None:
                    shopper.taste = np.zeros(self.index.dim, dtype=np.float64)
                shopper.taste += weight * vector
                shopper.taste_version += 1

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
        shopper.recent.append((product_id, self._category(product_id)))

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
        shopper.recent.append((pick.product_id, self._category(pick.product_id)))
        return pick

    def _pick(self, shopper: _Shopper) -> Pick | None:
        if self._discovery_rate > 0.0 and self._rng.random() < self._discovery_rate:
            pick = self._discovery(shopper)
            if pick is not None:
                return pick
        categories = [category for _, category in shopper.recent]
        run = (
            {categories[-1]}
            if len(categories) >= MAX_CATEGORY_RUN
            and categories[-1]
            and len(set(categories[-MAX_CATEGORY_RUN:])) == 1
            else set()
        )
        for avoid in [run, set()] if run else [set()]:
            pick = (
                self._similar_to_liked(shopper, avoid)
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
        return lambda pid: (
            pid in available
            and pid not in seen
            and pid not in disliked
            and self._category(pid) not in avoid
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
    ) -> list[tuple[int, float]]:
        """Up to ``want`` accepted products nearest to ``query``, best first.

        Fetches more until ``want`` pass or the whole index has been looked at. With a
        ``slot`` (shopper, purpose), the ranked list is kept there under ``key``, which must
        identify the query, and reused while the index is unchanged; ``seen`` sizes the
        first fetch. Products of the ``avoid`` categories are left out by the index itself:
        when the taste sits in that category, they are exactly the nearest ones.
        """
        total = len(self.index)
        if total == 0:
            return []
        full_key = (*key, tuple(sorted(avoid)), self.index.version)
        exclude: list[int] | None = None
        if avoid:
            exclude = [pid for c in avoid for pid in self._by_category.get(c, ())]
        cached = self._shortlists.get(slot) if slot is not None else None
        if slot is not None and cached is not None and cached.key == full_key:
            self._shortlists.move_to_end(slot)
            found = _accepted(cached.ids, cached.scores, accept, want)
            if len(found) >= want or cached.exhaustive:
                return found
            k = min(4 * len(cached.ids), total)
        else:
            k = min(total, FIRST_FETCH + min(seen, MAX_FIRST_FETCH))
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
                )
                self._shortlists.move_to_end(slot)
                while len(self._shortlists) > SHORTLIST_CACHE:
                    self._shortlists.popitem(last=False)
            found = _accepted(row_ids, row_scores, accept, want)
            if len(found) >= want or exhaustive:
                return found
            k = min(4 * k, total)

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

    def _similar_to_liked(self, shopper: _Shopper, avoid: set[str]) -> Pick | None:
        if not shopper.positives or shopper.taste is None:
            return None
        norm = float(np.linalg.norm(shopper.taste))
        if norm < 1e-9:
            return None
        query = (shopper.taste / norm).astype(np.float32)
        candidates = self._nearest(
            query,
            self._eligible(shopper, avoid),
            self._want(shopper),
            slot=(shopper.user_id, "taste"),
            key=(shopper.taste_version,),
            seen=len(shopper.seen) + len(shopper.disliked),
            avoid=avoid,
        )
        best = self._rerank(shopper, candidates)
        if best is None:
            return None
        pid, score = best
        return Pick(
            pid, ReasonKind.SIMILAR_TO_LIKED, because_product_id=self._because(shopper, pid),
            score=score,
        )  # fmt: skip

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

    def _popular(self, shopper: _Shopper, avoid: set[str]) -> Pick | None:
        n = len(self._row)
        score = self._signal[:n] / (self._impressions[:n] + signals.POPULARITY_PRIOR_IMPRESSIONS)
        # Equal scores (a cold catalog) would follow insertion order, i.e. one merchant's
        # whole range in a row. Exact ties are broken by a fixed scramble of the rows
        # (golden-ratio steps), not by the random generator, so a replay stays identical.
        scramble = (np.arange(n) * 0.6180339887498949) % 1.0
        keys = -score + 1e-9 * scramble
        found = self._first(shopper, keys, self._eligible(shopper, avoid), RERANK)
        if not found:
            return None
        # A shopper with no taste yet should see the breadth of the catalog: every recent
        # card of the same category makes a popular product a little less attractive.
        recent = Counter(c for _, c in list(shopper.recent)[-COLD_CATEGORY_MEMORY:] if c)
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

    def _discovery(self, shopper: _Shopper) -> Pick | None:
        n = len(self._row)
        # Least shown first; noise below one impression shuffles products shown equally.
        keys = self._impressions[:n] + 0.5 * self._rng.random(n)
        recent = {c for _, c in list(shopper.recent)[-DISCOVERY_CATEGORY_MEMORY:] if c}
        for avoid in [recent, set()] if recent else [set()]:
            found = self._first(shopper, keys, self._eligible(shopper, avoid), 8)
            if not found:
                continue
            pid = found[0]
            dislikes = self._dislikes(shopper) if shopper.recent_dislikes else None
            if dislikes is not None and len(dislikes):
                # Random is fine; a near-copy of what was just rejected is not.
                ids, vectors = self.index.vectors(found)
                near = (vectors @ dislikes.T).max(axis=1) >= DISCOVERY_DISLIKE_COSINE
                close = set(ids[near].tolist())
                pid = next((p for p in found if p not in close), pid)
            return Pick(pid, ReasonKind.DISCOVERY)
        return None

    # -- search ------------------------------------------------------------------------

    def search(self, query_vector: np.ndarray, k: int = 10) -> list[int]:
        """Ids of the ``k`` available products nearest to ``query_vector``, best first."""
        query = np.asarray(query_vector, dtype=np.float32)
        available = self._available
        return [pid for pid, _ in self._nearest(query, lambda pid: pid in available, k)][:k]
