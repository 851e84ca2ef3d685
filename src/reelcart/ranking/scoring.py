"""The hybrid score of a candidate for one shopper, and the candidates worth scoring.

A personal pick scores each candidate by its content similarity to the shopper's taste plus
its normalised collaborative score, minus the penalties for being near a recent dislike or
recent quick skips; the blend and why it is so are in ``ranking.signals``.

Candidates come from the index (nearest to the taste) and from the collaborative model
(highest collaborative scores): the best hybrid score is always among them.

Used from the ranking thread only (see ``ranking.hybrid``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reelcart.embeddings.index import VectorIndex
from reelcart.ranking import signals
from reelcart.ranking.assortment import Accept, Assortment
from reelcart.ranking.collaborative import CoEngagement
from reelcart.ranking.shopper import Shopper, decayed
from reelcart.ranking.shortlists import Shortlists

#: Accepted candidates re-scored with the dislike penalty.
RERANK = 32

#: A shopper's collaborative scores: (product ids ascending, raw scores, ids best first).
CollabScores = tuple[np.ndarray, np.ndarray, np.ndarray]


class HybridScore:
    """Scores candidates for a shopper: content, collaborative, and the penalties."""

    def __init__(
        self,
        index: VectorIndex,
        assortment: Assortment,
        collab: CoEngagement,
        shortlists: Shortlists,
    ) -> None:
        self.index = index
        self.assortment = assortment
        self.collab = collab
        self.shortlists = shortlists

    # -- penalties -----------------------------------------------------------------------

    def dislikes(self, shopper: Shopper) -> np.ndarray:
        """Vectors of the shopper's recent dislikes (cached until the next dislike)."""
        if shopper.dislike_matrix is None:
            shopper.dislike_matrix = self.index.vectors(list(shopper.recent_dislikes))[1]
        return shopper.dislike_matrix

    def dislike_penalty(self, shopper: Shopper, vectors: np.ndarray) -> np.ndarray:
        """How far each of these vectors is pushed down for being close to a dislike."""
        dislikes = self.dislikes(shopper)
        if len(dislikes) == 0 or len(vectors) == 0:
            return np.zeros(len(vectors))
        closest = (vectors @ dislikes.T).max(axis=1)
        floor = signals.DISLIKE_NEIGHBOUR_FLOOR
        share = np.clip((closest - floor) / (1.0 - floor), 0.0, None)
        return np.asarray(signals.DISLIKE_NEIGHBOUR_PENALTY * share, dtype=np.float64)

    def skip_penalty(self, shopper: Shopper, vectors: np.ndarray) -> np.ndarray:
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

    @staticmethod
    def want(shopper: Shopper) -> int:
        """How many nearest candidates a pick needs: without dislikes there is nothing to
        rerank, and the nearest eligible product wins."""
        return RERANK if shopper.recent_dislikes else 1

    def rerank(
        self, shopper: Shopper, candidates: list[tuple[int, float]]
    ) -> tuple[int, float] | None:
        """The best of ``candidates`` (best first, at most ``RERANK`` looked at) once
        dislike neighbours are pushed down; None if there are none."""
        if not candidates:
            return None
        candidates = candidates[:RERANK]
        if not shopper.recent_dislikes:
            return candidates[0]
        ids, vectors = self.index.vectors([pid for pid, _ in candidates])
        penalty = dict(zip(ids.tolist(), self.dislike_penalty(shopper, vectors), strict=True))
        scored = [(pid, score - float(penalty.get(pid, 0.0))) for pid, score in candidates]
        return max(scored, key=lambda item: item[1])

    # -- the collaborative side ----------------------------------------------------------

    def collab_scores(self, shopper: Shopper) -> CollabScores:
        """``(product ids ascending, raw scores, ids best first)`` from the collaborative
        model, positive scores only, cached until the shopper engages again or the model
        changes."""
        key = (shopper.reactions, self.collab.version)
        cached = shopper.collab_cache
        if cached is not None and cached[0] == key:
            return cached[1], cached[2], cached[3]
        _, rows, weights = self.collab_positives(shopper)
        empty = np.zeros(0, dtype=np.int64)
        if not len(rows):
            result: CollabScores = (empty, np.zeros(0), empty)
        else:
            score_rows, scores = self.collab.scores(rows, weights)
            ids = self.assortment.row_ids[score_rows]
            order = np.argsort(ids)
            ids, scores = ids[order], scores[order]
            keep = scores > 0
            ids, scores = ids[keep], scores[keep]
            result = (ids, scores, ids[np.argsort(-scores, kind="stable")])
        shopper.collab_cache = (key, *result)
        return result

    def collab_positives(self, shopper: Shopper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(product ids, rows, decayed weights)`` of the shopper's positives that have a
        row, cached until their next reaction."""
        cached = shopper.collab_positives
        if cached is not None and cached[0] == shopper.reactions:
            return cached[1], cached[2], cached[3]
        row = self.assortment.row
        positives = [(pid, entry) for pid, entry in shopper.positives.items() if pid in row]
        pids = np.array([pid for pid, _ in positives], dtype=np.int64)
        rows = np.array([row[pid] for pid, _ in positives], dtype=np.int64)
        weights = np.array([decayed(shopper, entry) for _, entry in positives])
        shopper.collab_positives = (shopper.reactions, pids, rows, weights)
        return pids, rows, weights

    def collab_norm(self, shopper: Shopper) -> float:
        """What a collaborative score is divided by: the score of a product every positive
        of the shopper points to with a typical strong weight. A product a single positive
        points to scores little; one that all of them agree on scores about 1."""
        total = float(self.collab_positives(shopper)[2].sum())
        return max(total, 1.0) * self.collab.model.scale * signals.COLLAB_AGREEMENT

    # -- scoring -------------------------------------------------------------------------

    def score(
        self,
        shopper: Shopper,
        candidates: Sequence[int],
        query: np.ndarray | None,
        collab: CollabScores,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The hybrid score of each candidate: ``(ids, total, content part, collaborative
        part)``, for those of ``candidates`` that have a vector."""
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
                signals.W_COLLAB * collab_scores[at[found]] / self.collab_norm(shopper)
            )
        total = content + collab_part
        if shopper.recent_dislikes and len(ids):
            total = total - self.dislike_penalty(shopper, vectors)
        if shopper.recent_skips and len(ids):
            total = total - self.skip_penalty(shopper, vectors)
        return ids, total, content, collab_part

    def candidates(
        self,
        shopper: Shopper,
        accept: Accept,
        avoid: set[str],
        query: np.ndarray | None,
        collab: CollabScores,
        want: int,
        *,
        most: int = 0,
    ) -> list[int]:
        """Up to ``want`` accepted products nearest the taste, and up to ``want`` with the
        highest collaborative scores: the best hybrid score is among them, since a product
        in neither has a lower content score than the first and a lower collaborative
        score than the second. With ``most``, the nearest are looked for among at most that
        many (see ``Shortlists.nearest``)."""
        found: dict[int, None] = {}
        if query is not None:
            nearest = self.shortlists.nearest(
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
