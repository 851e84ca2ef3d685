"""The ``Recommender`` contract, held by every recommender on synthetic data with a known
right answer (after implicit's ``tests/recommender_base_test.py``).

The shop is implicit's checker board: shopper ``u`` engaged with every product of ``u``'s
parity except product ``u`` itself, so the withheld product is the one that every shopper
like them engaged with, and the right first recommendation for ``u`` is ``u``. Products of
one parity are also near each other in embedding space (cosine about 0.6, about 0 across),
as one category's products are for the real model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from reelcart.domain import EventKind, Reaction
from reelcart.embeddings.index import VectorIndex
from reelcart.evaluation.catalog import stand_in
from reelcart.ranking import HybridRecommender, Recommender
from reelcart.ranking.baselines import ItemKNN, MostPopular, RandomRecommender

N = 20
DIM = 16
PRODUCTS = list(range(1, N + 1))
SHOPPERS = list(range(1, N + 1))
NEWCOMER = 999


@dataclass(frozen=True)
class Shop:
    """The products' ids and, for the recommenders that embed, their vectors."""

    product_ids: list[int]
    vectors: np.ndarray


def _shop(seed: int = 0) -> Shop:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.normal(scale=0.8 / np.sqrt(DIM), size=(N, DIM))
    vectors = centres[np.array(PRODUCTS) % 2] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Shop(PRODUCTS, vectors.astype(np.float32))


def _hybrid(discovery_rate: float) -> Callable[[Shop, int], Recommender]:
    def build(shop: Shop, seed: int) -> Recommender:
        index = VectorIndex(DIM)
        index.upsert(shop.product_ids, shop.vectors)
        rec = HybridRecommender(
            index, discovery_rate=discovery_rate, seed=seed, background_refresh=False
        )
        rec.load_products(
            stand_in(pid, f"parity {pid % 2}", merchant_id=1 + pid % 3) for pid in shop.product_ids
        )
        return rec

    return build


Factory = Callable[[Shop, int], Recommender]

#: Every recommender of ``reelcart eval movielens``.
EVERY: dict[str, Factory] = {
    "random": lambda shop, seed: RandomRecommender(shop.product_ids, seed=seed),
    "most-popular": lambda shop, seed: MostPopular(shop.product_ids),
    "item-knn": lambda shop, seed: ItemKNN(shop.product_ids),
    "hybrid": _hybrid(0.0),
    "hybrid+discovery": _hybrid(0.1),
}
#: Those that learn each shopper's taste.
PERSONAL = ("item-knn", "hybrid", "hybrid+discovery")
#: Those that offer a newcomer what most shoppers engaged with.
POPULAR_FOR_NEWCOMERS = ("most-popular", "hybrid", "hybrid+discovery")

every = pytest.mark.parametrize("name", list(EVERY))


def checker_board() -> list[Reaction]:
    """Shopper ``u`` was shown, and liked, every product of ``u``'s parity but ``u``."""
    events: list[Reaction] = []
    for user in SHOPPERS:
        for pid in PRODUCTS:
            if pid % 2 == user % 2 and pid != user:
                events.append(Reaction(user, pid, EventKind.IMPRESSION, 2000))
                events.append(Reaction(user, pid, EventKind.LIKE, 2000))
    return events


def seen_by(user: int) -> set[int]:
    return {pid for pid in PRODUCTS if pid % 2 == user % 2 and pid != user}


def fitted(name: str, seed: int = 1, events: list[Reaction] | None = None) -> Recommender:
    rec = EVERY[name](_shop(), seed)
    rec.replay(checker_board() if events is None else events)
    return rec


@every
def test_every_recommender_implements_the_interface(name: str) -> None:
    rec = EVERY[name](_shop(), 1)
    assert isinstance(rec, Recommender)
    rec.close()


@every
def test_replay_learns_the_whole_log_and_counts_it(name: str) -> None:
    rec = EVERY[name](_shop(), 1)
    assert rec.replay(checker_board()) == len(checker_board())
    assert rec.replay([]) == 0
    rec.close()


