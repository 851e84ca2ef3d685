"""The products nearest to a query vector that a pick may take, and the searches kept.

Every personal or interest pick starts from the index's nearest products to a vector (the
shopper's taste, an interest's centroid), filtered by what the shopper may be shown. A
search's ranked list is kept per shopper and purpose (a *shortlist*): after an impression or
a neutral skip, which do not turn the taste, the next pick only filters the same list again
instead of scanning the index.

Used from the ranking thread only (see ``ranking.hybrid``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from reelcart.embeddings.index import VectorIndex
from reelcart.ranking.assortment import FIRST_FETCH, Accept, Assortment

#: The first fetch grows with what the shopper has seen or disliked, up to this much more.
MAX_FIRST_FETCH = 1024
#: Search results kept (shopper and purpose), and the longest kept: at most about 50 MB.
SHORTLIST_CACHE = 2048
SHORTLIST_LENGTH = 2048
#: A taste query this close (cosine) to the one a shortlist was searched with reuses it.
SHORTLIST_COSINE = 0.995

#: Whose search and for what: (user id, purpose).
Slot = tuple[int, str]


@dataclass(frozen=True)
class Shortlist:
    """The last exact search for one shopper, reusable while nothing it depends on changed.

    An exact search for the same query over the same index gives the same ranked list. A
    taste that moved only a little (``SHORTLIST_COSINE``) reuses it too: it only supplies
    candidates, which the hybrid score then ranks with the current taste.
    """

    key: tuple[object, ...]
    ids: np.ndarray
    scores: np.ndarray
    exhaustive: bool
    query: np.ndarray | None = None


def accepted(
    ids: np.ndarray, scores: np.ndarray, accept: Accept, want: int
) -> list[tuple[int, float]]:
    """The first ``want`` of a ranked list that ``accept`` lets through."""
    found: list[tuple[int, float]] = []
    for pid, score in zip(ids.tolist(), scores.tolist(), strict=True):
        if accept(pid):
            found.append((pid, score))
            if len(found) >= want:
                break
    return found


class Shortlists:
    """Nearest-product searches over the index, each kept per shopper and purpose."""

    def __init__(self, index: VectorIndex, assortment: Assortment) -> None:
        self.index = index
        self.assortment = assortment
        self._kept: OrderedDict[Slot, Shortlist] = OrderedDict()

    def forget(self, user_id: int) -> None:
        """Drop the shopper's kept searches."""
        for slot in [slot for slot in self._kept if slot[0] == user_id]:
            del self._kept[slot]

    def nearest(
        self,
        query: np.ndarray,
        accept: Accept,
        want: int,
        *,
        slot: Slot | None = None,
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
        first fetch. Products of the ``avoid`` groups are left out by the index itself:
        when the taste sits in that category, they are exactly the nearest ones. With
        ``drifting``, a kept list is reused for a query within ``SHORTLIST_COSINE`` of its own.
        With ``most``, that many are fetched at once and no more: what passes among them
        is returned, even if fewer than ``want``.
        """
        total = len(self.index)
        if total == 0:
            return []
        full_key = (*key, tuple(sorted(avoid)), self.index.version)
        exclude = self.assortment.excluded(avoid) if avoid else None
        cached = self._kept.get(slot) if slot is not None else None
        if (
            slot is not None
            and cached is not None
            and cached.key == full_key
            and (
                not drifting
                or (cached.query is not None and float(cached.query @ query) >= SHORTLIST_COSINE)
            )
        ):
            self._kept.move_to_end(slot)
            found = accepted(cached.ids, cached.scores, accept, want)
            if len(found) >= want or cached.exhaustive or 0 < most <= len(cached.ids):
                return found
            k = min(4 * len(cached.ids), total, most or total)
        else:
            # A capped search (the sit-out pass) fetches its cap at once: its candidates lie
            # beyond the taste's own category, so a smaller first fetch was nearly always
            # followed by a second search and filter.
            k = min(total, max(FIRST_FETCH + min(seen, MAX_FIRST_FETCH), most))
        while True:
            scores, ids = self.index.search(query, k, exclude=exclude)
            valid = ids[0] >= 0
            row_ids, row_scores = ids[0][valid], scores[0][valid]
            # Fewer hits than asked for: everything that qualifies has been returned.
            exhaustive = k >= total or len(row_ids) < k
            if slot is not None:
                kept = len(row_ids) <= SHORTLIST_LENGTH
                self._kept[slot] = Shortlist(
                    full_key,
                    row_ids[:SHORTLIST_LENGTH],
                    row_scores[:SHORTLIST_LENGTH],
                    exhaustive and kept,
                    query if drifting else None,
                )
                self._kept.move_to_end(slot)
                while len(self._kept) > SHORTLIST_CACHE:
                    self._kept.popitem(last=False)
            found = accepted(row_ids, row_scores, accept, want)
            if len(found) >= want or exhaustive or 0 < most <= k:
                return found
            k = min(4 * k, total, most or total)
