"""What the ranking knows about each shopper, and how every reaction changes it.

Each shopper has a taste vector: the decayed, weighted sum of the vectors of the products
they reacted to (weights and decay in ``ranking.signals``), and a decayed list of the
products they engaged with. A pass (a quick skip, "not for me") takes back part of the
positives near it, and a losing streak fades the past, so a shopper whose taste moved on is
followed. Every reaction also counts for its product (``Assortment``) and, if it is
engagement, for the collaborative model.

Used from the ranking thread only (see ``ranking.hybrid``).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reelcart.domain import EventKind, Reaction
from reelcart.embeddings.index import VectorIndex
from reelcart.ranking import signals
from reelcart.ranking.assortment import Assortment, category_group, label_key
from reelcart.ranking.collaborative import CoEngagement

#: At most this many cards in a row from one category (or one merchant), when others are
#: available.
MAX_CATEGORY_RUN = 3
#: Cold feeds: how many recent cards count against a repeat of their category.
COLD_CATEGORY_MEMORY = 6
#: Recent cards remembered per shopper: enough for both of the above.
RECENT_CARDS = max(MAX_CATEGORY_RUN, COLD_CATEGORY_MEMORY)
#: Liked products remembered per shopper for "because you liked ...".
POSITIVE_MEMORY = 1000


@dataclass
class Shopper:
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
        default_factory=lambda: deque(maxlen=RECENT_CARDS)
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


def unit_taste(shopper: Shopper) -> np.ndarray | None:
    """The shopper's taste as a float32 unit vector, or None before any reaction with a
    signal (or when their reactions cancel out)."""
    if shopper.taste is None:
        return None
    norm = float(np.linalg.norm(shopper.taste))
    if norm < 1e-9:
        return None
    return (shopper.taste / norm).astype(np.float32)


def decayed(shopper: Shopper, entry: tuple[float, int]) -> float:
    """A positive's weight, decayed for the collaborative side (``signals.CF_DECAY``)."""
    weight, at = entry
    return weight * signals.CF_DECAY ** (shopper.reactions - at)


def fade(shopper: Shopper, factor: float) -> None:
    """Scale down everything the shopper's past says (taste and positives' weights)."""
    shopper.collab_positives = None
    if shopper.taste is not None:
        shopper.taste *= factor
    for pid, (weight, at) in shopper.positives.items():
        shopper.positives[pid] = (weight * factor, at)


def start_cycle(shopper: Shopper) -> None:
    """Every product may be shown again: the shopper has seen them all."""
    shopper.seen = set()
    shopper.pending = set()


def spent_categories(shopper: Shopper) -> set[str]:
    """Categories the shopper passed on since their last positive reaction or within
    ``signals.PASS_MEMORY`` reactions, and has not reacted positively to since."""
    since = min(shopper.positive_at, shopper.reactions - signals.PASS_MEMORY)
    return {category for category, (_, at) in shopper.passed.items() if at > since and category}


def passed_groups(shopper: Shopper) -> set[str]:
    """The category groups the shopper passed on within the last ``signals.PASS_MEMORY``
    reactions: ``signals.PASS_STRIKES`` times in a row, or once while on a losing streak
    (one quick skip of a favourite category between likes is a glance, not a change of
    mind; passes one after another are)."""
    recent = shopper.reactions - signals.PASS_MEMORY
    enough = 1 if shopper.misses > signals.MISS_GRACE else signals.PASS_STRIKES
    return {
        category_group(category)
        for category, (strikes, at) in shopper.passed.items()
        if category and strikes >= enough and at > recent
    }


