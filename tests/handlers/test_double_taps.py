"""A button tapped twice does what one tap does, quietly: no error reaches the error handler
and no callback query is answered twice (Telegram refuses a second answer)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from reelcart.domain import Language
from reelcart.storage.users import get_user
from tests.handlers.conftest import fence, on_screen
from tests.handlers.faulty_network import FaultyHarness, faulty_harness


@pytest_asyncio.fixture
async def harness(tmp_path: Path) -> AsyncIterator[FaultyHarness]:
    async with faulty_harness(tmp_path) as harness:
        yield harness


def assert_quiet(harness: FaultyHarness, caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    refused = [e for e in harness.network.refused() if e.method == "answerCallbackQuery"]
    assert refused == []


async def test_start_swiping_tapped_twice_starts_one_feed(
    harness: FaultyHarness, caplog: pytest.LogCaptureFixture
) -> None:
    shopper = harness.user()
    await shopper.send_command("/start")
    hello = await shopper.wait_for()
    first = await shopper.press(hello, "i:!done")
    assert not first.show_alert
    await shopper.wait_for(lambda m: m.media_kind is not None)
    second = await shopper.press_data(hello, "i:!done")
    assert not second.show_alert
    await fence(shopper)
    assert len([m for m in shopper.messages if m.media_kind]) == 1  # one card, not two
    assert on_screen(shopper, hello).buttons == []
    assert_quiet(harness, caplog)


async def test_a_language_chosen_twice_is_set_once(
    harness: FaultyHarness, caplog: pytest.LogCaptureFixture
) -> None:
    shopper = harness.user()
    await shopper.send_command("/lang")
    prompt = await shopper.wait_for()
    await shopper.press(prompt, "l:fr")
    await shopper.wait_for(lambda m: m.message_id == prompt.message_id and m.edited)
    again = await shopper.press_data(prompt, "l:fr")
    assert not again.show_alert
    await fence(shopper)
    assert on_screen(shopper, prompt).text == "Langue choisie : français 🇫🇷"
    assert_quiet(harness, caplog)


async def test_a_language_button_on_a_message_without_text_confirms_in_a_new_one(
    harness: FaultyHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # A language button from an older message (or another client) tapped on a card: the
    # card has a caption, not a text, so the confirmation cannot replace it.
    shopper = harness.user()
    await shopper.send_command("/feed")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    answer = await shopper.press_data(card, "l:fr")
    assert not answer.show_alert
    confirmed = await shopper.wait_for(lambda m: not m.edited and m.media_kind is None)
    assert confirmed.text == "Langue choisie : français 🇫🇷"
    assert on_screen(shopper, card).text == card.text
    assert_quiet(harness, caplog)


async def test_switch_language_tapped_twice_switches_once(
    harness: FaultyHarness, caplog: pytest.LogCaptureFixture
) -> None:
    shopper = harness.user()
    await shopper.send_command("/start")
    hello = await shopper.wait_for()
    switch = next(b for b in hello.buttons if "Français" in str(b["text"]))
    await shopper.press(hello, str(switch["callback_data"]))
    french = await shopper.wait_for(lambda m: m.message_id == hello.message_id and m.edited)
    assert french.text.startswith("Salut Ana")
    # The second tap of a double tap carries the button as it was when tapped.
    again = await shopper.press_data(hello, str(switch["callback_data"]))
    assert not again.show_alert
    await fence(shopper)
    assert on_screen(shopper, hello).text.startswith("Salut Ana")
    user = harness.shop.db.call(get_user, shopper.id)
    assert user is not None and user.language is Language.FR
    assert_quiet(harness, caplog)
