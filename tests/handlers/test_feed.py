"""The feed as a shopper meets it: onboarding, cards, swipes, why-this, search, likes."""

from __future__ import annotations

import asyncio

from reelcart.sandbox.views import BotMessage
from reelcart.storage.products import all_products
from reelcart.storage.users import get_user
from tests.handlers.conftest import Harness, fence, on_screen

CARD_EMOJI = ["❤️", "👎", "⏭", "🛒", "🔗", "💡", "↗️"]


def events(harness: Harness, user_id: int, kind: str) -> list[tuple]:
    return harness.shop.db.call(
        lambda store: store.db.execute(
            "SELECT product_id, dwell_ms FROM events WHERE user_id = ? AND kind = ?",
            [user_id, kind],
        ).fetchall()
    )


async def first_card(harness: Harness, user_id: int = 1001, language: str = "en"):
    shopper = harness.user(user_id, language)
    await shopper.send_command("/feed")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    return shopper, card


async def test_start_greets_in_the_users_language_and_offers_interests(harness: Harness) -> None:
    shopper = harness.user(1001, "fr-FR")
    await shopper.send_command("/start")
    hello = await shopper.wait_for()
    assert hello.text.startswith("Salut Ana")
    labels = [b["text"] for b in hello.buttons]
    assert {"coffee", "sneakers", "plants", "books"} <= set(labels)


async def test_interests_are_saved_on_every_tap_and_start_the_feed(harness: Harness) -> None:
    shopper = harness.user()
    await shopper.send_command("/start")
    hello = await shopper.wait_for()
    answer = await shopper.press(hello, "i:plants")
    assert answer.text == "Added: plants"
    updated = await shopper.wait_for(lambda m: m.message_id == hello.message_id)
    assert "✅ plants" in [b["text"] for b in updated.buttons]
    user = harness.shop.db.call(get_user, shopper.id)
    assert user is not None and user.interests == ("plants",)
    await shopper.press(updated, "i:!done")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    assert "plant" in card.text.lower()
    why = await shopper.press(card, "💡")
    assert why.show_alert and "plants" in (why.text or "")


async def test_a_card_is_one_clip_with_the_seven_buttons_in_order(harness: Harness) -> None:
    _, card = await first_card(harness)
    assert card.media_kind in {"video", "photo"}
    labels = [str(b["text"]) for b in card.buttons]
    assert [label.split(" ")[0] for label in labels] == CARD_EMOJI
    shop_button = next(b for b in card.buttons if str(b["text"]).startswith("🔗"))
    assert shop_button["url"].startswith("https://")
    share = next(b for b in card.buttons if str(b["text"]).startswith("↗️"))
    assert share["switch_inline_query"].startswith("p_")


