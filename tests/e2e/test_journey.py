"""A shopper's whole first visit, against the real bot process, in both update modes."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from reelcart.sandbox import SimulatedUser
from reelcart.sandbox.views import BotMessage
from tests.e2e.conftest import Running

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

_ids = itertools.count(5000)


def shopper(running: Running, language: str = "en") -> SimulatedUser:
    return SimulatedUser(running.server, next(_ids), "Léa", language_code=language)


def category(running: Running, card: BotMessage) -> str:
    return running.catalog.categories[card.text.split("\n", 1)[0]]


def count_events(running: Running, user_id: int, kind: str) -> int:
    with sqlite3.connect(running.db_path) as db:
        return int(
            db.execute(
                "SELECT count(*) FROM events WHERE user_id = ? AND kind = ?", [user_id, kind]
            ).fetchone()[0]
        )


async def swipe(user: SimulatedUser, card: BotMessage, button: str) -> BotMessage:
    await user.press(card, button)
    return await user.wait_for(lambda m: m.message_id == card.message_id and m.edited)


DISCOVERY = "💡 A discovery pick: something new, to keep your feed fresh."


async def why(user: SimulatedUser, card: BotMessage) -> str:
    return str((await user.press(card, "💡")).text)


async def test_onboarding_then_the_feed_follows_the_chosen_interest(running: Running) -> None:
    user = shopper(running)
    await user.send_command("/start")
    hello = await user.wait_for(lambda m: bool(m.buttons))
    assert hello.text.startswith("Hi Léa")
    assert (await user.press(hello, "i:coffee")).text == "Added: coffee"
    updated = await user.wait_for(lambda m: m.message_id == hello.message_id)
    await user.press(updated, "i:!done")
    card = await user.wait_for(lambda m: m.media_kind == "video")
    # The bot keeps 10% discovery picks; the first card that is not one follows the interest.
    reason = await why(user, card)
    while reason == DISCOVERY:
        card = await swipe(user, card, "⏭")
        reason = await why(user, card)
    assert category(running, card) == "coffee"
    assert reason == "💡 Because you're into coffee."


async def test_likes_dislikes_and_skips_teach_the_feed(running: Running) -> None:
    user = shopper(running)
    await user.send_command("/feed")
    card = await user.wait_for(lambda m: m.media_kind == "video")
    message_id = card.message_id
    shown = 1
    liked = 0
    # (category, was it a discovery pick) for every card after the first like
    after_like: list[tuple[str, bool]] = []
    # Swipe until the first headphone comes up (the cold feed spreads over the eight
    # categories, so it does within a few dozen cards), then twelve cards more.
    while len(after_like) < 12:
        assert shown <= 40, "no headphone in the first 40 cards of a cold feed"
        current = category(running, card)
        if liked:
            after_like.append((current, await why(user, card) == DISCOVERY))
        if current == "headphones":
            card = await swipe(user, card, "❤️")
            liked += 1
        elif current == "skincare":
            card = await swipe(user, card, "👎")
        else:
            card = await swipe(user, card, "⏭")
        shown += 1
        assert card.message_id == message_id  # one message, swapped in place
    assert count_events(running, user.id, "like") == liked
    assert count_events(running, user.id, "impression") == shown
    # Once a headphone was liked, the picks that are not discovery are mostly headphones
    # (the feed lets at most three of a category in a row, then shows something else).
    chosen = [c for c, discovery in after_like if not discovery][:6]
    assert len(chosen) >= 6, after_like
    assert sum(c == "headphones" for c in chosen) >= 4, after_like


async def test_search_likes_and_language(running: Running) -> None:
    user = shopper(running)
    await user.send_command("/search", "wireless headphones with noise cancelling")
    results = await user.wait_for(lambda m: bool(m.buttons))
    top = str(results.buttons[0]["text"]).split(" · ")[0]
    assert running.catalog.categories[top] == "headphones"
    await user.press(results, str(results.buttons[0]["callback_data"]))
    card = await user.wait_for(lambda m: m.media_kind == "video")
    await swipe(user, card, "❤️")
    await user.send_command("/likes")
    likes = await user.wait_for(lambda m: "likes" in m.text)
    assert likes.text.startswith("❤️ Your likes (1)")
    assert str(likes.buttons[0]["text"]).startswith(top)
    await user.send_command("/lang")
    prompt = await user.wait_for(lambda m: bool(m.buttons))
    await user.press(prompt, "l:fr")
    await user.wait_for(lambda m: m.message_id == prompt.message_id)
    await user.send_command("/likes")
    french = await user.wait_for(lambda m: "favoris" in m.text)
    assert french.text.startswith("❤️ Tes favoris (1)")


async def test_a_french_telegram_user_is_answered_in_french(running: Running) -> None:
    user = shopper(running, "fr")
    await user.send_command("/help")
    assert "un fil de courtes vidéos" in (await user.wait_for()).text
    assert {c["command"] for c in user.visible_commands()} >= {"feed", "search", "likes"}


async def test_stale_and_forged_buttons_are_answered_politely(running: Running) -> None:
    user = shopper(running)
    await user.send_command("/feed")
    old = await user.wait_for(lambda m: m.media_kind == "video")
    like = next(b["callback_data"] for b in old.buttons if str(b["text"]).startswith("❤️"))
    await swipe(user, old, "❤️")
    assert (await user.press_data(old, str(like))).text == "Already noted 👍"
    assert (await user.press_data(old, "c:like:99999999")).text.startswith("This card is from")
    assert (await user.press_data(old, "garbage")).text.startswith("This card is from")
    assert count_events(running, user.id, "like") == 1


async def test_health_reports_the_mode(running: Running) -> None:
    health = await running.bot.health()
    assert health["ready"] is True
    assert health["mode"] == running.mode
    assert health["products"] == 72
    info = await running.server.call("getWebhookInfo")
    assert bool(info["url"]) is (running.mode == "webhook")