class Shoppers:
    """Every shopper the ranking knows, learning from each event as it comes."""

    def __init__(self, index: VectorIndex, assortment: Assortment, collab: CoEngagement) -> None:
        self.index = index
        self.assortment = assortment
        self.collab = collab
        self.by_id: dict[int, Shopper] = {}

    def get(self, user_id: int) -> Shopper | None:
        """The shopper, if the ranking knows them."""
        return self.by_id.get(user_id)

    def of(self, user_id: int) -> Shopper:
        """The shopper, known from now on if they were not."""
        shopper = self.by_id.get(user_id)
        if shopper is None:
            shopper = self.by_id[user_id] = Shopper(user_id)
        return shopper

    def forget(self, user_id: int) -> None:
        """Drop what is known about one shopper."""
        self.by_id.pop(user_id, None)

    def set_interests(self, user_id: int, interests: Sequence[str]) -> None:
        """The categories or hashtags a shopper chose at onboarding, in order, each once."""
        shopper = self.of(user_id)
        chosen: dict[str, str] = {}
        for interest in interests:
            key = label_key(interest)
            if key and key not in chosen:
                chosen[key] = interest.strip()
        shopper.interests = [(label, key) for key, label in chosen.items()]
        shopper.interest_turn = 0

    def taste_of(self, user_id: int) -> np.ndarray | None:
        """The shopper's taste as a unit vector, or None before any reaction with a signal."""
        shopper = self.by_id.get(user_id)
        return None if shopper is None else unit_taste(shopper)

    def positive_vectors(self, shopper: Shopper) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of the shopper's positives that are embedded (cached until
        their positives change)."""
        if shopper.positive_matrix is None:
            shopper.positive_matrix = self.index.vectors(list(shopper.positives))
        return shopper.positive_matrix

    def observe(self, reaction: Reaction) -> None:
        """Learn from one event at once: taste, seen and disliked products, popularity,
        engagement for the collaborative model.

        Also how the state is rebuilt on start, by replaying the event log in order: the
        result is the same as having observed the events live.
        """
        shopper = self.of(reaction.user_id)
        product_id = reaction.product_id
        assortment = self.assortment
        if reaction.kind is EventKind.IMPRESSION:
            assortment.count_impression(product_id)
            self._mark_shown(shopper, product_id)
            return

        weight = signals.signal_weight(
            reaction.kind, reaction.dwell_ms, assortment.clip_seconds.get(product_id)
        )
        if reaction.kind is EventKind.SKIP and weight < 0 and product_id in shopper.positives:
            # Moving on from a card just liked is not a verdict on it.
            weight = 0.0
        positive = reaction.kind in signals.POSITIVE_KINDS
        row = assortment.count_reaction(product_id, weight, positive)
        if row is not None:
            collab_weight = weight if positive else signals.COLLAB_TAKE_BACK.get(reaction.kind, 0.0)
            self.collab.record(reaction.user_id, row, collab_weight)
            if collab_weight:
                shopper.collab_cache = None
        shopper.reactions += 1
        shopper.seen.add(product_id)

        category = assortment.category(product_id)
        if positive:
            shopper.misses = 0
            shopper.passed.pop(category, None)
            shopper.positive_at = shopper.reactions
            # A like in a category forgives the quick skips in it: their fatigue is lifted.
            forgiven = [pid for pid in shopper.recent_skips if assortment.category(pid) == category]
            if category and forgiven:
                for pid in forgiven:
                    shopper.recent_skips.remove(pid)
                shopper.skip_matrix = None
        elif weight < 0:
            strikes = shopper.passed.get(category, (0, 0))[0]
            shopper.passed[category] = (strikes + 1, shopper.reactions)
            shopper.misses += 1
            if shopper.misses > signals.MISS_GRACE:
                fade(shopper, signals.STREAK_DECAY)
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
        elif positive:
            previous = shopper.positives.get(product_id)
            total = weight + (decayed(shopper, previous) if previous else 0.0)
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

    def _mark_shown(self, shopper: Shopper, product_id: int) -> None:
        if product_id in shopper.pending:
            # Picked by next_pick, which already marked it seen.
            shopper.pending.discard(product_id)
            return
        if product_id in shopper.seen and not self.assortment.has_unseen(
            shopper.seen, shopper.disliked
        ):
            # A card seen before, shown after every product was seen: the new cycle that
            # next_pick started live, replayed.
            start_cycle(shopper)
        shopper.seen.add(product_id)
        shopper.recent.append((product_id, self.assortment.groups(product_id)))

    def _retract(self, shopper: Shopper, product_id: int) -> None:
        """A pass on ``product_id`` takes back part of the positives near it: their weight
        in the taste and in the collaborative side (``signals.RETRACT_SHARE``)."""
        vector = self.index.vector(product_id)
        if vector is None:
            return
        ids, matrix = self.positive_vectors(shopper)
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

    def taste_apart(self, shopper: Shopper, avoid: set[str]) -> np.ndarray | None:
        """The shopper's taste apart from the ``avoid`` groups: their positives elsewhere,
        with the taste's recency, or None if those weigh less than ``signals.APART_MIN``."""
        ids, matrix = self.positive_vectors(shopper)
        weights = np.zeros(len(ids))
        for i, pid in enumerate(ids.tolist()):
            if not avoid.isdisjoint(self.assortment.groups(pid)):
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
