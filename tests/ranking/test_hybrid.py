"""The hybrid ranking: collaborative picks with their reason, live updates, lists, recency."""

from __future__ import annotations

import time

import numpy as np

from reelcart.domain import EventKind, Reaction, ReasonKind
from reelcart.ranking.collaborative import CoEngagement
from reelcart.ranking.hybrid import HybridRecommender

from .conftest import World, react, swipe

USER = 42


def _co_liked(rec: HybridRecommender, first: int, second: int, fans: range) -> None:
    """Shoppers in ``fans`` each like ``first`` and then ``second``."""
    for fan in fans:
        react(rec, fan, first, EventKind.LIKE)
        react(rec, fan, second, EventKind.LIKE)


def test_people_who_liked_what_you_liked_come_first_with_that_reason(world: World) -> None:
    # Content cannot explain the pair: a coffee and a garden product, cosine about 0.
    coffee, garden = world.by_category["coffee"][0], world.by_category["garden"][3]
    rec = world.recommender()
    _co_liked(rec, coffee, garden, range(100, 130))
    react(rec, USER, coffee, EventKind.LIKE)
    pick = rec.next_pick(USER)
    assert pick is not None
    assert pick.product_id == garden
    assert pick.reason is ReasonKind.OTHERS_LIKED
    assert pick.because_product_id == coffee


def test_collaborative_signal_counts_at_once_and_after_a_refresh(world: World) -> None:
    coffee, garden = world.by_category["coffee"][0], world.by_category["garden"][3]
    rec = world.recommender()
    assert rec.collab.model.n_items == 0  # no model built yet: live pairs only
    _co_liked(rec, coffee, garden, range(100, 110))
    react(rec, USER, coffee, EventKind.LIKE)
    live = rec.picks(USER, 1)
    rec.refresh_collaborative()
    assert rec.collab.model.n_items > 0
    refreshed = rec.picks(USER, 1)
    assert [p.product_id for p in live] == [p.product_id for p in refreshed] == [garden]


def test_an_unlike_takes_back_the_co_engagement(world: World) -> None:
    coffee, garden = world.by_category["coffee"][0], world.by_category["garden"][3]
    rec = world.recommender()
    _co_liked(rec, coffee, garden, range(100, 110))
    for fan in range(100, 110):
        rec.observe(Reaction(fan, garden, EventKind.UNLIKE))
    rec.refresh_collaborative()
    react(rec, USER, coffee, EventKind.LIKE)
    assert all(p.reason is not ReasonKind.OTHERS_LIKED for p in rec.picks(USER, 5))


def test_a_discovery_like_is_promoted_for_similar_shoppers(world: World) -> None:
    books = world.by_category["books"][:3]
    found = world.by_category["garden"][7]
    rec = world.recommender()
    # Ten shoppers share a taste for the same books.
    for fan in range(100, 110):
        for pid in books:
            react(rec, fan, pid, EventKind.LIKE)
    # One of them finds a garden product through a discovery card and likes it.
    rec.observe(Reaction(100, found, EventKind.IMPRESSION))
    rec.observe(Reaction(100, found, EventKind.LIKE, 3000))
    # A newcomer with the same taste in books gets it, because of the books.
    for pid in books:
        react(rec, USER, pid, EventKind.LIKE)
    top = rec.picks(USER, 3)
    assert found in [p.product_id for p in top]
    promoted = next(p for p in top if p.product_id == found)
    assert promoted.reason is ReasonKind.OTHERS_LIKED
    assert promoted.because_product_id in books


def test_latest_events_matter_more(world: World) -> None:
    rec = world.recommender()
    shoes, coffee = world.by_category["shoes"][:5], world.by_category["coffee"][:5]
    # The same ten likes in opposite orders.
    for user, order in ((1, shoes + coffee), (2, coffee + shoes)):
        for pid in order:
            react(rec, user, pid, EventKind.LIKE)
    first, second = rec.taste_of(1), rec.taste_of(2)
    assert first is not None and second is not None
    toward_coffee = world.centres["coffee"] - world.centres["shoes"]
    assert float(first @ toward_coffee) > 0 > float(second @ toward_coffee)


def test_a_changed_taste_is_followed(world: World) -> None:
    rec = world.recommender(discovery_rate=0.1, seed=6)
    for pid in world.by_category["shoes"][:8]:
        react(rec, USER, pid, EventKind.LIKE)
    # From now on the shopper passes on shoes and likes books when shown.
    categories = []
    for _ in range(30):
        pick = rec.next_pick(USER)
        assert pick is not None
        category = world.category(pick.product_id)
        categories.append(category)
        kind, dwell = (EventKind.LIKE, 3500) if category == "books" else (EventKind.SKIP, 400)
        rec.observe(Reaction(USER, pick.product_id, EventKind.IMPRESSION))
        rec.observe(Reaction(USER, pick.product_id, kind, dwell))
    # Within ten swipes the feed has found books; the next twenty are mostly books (the
    # catalog has twenty), and shoes are gone.
    assert categories[10:].count("books") >= 12
    assert categories[10:].count("shoes") == 0


