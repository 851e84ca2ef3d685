"""The collaborative model on small logs with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from reelcart.ranking import collaborative
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


def _busy_log(seed: int) -> CoEngagement:
    """A model, and live pairs on top of it: some recorded while a refresh was being built,
    some moved aside by a refresh still under way."""
    rng = np.random.default_rng(seed)
    engagement = CoEngagement(ease_items=10)

    def swipe(users: range) -> None:
        for user in users:
            for item in rng.choice(30, size=6, replace=False).tolist():
                engagement.record(user, item, 1.0)

    swipe(range(30))
    engagement.refresh()
    swipe(range(30, 40))
    snapshot = engagement.snapshot()
    swipe(range(40, 50))
    engagement.install(engagement.build(snapshot))
    swipe(range(50, 55))
    engagement.snapshot()
    swipe(range(55, 60))
    return engagement


def test_scores_are_the_weighted_sum_of_strengths() -> None:
    # The one-pass scoring agrees with the definition: sum over positives j of
    # w_j * strength(j, item), model and live pairs alike; so does strengths().
    engagement = _busy_log(1)
    items = np.array([0, 3, 7, 12, 29])
    weights = np.array([1.0, 0.5, 2.0, 0.25, 1.0])
    rows, scores = engagement.scores(items, weights)
    expected = {
        target: sum(w * engagement.strength(i, target) for i, w in zip(items, weights, strict=True))
        for target in range(30)
    }
    assert set(rows.tolist()) == {t for t, value in expected.items() if value > 0}
    for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
        assert score == pytest.approx(expected[row], rel=1e-5)
    for target in (1, 12, 25):
        assert engagement.strengths(items, target) == pytest.approx(
            [engagement.strength(int(i), target) for i in items], rel=1e-5
        )


def test_sparse_and_dense_scoring_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small catalogs score through dense arrays, large ones through the sparse pairs.
    items, weights = np.array([2, 5, 11]), np.array([1.0, 0.8, 0.3])
    dense_rows, dense = _busy_log(2).scores(items, weights)
    monkeypatch.setattr(collaborative, "DENSE_SCORES", 0)
    monkeypatch.setattr(collaborative, "DENSE_PAIRS", 0)
    sparse_rows, sparse = _busy_log(2).scores(items, weights)
    assert len(dense_rows) > 10
    assert dense_rows.tolist() == sorted(sparse_rows.tolist())
    assert dense == pytest.approx(sparse[np.argsort(sparse_rows)], rel=1e-5)