class ManualClock:
    """The feed's clock, moved by the test: dwell times come out exact, no waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_swipes_edit_the_same_message_and_record_dwell(harness: Harness) -> None:
    clock = ManualClock()
    harness.shop.feed.clock = clock
    shopper, card = await first_card(harness)
    await fence(shopper)  # the card is recorded as on screen: its dwell counts from now
    clock.now += 0.375  # a power-of-two fraction: exact in binary, so exactly 375 ms
    answer = await shopper.press(card, "❤️")
    assert answer.text == "❤️ Saved to your likes"
    swapped = await shopper.wait_for(lambda m: m.message_id == card.message_id and m.edited)
    assert swapped.text != card.text
    assert len([m for m in shopper.messages if m.media_kind]) == 1  # no flood of messages
    await fence(shopper)
    [(_product_id, dwell_ms)] = events(harness, shopper.id, "like")
    assert dwell_ms == 375
    # Cards swapped in place keep their own clock: dwell counts from the swap.
    for emoji, kind, reply, watched in [
        ("👎", "dislike", "👎 Got it: fewer like this", 2.5),
        ("⏭", "skip", "⏭", 0.25),
    ]:
        current = on_screen(shopper, card)
        clock.now += watched
        answer = await shopper.press(current, emoji)
        assert answer.text == reply
        await shopper.wait_for(lambda m: m.message_id == card.message_id and m.edited)
        await fence(shopper)
        [(_product_id, dwell_ms)] = events(harness, shopper.id, kind)
        assert dwell_ms == int(watched * 1000)


async def test_a_button_pressed_twice_counts_once(harness: Harness) -> None:
    shopper, card = await first_card(harness)
    data = next(b["callback_data"] for b in card.buttons if str(b["text"]).startswith("❤️"))
    await shopper.press(card, data)
    await shopper.wait_for(lambda m: m.message_id == card.message_id and m.edited)
    again = await shopper.press_data(card, data)
    assert again.text == "Already noted 👍"
    assert len(events(harness, shopper.id, "like")) == 1


async def test_forged_and_foreign_buttons_change_nothing(harness: Harness) -> None:
    shopper, card = await first_card(harness)
    for forged in ["c:like:999999", "c:like:abc", "c:explode:1", "zzz", "p:0"]:
        answer = await shopper.press_data(card, forged)
        assert answer.text == "This card is from earlier. Send /feed for a fresh one."
    # Another shopper's card id, pressed by someone else.
    data = next(b["callback_data"] for b in card.buttons if str(b["text"]).startswith("❤️"))
    intruder = harness.user(2002)
    await intruder.send_command("/feed")
    await intruder.wait_for(lambda m: m.media_kind is not None)
    stolen = await intruder.press_data(intruder.last_message, data)
    assert stolen.text == "This card is from earlier. Send /feed for a fresh one."
    assert events(harness, shopper.id, "like") == []
    assert events(harness, intruder.id, "like") == []


async def test_an_older_card_is_stale_once_a_new_feed_starts(harness: Harness) -> None:
    shopper, old = await first_card(harness)
    await shopper.send_command("/feed")
    await shopper.wait_for(lambda m: m.media_kind is not None and m.message_id != old.message_id)
    answer = await shopper.press(old, "❤️")
    assert "from earlier" in (answer.text or "")
    assert events(harness, shopper.id, "like") == []


async def test_buy_without_a_payment_provider_says_so_plainly(harness: Harness) -> None:
    shopper = harness.user()
    product_id = harness.shop.db.call(
        lambda store: store.db.execute("SELECT id FROM products WHERE sku = 'C1'").fetchone()[0]
    )
    await shopper.send_command("/start", f"p_{product_id}")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    answer = await shopper.press(card, "🛒")  # a physical product, no provider token set
    assert answer.show_alert and "isn't set up yet" in (answer.text or "")
    assert not [m for m in shopper.messages if m.invoice]


async def test_search_by_meaning_lists_products_that_open_cards(harness: Harness) -> None:
    shopper = harness.user()
    await shopper.send_command("/search", "coffee beans for espresso")
    results = await shopper.wait_for()
    assert "coffee beans for espresso" in results.text
    assert (
        "coffee" in str(results.buttons[0]["text"]).lower()
        or "espresso" in str(results.buttons[0]["text"]).lower()
    )
    await shopper.press(results, str(results.buttons[0]["callback_data"]))
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    why = await shopper.press(card, "💡")
    assert why.text == "💡 You opened this product yourself."


async def test_search_without_words_explains_its_usage(harness: Harness) -> None:
    shopper = harness.user()
    await shopper.send_command("/search")
    reply = await shopper.wait_for()
    assert "/search running shoes" in reply.text


async def test_likes_list_what_was_liked(harness: Harness) -> None:
    shopper, card = await first_card(harness)
    title = card.text.split("\n")[0]
    await shopper.press(card, "❤️")
    await shopper.wait_for(lambda m: m.message_id == card.message_id and m.edited)
    await shopper.send_command("/likes")
    likes = await shopper.wait_for(lambda m: "likes" in m.text)
    assert likes.text.startswith("❤️ Your likes (1)")
    assert str(likes.buttons[0]["text"]).startswith(title)
    # A tap opens the card again, as a new message.
    await shopper.press(likes, str(likes.buttons[0]["callback_data"]))
    reopened = await shopper.wait_for(lambda m: m.media_kind is not None and not m.edited)
    assert reopened.text.startswith(title)


async def test_a_liked_product_taken_down_since_does_not_open(harness: Harness) -> None:
    shopper, card = await first_card(harness)
    await shopper.press(card, "❤️")
    await shopper.wait_for(lambda m: m.message_id == card.message_id and m.edited)
    [(product_id, _dwell)] = events(harness, shopper.id, "like")
    await shopper.send_command("/likes")
    likes = await shopper.wait_for(lambda m: "likes" in m.text)
    for moderation in ("pending", "rejected"):
        harness.shop.db.call(
            lambda store, m=moderation: store.db.execute(
                "UPDATE products SET moderation = ? WHERE id = ?", [m, product_id]
            )
        )
        shown = len(events(harness, shopper.id, "impression"))
        answer = await shopper.press(likes, str(likes.buttons[0]["callback_data"]))
        assert answer.text == "That product isn't available right now."
        assert len(events(harness, shopper.id, "impression")) == shown  # nothing recorded


async def test_no_likes_yet_says_how_to_like(harness: Harness) -> None:
    shopper = harness.user()
    await shopper.send_command("/likes")
    assert "No likes yet" in (await shopper.wait_for()).text


async def test_language_switch_changes_every_text(harness: Harness) -> None:
    shopper = harness.user()
    await shopper.send_command("/lang")
    prompt = await shopper.wait_for()
    await shopper.press(prompt, "l:fr")
    done = await shopper.wait_for(lambda m: m.message_id == prompt.message_id)
    assert done.text == "Langue choisie : français 🇫🇷"
    await shopper.send_command("/feed")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    assert str(card.buttons[0]["text"]) == "❤️ J'aime"
    await shopper.send_command("/help")
    assert "un fil de courtes vidéos" in (await shopper.wait_for()).text


async def test_unknown_commands_and_free_text_get_a_helpful_answer(harness: Harness) -> None:
    shopper = harness.user()
    await shopper.send_command("/teleport")
    assert "/help" in (await shopper.wait_for()).text
    await shopper.send_text("hello?")
    assert "/feed" in (await shopper.wait_for()).text


async def _open_from_search(shopper, words: str) -> BotMessage:
    await shopper.send_command("/search", words)
    results = await shopper.wait_for(lambda m: bool(m.buttons))
    await shopper.press(results, str(results.buttons[0]["callback_data"]))
    return await shopper.wait_for(lambda m: m.media_kind is not None)


async def _cached_file_id(harness: Harness, title: str) -> str | None:
    for _ in range(50):
        file_id = harness.shop.db.call(
            lambda store: store.db.execute(
                "SELECT c.file_id FROM clips c JOIN products p ON p.id = c.product_id "
                "WHERE p.title = ?",
                [title],
            ).fetchone()[0]
        )
        if file_id:
            return str(file_id)
        await asyncio.sleep(0.1)
    return None


async def test_clips_are_uploaded_once_then_sent_by_file_id(harness: Harness) -> None:
    shopper = harness.user()
    files = harness.server.state.files
    before = files.uploads
    first = await _open_from_search(shopper, "Monstera plant")
    assert first.text.startswith("Monstera plant")
    assert files.uploads == before + 1
    cached = await _cached_file_id(harness, "Monstera plant")
    assert cached == first.file_id
    again = await _open_from_search(shopper, "Monstera plant")
    assert again.message_id != first.message_id
    assert again.file_id == cached
    assert files.uploads == before + 1  # the second time it went by file_id


async def test_a_file_id_telegram_forgot_is_replaced_by_the_new_one(harness: Harness) -> None:
    # E.g. the bot's token changed: Telegram no longer knows the file_ids cached before.
    harness.shop.db.call(
        lambda store: store.db.execute(
            "UPDATE clips SET file_id = 'forgotten-file-id' WHERE product_id = "
            "(SELECT id FROM products WHERE title = 'Monstera plant')"
        )
    )
    shopper = harness.user()
    files = harness.server.state.files
    before = files.uploads
    first = await _open_from_search(shopper, "Monstera plant")
    assert files.uploads == before + 1  # refused by Telegram, uploaded again
    for _ in range(50):
        if await _cached_file_id(harness, "Monstera plant") == first.file_id:
            break
        await asyncio.sleep(0.1)
    assert await _cached_file_id(harness, "Monstera plant") == first.file_id
    again = await _open_from_search(shopper, "Monstera plant")
    assert again.file_id == first.file_id
    assert files.uploads == before + 1  # and from then on sent by the new file_id


async def test_a_product_without_a_clip_shows_a_picture(harness: Harness) -> None:
    shopper = harness.user()
    card = await _open_from_search(shopper, "Snake plant hardy house plant")
    assert card.text.startswith("Snake plant")
    assert card.media_kind == "photo"


async def test_a_caption_is_escaped_html(harness: Harness) -> None:
    shopper = harness.user()
    await shopper.send_command("/search", "Tom & Jerry canvas sneaker")
    results = await shopper.wait_for()
    button = next(b for b in results.buttons if "Tom & Jerry" in str(b["text"]))
    await shopper.press(results, str(button["callback_data"]))
    card: BotMessage = await shopper.wait_for(lambda m: m.media_kind is not None)
    assert card.text.startswith("Tom & Jerry canvas sneaker")


async def test_share_offers_the_product_inline_and_counts_the_share(harness: Harness) -> None:
    shopper, card = await first_card(harness)
    share = next(b for b in card.buttons if str(b["text"]).startswith("↗️"))
    query = str(share["switch_inline_query"])
    answer = await shopper.inline_query(query)
    [result] = answer.results
    title = card.text.split("\n")[0]
    assert result["title"] == title
    link = result["reply_markup"]["inline_keyboard"][0][0]["url"]
    # The link carries the sharer's referral code: visits it brings are theirs.
    code = harness.shop.db.call(
        lambda store: store.db.execute(
            "SELECT code FROM referral_codes WHERE user_id = ?", [shopper.id]
        ).fetchone()[0]
    )
    assert link == f"https://t.me/{harness.server.bot_username}?start={query}_r_{code}"
    await shopper.choose_inline_result(str(result["id"]), query)
    for _ in range(50):
        if events(harness, shopper.id, "share"):
            break
        await asyncio.sleep(0.05)
    assert len(events(harness, shopper.id, "share")) == 1


async def test_a_shared_deep_link_opens_the_products_card(harness: Harness) -> None:
    friend = harness.user(3003)
    products = harness.shop.db.call(all_products)
    await friend.send_command("/start", f"p_{products[0].id}")
    card = await friend.wait_for(lambda m: m.media_kind is not None)
    assert card.text.startswith(products[0].title)
    await friend.send_command("/start", "p_987654321")
    assert (await friend.wait_for()).text == "That product doesn't exist (any more)."


async def test_inline_search_by_meaning(harness: Harness) -> None:
    shopper = harness.user()
    answer = await shopper.inline_query("coffee")
    assert answer.results
    assert all("coffee" in str(r["title"]).lower() or "espresso" in str(r["title"]).lower()
               for r in answer.results[:2])  # fmt: skip
