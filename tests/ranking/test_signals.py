"""The signal weights: their order is the contract, the numbers are tuning."""

from __future__ import annotations

import pytest

from reelcart.domain import EventKind
from reelcart.ranking import signals
from reelcart.ranking.signals import signal_weight


def test_every_event_kind_has_a_weight() -> None:
    assert set(signals.WEIGHTS) == set(EventKind)


def test_positive_signals_are_ordered_by_commitment() -> None:
    buy, like, share, click = (
        signal_weight(kind, 1000) for kind in
        (EventKind.BUY, EventKind.LIKE, EventKind.SHARE, EventKind.SHOP_CLICK)
    )  # fmt: skip
    assert buy > like > share > click > 0


def test_long_dwell_is_mildly_positive_relative_to_the_clip() -> None:
    assert signal_weight(EventKind.SKIP, 3000) == pytest.approx(signals.LONG_DWELL_BONUS)
    assert 0 < signals.LONG_DWELL_BONUS < signal_weight(EventKind.SHOP_CLICK, 0)
    # The same 5 s is a full watch of a 4 s clip but not of a 20 s one.
    assert signal_weight(EventKind.SKIP, 5000, clip_seconds=4) > 0
    assert signal_weight(EventKind.SKIP, 5000, clip_seconds=20) == 0
    # A glance is a glance, however long the clip.
    assert signal_weight(EventKind.SKIP, 1000, clip_seconds=60) < 0
    assert signal_weight(EventKind.SKIP, 3000, clip_seconds=60) == 0
    assert signal_weight(EventKind.LIKE, 4000) == pytest.approx(1.0 + signals.LONG_DWELL_BONUS)


def test_a_quick_skip_is_weak_evidence_not_a_dislike() -> None:
    quick = signal_weight(EventKind.SKIP, 300)
    assert quick < 0
    assert abs(quick) < 0.25 * abs(signal_weight(EventKind.DISLIKE, 300))
    assert signal_weight(EventKind.SKIP, None) == quick
    assert signal_weight(EventKind.SKIP, 1500) == 0  # an ordinary watch, then next


def test_dislike_is_strongly_negative_even_after_a_long_watch() -> None:
    assert signal_weight(EventKind.DISLIKE, 10_000) == -1.0
    assert signal_weight(EventKind.UNLIKE) == -signal_weight(EventKind.LIKE)


def test_impressions_are_neutral() -> None:
    assert signal_weight(EventKind.IMPRESSION, 60_000) == 0


def test_decay_halves_after_the_half_life() -> None:
    halved = signals.TASTE_DECAY**signals.TASTE_HALF_LIFE_EVENTS
    assert halved == pytest.approx(0.5)


def test_popularity_is_shrunk_toward_zero() -> None:
    assert signals.popularity(0.0, 0) == 0
    assert signals.popularity(1.0, 1) < signals.popularity(10.0, 20)
