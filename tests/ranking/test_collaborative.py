"""The collaborative model on small logs with a known answer."""

from __future__ import annotations

import numpy as np

from reelcart.ranking.collaborative import CoEngagement, Snapshot, build


def _snapshot(pairs: list[tuple[int, int]], n_items: int) -> Snapshot:
    users = np.array([u for u, _ in pairs], dtype=np.int32)
    items = np.array([i for _, i in pairs], dtype=np.int32)
    return Snapshot(users, items, np.ones(len(pairs), dtype=np.float32), n_items, len(pairs))


def _neighbours(model_row: int, model) -> dict[int, float]:  # type: ignore[no-untyped-def]
    start, end = model.indptr[model_row], model.indptr[model_row + 1]
    return dict(
        zip(model.indices[start:end].tolist(), model.values[start:end].tolist(), strict=True)
    )


def test_ease_links_items_that_are_always_engaged_together() -> None:
    # Items 0 and 1 always together, 2 and 3 always together, 4 with anyone at random.
    rng = np.random.default_rng(0)
    pairs = []
    for user in range(60):
        group = (0, 1) if user % 2 else (2, 3)
        pairs += [(user, group[0]), (user, group[1])]
        if rng.random() < 0.5:
            pairs.append((user, 4))
    model = build(_snapshot(pairs, 5), l2=1.0)
    row0 = _neighbours(0, model)
    assert max(row0, key=lambda item: row0[item]) == 1
    assert row0.get(2, 0.0) <= 0.0 and row0.get(3, 0.0) <= 0.0
    row2 = _neighbours(2, model)
    assert max(row2, key=lambda item: row2[item]) == 3


def test_products_beyond_the_ease_head_get_knn_neighbours() -> None:
    pairs = [(u, 0) for u in range(30)] + [(u, 1) for u in range(30)]  # the head
    pairs += [(u, 5) for u in range(3)] + [(u, 6) for u in range(3)]  # a small tail pair
    model = build(_snapshot(pairs, 7), ease_items=2)
    row5 = _neighbours(5, model)
    assert max(row5, key=lambda item: row5[item]) == 6
    assert all(value > 0 for value in row5.values())


def test_scores_add_live_pairs_to_the_model() -> None:
    engagement = CoEngagement()
    for user in range(5):
        engagement.record(user, 0, 1.0)
        engagement.record(user, 1, 1.0)
    engagement.refresh()
    # After the refresh, new pairs (0, 2) arrive live.
    for user in range(5, 10):
        engagement.record(user, 0, 1.0)
        engagement.record(user, 2, 1.0)
    rows, scores = engagement.scores(np.array([0]), np.array([1.0]))
    found = dict(zip(rows.tolist(), scores.tolist(), strict=True))
    assert found.get(1, 0.0) > 0 and found.get(2, 0.0) > 0
    assert engagement.strength(0, 2) > 0
    # Once a refresh covers them, live pairs are folded into the model, not counted twice.
    engagement.refresh()
    again = dict(
        zip(*(a.tolist() for a in engagement.scores(np.array([0]), np.array([1.0]))), strict=True)
    )
    assert again[2] < found[2] * 1.5


def test_no_engagement_means_no_scores() -> None:
    engagement = CoEngagement()
    engagement.refresh()
    rows, scores = engagement.scores(np.array([3]), np.array([1.0]))
    assert len(rows) == len(scores) == 0