def test_recommend_lists_exclude_seen_and_respect_among(world: World) -> None:
    rec = world.recommender()
    liked = world.by_category["games"][:4]
    for pid in liked:
        react(rec, USER, pid, EventKind.LIKE)
    top = rec.picks(USER, 10)
    ids = [p.product_id for p in top]
    assert len(ids) == len(set(ids)) == 10
    assert not set(ids) & set(liked)
    assert all(world.category(pid) == "games" for pid in ids)
    scores = [p.score for p in top]
    assert scores == sorted(scores, reverse=True)
    cold = set(world.by_category["games"][10:14]) | set(world.by_category["books"][:4])
    among = [p.product_id for p in rec.picks(USER, 6, among=cold)]
    assert set(among) <= cold
    assert [world.category(pid) for pid in among[:4]] == ["games"] * 4


def test_recommend_gives_discovery_its_share_of_the_list(world: World) -> None:
    rec = world.recommender(discovery_rate=0.2, seed=1)
    react(rec, USER, world.by_category["games"][0], EventKind.LIKE)
    top = rec.picks(USER, 10, discovery=True)
    assert len(top) == 10
    assert [p.reason for p in top[-2:]] == [ReasonKind.DISCOVERY] * 2
    assert all(p.reason is not ReasonKind.DISCOVERY for p in top[:8])
    assert len({p.product_id for p in top}) == 10


def test_a_cold_shopper_gets_a_popular_list(world: World) -> None:
    rec = world.recommender()
    star = world.by_category["books"][2]
    for fan in range(100, 105):
        react(rec, fan, star, EventKind.LIKE)
    top = rec.picks(USER, 3)
    assert top[0].product_id == star and top[0].reason is ReasonKind.POPULAR


def test_replay_builds_the_model_once_and_matches_live_observation(world: World) -> None:
    events: list[Reaction] = []
    rng = np.random.default_rng(3)
    ids = sorted(world.products)
    for fan in range(100, 140):
        for pid in rng.choice(ids, 6, replace=False).tolist():
            events.append(Reaction(fan, pid, EventKind.IMPRESSION))
            events.append(Reaction(fan, pid, EventKind.LIKE, 2000))
    live = world.recommender()
    for event in events:
        live.observe(event)
    live.refresh_collaborative()
    replayed = world.recommender()
    assert replayed.replay(events) == len(events)
    for user in (100, 120, 139):
        assert live.picks(user, 10) == replayed.picks(user, 10)


def test_the_model_is_rebuilt_in_the_background(world: World) -> None:
    collab = CoEngagement(refresh_every=20)
    rec = HybridRecommender(world.index, collaborative=collab, background_refresh=True)
    rec.load_products(world.products.values())
    coffee, garden = world.by_category["coffee"][0], world.by_category["garden"][3]
    _co_liked(rec, coffee, garden, range(100, 115))
    assert collab.needs_refresh()
    rec.next_pick(USER)  # starts the build on the refresh thread; this pick does not wait
    deadline = time.monotonic() + 30
    while collab.model.n_items == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
        rec.next_pick(USER + 1)  # installs the model once it is ready
    rec.close()
    assert collab.model.n_items > 0
    assert not collab.needs_refresh()


def test_merchant_runs_are_broken_like_category_runs() -> None:
    world = World(seed=3).fill(20)
    # Merchant 1 sells shoes and coffee; everything else comes from merchant 2.
    from dataclasses import replace

    for pid, product in list(world.products.items()):
        merchant = 1 if world.category(pid) in {"shoes", "coffee"} else 2
        world.products[pid] = replace(product, merchant_id=merchant)
    rec = world.recommender()
    for pid in world.by_category["shoes"][:3] + world.by_category["coffee"][:3]:
        react(rec, USER, pid, EventKind.LIKE)
    merchants = [world.products[swipe(rec, USER).product_id].merchant_id for _ in range(24)]
    longest = run = 0
    for i, merchant in enumerate(merchants):
        run = run + 1 if i and merchants[i - 1] == merchant else 1
        longest = max(longest, run)
    assert longest <= 3
    assert merchants.count(1) >= 16


def test_runs_are_broken_with_the_merchants_products_have_now() -> None:
    world = World(seed=3).fill(20)
    rec = world.recommender()
    for pid in world.by_category["shoes"][:3] + world.by_category["coffee"][:3]:
        react(rec, USER, pid, EventKind.LIKE)
    # One merchant sells everything: its runs cannot be broken yet.
    for _ in range(6):
        swipe(rec, USER)
    # Then the products outside shoes and coffee move to a second merchant.
    from dataclasses import replace

    for pid, product in list(world.products.items()):
        if world.category(pid) not in {"shoes", "coffee"}:
            world.products[pid] = replace(product, merchant_id=2)
            rec.update_product(world.products[pid])
    picks = [swipe(rec, USER) for _ in range(24)]
    merchants = [world.products[pick.product_id].merchant_id for pick in picks]
    longest = run = 0
    for i, merchant in enumerate(merchants):
        run = run + 1 if i and merchants[i - 1] == merchant else 1
        longest = max(longest, run)
    assert longest <= 3
    # ... by the second merchant's products nearest the taste, not by the chart.
    assert {pick.reason for pick in picks} == {ReasonKind.SIMILAR_TO_LIKED}
