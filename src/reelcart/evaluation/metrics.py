"""Top-k metrics for implicit feedback: NDCG, precision, catalog coverage, novelty."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """Mean metrics of one method over the evaluated users."""

    ndcg: float
    precision: float
    coverage: float
    novelty: float
    users: int


def ndcg_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    """Binary-relevance NDCG@k: hits discounted by log2(position + 1), over the ideal."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


def precision_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    """Share of the first k places that hold a relevant item (k in the denominator)."""
    return sum(item in relevant for item in ranked[:k]) / k


def evaluate(
    lists: Mapping[int, Sequence[int]],
    truth: Mapping[int, set[int]],
    *,
    k: int,
    catalog_size: int,
    popularity: Mapping[int, int],
    population: int,
) -> Scores:
    """Mean NDCG@k and P@k over the users in ``truth``; coverage@k is the share of the
    catalog that appears in at least one top-k list; novelty the mean self-information
    ``-log2(p)`` of recommended items, ``p`` being the share of users who interacted with
    the item in training (at least one, so never-seen items stay finite)."""
    users = [user for user in truth if truth[user]]
    if not users:
        return Scores(0.0, 0.0, 0.0, 0.0, 0)
    ndcg = precision = novelty = 0.0
    shown: set[int] = set()
    recommended = 0
    for user in users:
        ranked = list(lists.get(user, ()))[:k]
        ndcg += ndcg_at(ranked, truth[user], k)
        precision += precision_at(ranked, truth[user], k)
        shown.update(ranked)
        for item in ranked:
            novelty += -math.log2(max(popularity.get(item, 0), 1) / population)
            recommended += 1
    return Scores(
        ndcg=ndcg / len(users),
        precision=precision / len(users),
        coverage=len(shown) / catalog_size,
        novelty=novelty / max(recommended, 1),
        users=len(users),
    )
