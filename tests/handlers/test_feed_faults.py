"""Swipes under Bot API faults: a 502, a lost reply or a flood wait never leaves a dead card.

Every test runs the real Application against the sandbox through ``FaultyNetwork``, which
breaks chosen calls the way the network does. Updates are handled one at a time, so a
reply to a later message (``fence``) means every tap before it has been handled in full.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest_asyncio

from reelcart.sandbox import SimulatedUser
from reelcart.sandbox.views import BotMessage
from tests.handlers.conftest import fence, on_screen
from tests.handlers.faulty_network import FaultyHarness, faulty_harness

LIKED = "❤️ Saved to your likes"


@pytest_asyncio.fixture
async def harness(tmp_path: Path) -> AsyncIterator[FaultyHarness]:
    async with faulty_harness(tmp_path) as harness:
        yield harness


def events(harness: FaultyHarness, user_id: int, kind: str) -> list[tuple]:
    return harness.shop.db.call(
        lambda store: store.db.execute(
            "SELECT product_id, card_id FROM events WHERE user_id = ? AND kind = ?",
            [user_id, kind],
        ).fetchall()
    )


async def first_card(harness: FaultyHarness) -> tuple[SimulatedUser, BotMessage]:
    shopper = harness.user()
    await shopper.send_command("/feed")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    return shopper, card


def swapped_into(card: BotMessage) -> Callable[[BotMessage], bool]:
    return lambda m: m.message_id == card.message_id and m.edited and m.text != card.text


async def test_a_card_edit_that_meets_bad_gateways_is_retried(harness: FaultyHarness) -> None:
    shopper, card = await first_card(harness)
    harness.network.break_next("editMessageMedia", "bad_gateway", "bad_gateway")
    answer = await shopper.press(card, "❤️")
    assert answer.text == LIKED and not answer.show_alert
    await shopper.wait_for(swapped_into(card))
    await fence(shopper)
    assert len(events(harness, shopper.id, "like")) == 1
    assert len(harness.network.calls("editMessageMedia")) == 3  # two 502s, then the card


async def test_a_flood_wait_past_the_rate_limiter_is_waited_out(harness: FaultyHarness) -> None:
    # The rate limiter retries a 429 three times itself; the fourth reaches the handler.
    shopper, card = await first_card(harness)
    harness.network.break_next("editMessageMedia", "flood", "flood", "flood", "flood")
    answer = await shopper.press(card, "❤️")
    assert answer.text == LIKED
    await shopper.wait_for(swapped_into(card), timeout=20)
    assert len(events(harness, shopper.id, "like")) == 1


async def test_an_edit_whose_reply_was_lost_is_neither_reported_nor_answered_twice(
    harness: FaultyHarness,
) -> None:
    shopper, card = await first_card(harness)
    harness.network.break_next("editMessageMedia", "lost_reply")
    mark = len(harness.network.exchanges)
    answer = await shopper.press(card, "❤️")
    assert answer.text == LIKED and not answer.show_alert
    swapped = await shopper.wait_for(swapped_into(card))
    await fence(shopper)
    answers = [e for e in harness.network.exchanges[mark:] if e.method == "answerCallbackQuery"]
    assert len(answers) == 1  # the error handler did not answer the tap a second time
    assert not [e for e in harness.network.refused() if e.method == "answerCallbackQuery"]
    # The card that came through is live: a tap on it counts.
    again = await shopper.press(swapped, "❤️")
    assert again.text == LIKED
    await fence(shopper)
    assert len(events(harness, shopper.id, "like")) == 2


async def test_a_tap_on_a_card_whose_successor_never_arrived_brings_it(
    harness: FaultyHarness,
) -> None:
    shopper, card = await first_card(harness)
    harness.network.break_every("editMessageMedia", "bad_gateway")
    answer = await shopper.press(card, "❤️")
    assert answer.text == LIKED and not answer.show_alert
    await fence(shopper)  # the bot has given up on showing the next card
    harness.network.heal()
    assert on_screen(shopper, card).text == card.text  # the next card never got through
    [(_liked, liked_card)] = events(harness, shopper.id, "like")

    answer = await shopper.press(card, "⏭")
    assert answer.text != "Already noted 👍" and not answer.show_alert
    successor = await shopper.wait_for(swapped_into(card))
    # The like was recorded once, and the ⏭ on the answered card recorded nothing.
    assert len(events(harness, shopper.id, "like")) == 1
    assert events(harness, shopper.id, "skip") == []
    # The card brought in is the one picked after the like, and it is live.
    answer = await shopper.press(successor, "❤️")
    assert answer.text == LIKED
    await fence(shopper)
    likes = events(harness, shopper.id, "like")
    assert len(likes) == 2 and likes[1][1] > liked_card


async def test_a_swipe_whose_toast_failed_gets_no_error_alert(harness: FaultyHarness) -> None:
    shopper, card = await first_card(harness)
    harness.network.break_next("answerCallbackQuery", "bad_gateway")
    mark = len(harness.network.exchanges)
    tap = asyncio.create_task(shopper.press(card, "❤️"))
    try:
        await shopper.wait_for(swapped_into(card))  # the swipe worked
        await fence(shopper)
        answers = [e for e in harness.network.exchanges[mark:] if e.method == "answerCallbackQuery"]
        assert [e.status for e in answers] == [502]  # no "Something went wrong" after it
        assert not tap.done()
    finally:
        tap.cancel()
    assert len(events(harness, shopper.id, "like")) == 1


async def test_a_tap_any_handler_answered_is_never_answered_again(
    harness: FaultyHarness,
) -> None:
    # 🛒 answers its tap itself, after sending the invoice; that answer meets a 502, and the
    # error the handler then raises must not make the error handler answer a second time.
    shopper = harness.user()
    book = harness.shop.db.call(
        lambda store: store.db.execute("SELECT id FROM products WHERE sku = 'B1'").fetchone()[0]
    )
    await shopper.send_command("/start", f"p_{book}")  # an e-book: an invoice in Stars
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    harness.network.break_next("answerCallbackQuery", "bad_gateway")
    mark = len(harness.network.exchanges)
    tap = asyncio.create_task(shopper.press(card, "🛒"))
    try:
        await shopper.wait_for(lambda m: m.invoice is not None)
        await fence(shopper)
        answers = [e for e in harness.network.exchanges[mark:] if e.method == "answerCallbackQuery"]
        assert [e.status for e in answers] == [502]
    finally:
        tap.cancel()
