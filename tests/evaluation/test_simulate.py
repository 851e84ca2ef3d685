"""The shopper simulation: the real ranking learns hidden tastes; the references are right."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from reelcart.evaluation import simulate

SMALL = simulate.Config(shoppers=40, swipes=40, categories=12, per_category=30, seed=7)


def test_the_feed_learns_hidden_tastes_far_above_random() -> None:
    result = simulate.simulate(SMALL)
    ours = result.rate(result.reelcart, 21, 40)
    rnd = result.rate(result.random, 21, 40)
    orc = result.rate(result.oracle, 21, 40)
    # The references mean what they say: random near the base rate, oracle near the
    # favourite like probability.
    base = SMALL.favourites / SMALL.categories
    expected_random = base * SMALL.like_favourite + (1 - base) * SMALL.like_other
    assert abs(rnd - expected_random) < 0.05
    assert abs(orc - SMALL.like_favourite) < 0.05
    assert ours > 2 * rnd
    assert ours > 0.6 * orc
    # It learns: later swipes beat the first ones.
    assert ours > result.rate(result.reelcart, 1, 10)
    assert simulate.table(result)[0].split()[0] == "swipes"
    assert len(simulate.verdict(result)) == 2
    assert len(simulate.verdict(replace(result, config=replace(SMALL, change_at=20)))) == 3


def test_a_change_of_taste_is_followed() -> None:
    result = simulate.simulate(replace(SMALL, change_at=20))
    before = result.rate(result.reelcart, 11, 20)
    right_after = result.rate(result.reelcart, 21, 25)
    later = result.rate(result.reelcart, 31, 40)
    assert right_after < before  # the old taste no longer pays
    assert later > 2 * right_after  # and the feed finds the new one
    assert later > 2 * result.rate(result.random, 31, 40)


def test_shoppers_change_to_new_favourites_only() -> None:
    rng = np.random.default_rng(0)
    shoppers = simulate.make_shoppers(SMALL, rng)
    for shopper in shoppers:
        old = set(shopper.favourites)
        simulate.change_taste(shopper, SMALL, rng)
        assert not old & shopper.favourites
        assert shopper.hated not in shopper.favourites
        assert len(shopper.favourites) == SMALL.favourites
