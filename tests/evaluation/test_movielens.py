"""The MovieLens evaluation's code, on a tiny ratings file with a known structure.

The real data is not installed in the test environment (its licence forbids shipping it);
these files use RecBole's atomic format, as the wheel does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelcart.cli import main
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.evaluation import movielens
from reelcart.evaluation.metrics import evaluate, ndcg_at, precision_at

GENRES = ["Action", "Comedy", "Drama", "Horror"]


def _write_dataset(folder: Path, users: int = 60, per_genre: int = 15, seed: int = 0) -> Path:
    """Movies in four genres; each user loves one genre and rates most of it, plus a few
    random others: a structure any sensible recommender must find."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    movies: dict[str, list[int]] = {}
    for g, genre in enumerate(GENRES):
        for n in range(per_genre):
            movie = 1 + g * per_genre + n
            movies.setdefault(genre, []).append(movie)
            lines.append(f"{movie}\t{genre} Story {n}\t{1990 + n}\t{genre}")
    (folder / "ml-100k.item").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    everything = [m for ids in movies.values() for m in ids]
    for user in range(1, users + 1):
        loved = movies[GENRES[user % len(GENRES)]]
        chosen = set(rng.choice(loved, 12, replace=False).tolist())
        chosen |= set(rng.choice(everything, 2, replace=False).tolist())
        for t, movie in enumerate(sorted(chosen)):
            rows.append(f"{user}\t{movie}\t4\t{880000000 + 60 * t}")
    (folder / "ml-100k.inter").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_metrics_on_hand_made_lists() -> None:
    assert ndcg_at([1, 2, 3], {1}, 3) == pytest.approx(1.0)
    assert ndcg_at([2, 1, 3], {1}, 3) == pytest.approx(1 / np.log2(3))
    assert ndcg_at([4, 5, 6], {1}, 3) == 0.0
    assert precision_at([1, 2, 3, 4], {1, 3}, 4) == 0.5
    scores = evaluate(
        {1: [10, 11], 2: [10, 12]},
        {1: {10}, 2: {13}},
        k=2,
        catalog_size=4,
        popularity={10: 2, 11: 1, 12: 1},
        population=2,
    )
    assert scores.users == 2
    assert scores.ndcg == pytest.approx(0.5)
    assert scores.coverage == pytest.approx(3 / 4)
    # Self-information: item 10 is in every training history (0 bits), 11 and 12 in half (1).
    assert scores.novelty == pytest.approx((0 + 1 + 0 + 1) / 4)


def test_loading_and_splitting_are_deterministic(tmp_path: Path) -> None:
    ratings = movielens.load(_write_dataset(tmp_path / "ml"))
    assert len(ratings.texts) == 60
    assert ratings.texts[1] == "Action Story 0 (1990). Action"
    first = movielens.split_per_user(ratings, 0.25, 42)
    again = movielens.split_per_user(ratings, 0.25, 42)
    np.testing.assert_array_equal(first, again)
    for user in np.unique(ratings.users):
        mine = ratings.users == user
        assert first[mine].sum() == round(0.25 * mine.sum())
    cold = movielens.split_items(ratings, 0.2, 42)
    assert len(cold) == 12 and cold == movielens.split_items(ratings, 0.2, 42)


def test_the_run_puts_reelcart_beside_the_baselines(tmp_path: Path) -> None:
    ratings = movielens.load(_write_dataset(tmp_path / "ml", per_genre=40))
    rows = movielens.run(ratings, HashingEncoder(64))
    found = {(row.protocol, row.method): row.scores for row in rows}
    assert set(found) == {
        ("A", "Random"), ("A", "MostPop"), ("A", "ItemKNN"), ("A", "reelcart"),
        ("A", "reelcart + 10% discovery"), ("C", "Random"), ("C", "reelcart (text only)"),
    }  # fmt: skip
    # Tastes are one genre each: the real ranking must beat random and popularity by far,
    # and discovery must widen coverage.
    assert found[("A", "reelcart")].ndcg > 3 * found[("A", "Random")].ndcg
    assert found[("A", "reelcart")].ndcg > found[("A", "MostPop")].ndcg
    explore = found[("A", "reelcart + 10% discovery")]
    assert explore.coverage > found[("A", "reelcart")].coverage
    assert explore.novelty > found[("A", "reelcart")].novelty
    # Cold movies share their genre word with what each user rated: text alone finds them.
    assert found[("C", "reelcart (text only)")].ndcg > 2 * found[("C", "Random")].ndcg
    lines = movielens.table(rows)
    assert lines[0].split()[:3] == ["protocol", "method", "NDCG@10"]
    assert any("NDCG@10 >= 0.45" in line for line in lines)


def test_missing_data_explains_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(movielens.DataMissing):
        movielens.load(tmp_path)
    assert main(["eval", "movielens", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install --no-deps recbole==1.2.1" in err


def test_find_data_fails_clearly_without_recbole(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(movielens.DataMissing, match="recbole"):
        movielens.find_data()