@pytest.mark.parametrize("name", PERSONAL)
def test_the_withheld_product_comes_first(name: str) -> None:
    rec = fitted(name)
    for user in SHOPPERS:
        # The one product of their parity they have not seen, which all like them liked.
        assert rec.recommend(user, 1) == [user]
        assert rec.recommend(user, 3, among={user, user % N + 1, (user + 2) % N + 1})[0] == user
    rec.close()


@every
def test_seen_products_are_never_recommended(name: str) -> None:
    rec = fitted(name)
    for user in SHOPPERS:
        ids = rec.recommend(user, 5)
        assert not set(ids) & seen_by(user)
        # More than remains: exactly what remains, each once.
        everything = rec.recommend(user, 10 * N)
        assert len(everything) == len(set(everything))
        assert set(everything) == set(PRODUCTS) - seen_by(user)
    rec.close()


@every
def test_k_is_respected(name: str) -> None:
    rec = fitted(name)
    for user in SHOPPERS[:4]:
        for k in (1, 3, 7):
            ids = rec.recommend(user, k)
            assert len(ids) == len(set(ids)) == k
            assert set(ids) <= set(PRODUCTS)
        assert rec.recommend(user, 0) == []
    rec.close()


@every
def test_an_unknown_shopper_gets_a_list_of_the_catalog(name: str) -> None:
    rec = fitted(name)
    ids = rec.recommend(NEWCOMER, 5)
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) <= set(PRODUCTS)
    rec.close()


@every
def test_among_restricts_the_ranking(name: str) -> None:
    rec = fitted(name)
    for user in SHOPPERS:
        among = {1, 2, 3, 4, user}
        ids = rec.recommend(user, 10, among=among)
        assert set(ids) == among - seen_by(user)
        assert rec.recommend(user, 10, among=set()) == []
    rec.close()


@every
def test_what_is_observed_is_left_out_at_once(name: str) -> None:
    rec = fitted(name)
    user = 3
    shown = rec.recommend(user, 1)[0]
    rec.observe(Reaction(user, shown, EventKind.IMPRESSION))
    after = rec.recommend(user, N)
    assert shown not in after
    liked = after[-1]
    rec.observe(Reaction(user, liked, EventKind.LIKE, 2000))
    disliked = after[0]
    rec.observe(Reaction(user, disliked, EventKind.DISLIKE, 800))
    last = rec.recommend(user, N)
    assert not {shown, liked, disliked} & set(last)
    assert set(last) == set(PRODUCTS) - seen_by(user) - {shown, liked, disliked}
    # What another shopper was shown is still there for this one.
    rec.observe(Reaction(user + 1, last[0], EventKind.IMPRESSION))
    assert last[0] in rec.recommend(user, N)
    rec.close()


@every
def test_the_same_seed_gives_the_same_lists(name: str) -> None:
    first, second = fitted(name, seed=7), fitted(name, seed=7)
    for user in [*SHOPPERS, NEWCOMER]:
        assert first.recommend(user, 6) == second.recommend(user, 6)
    first.close()
    second.close()


@pytest.mark.parametrize("name", POPULAR_FOR_NEWCOMERS)
def test_a_newcomer_is_offered_what_most_shoppers_engaged_with(name: str) -> None:
    star = 7
    others = [pid for pid in PRODUCTS if pid != star]
    events: list[Reaction] = []
    for fan, other in zip(range(100, 110), others, strict=False):
        # Every fan liked the star and one product of their own.
        for pid in (star, other):
            events.append(Reaction(fan, pid, EventKind.IMPRESSION, 2000))
            events.append(Reaction(fan, pid, EventKind.LIKE, 2000))
    rec = fitted(name, events=events)
    assert rec.recommend(NEWCOMER, 1) == [star]
    # Someone who has seen the star is offered the rest.
    assert star not in rec.recommend(100, 3)
    rec.close()


def test_random_lists_differ_between_shoppers_and_cover_the_catalog() -> None:
    rec = fitted("random")
    lists = [tuple(rec.recommend(NEWCOMER, 5)) for _ in range(40)]
    assert len(set(lists)) > 30
    assert {pid for ids in lists for pid in ids} == set(PRODUCTS)
    other = fitted("random", seed=2)
    assert [tuple(other.recommend(NEWCOMER, 5)) for _ in range(40)] != lists
