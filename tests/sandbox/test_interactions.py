"""Buttons, edits, deletions, inline mode and commands, driven by real PTB code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputMediaVideo,
    InputTextMessageContent,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from reelcart.sandbox import QueryDeadlines, SandboxServer, SimulatedUser

from .conftest import ALICE, answering, mp4_bytes

FeedApp = Application[Any, Any, Any, Any, Any, Any]
CARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("❤️ Like", callback_data="like:1"),
            InlineKeyboardButton("⏭ Next", callback_data="next:1"),
        ],
        [InlineKeyboardButton("🔗 Shop", url="http://127.0.0.1:8080/go/1")],
    ]
)


async def show_card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: one feed card."""
    assert update.effective_chat is not None
    await context.bot.send_video(
        update.effective_chat.id, mp4_bytes(seconds=5), caption="Sneaker — 49 €", reply_markup=CARD
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Like edits the caption; next swaps the clip in place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data.startswith("like:"):
        await query.answer("Saved to your likes")
        await query.edit_message_caption("Sneaker — 49 € ❤️", reply_markup=CARD)
    else:
        await query.answer()
        await query.edit_message_media(
            InputMediaVideo(mp4_bytes(seconds=8), caption="Boots — 89 €"), reply_markup=CARD
        )


@pytest.fixture
async def feed_bot(server: SandboxServer) -> AsyncIterator[FeedApp]:
    """A small python-telegram-bot Application polling the sandbox."""
    app = (
        Application.builder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", show_card))
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        yield app
        await app.updater.stop()
        await app.stop()


async def test_callback_round_trip_with_a_real_application(
    feed_bot: FeedApp,
    server: SandboxServer,
) -> None:
    shopper = SimulatedUser(server, ALICE, "Alice", language_code="fr")
    await shopper.send_command("start")
    card = await shopper.wait_for(lambda m: m.media_kind == "video")
    assert [b["text"] for b in card.buttons] == ["❤️ Like", "⏭ Next", "🔗 Shop"]
    answer = await shopper.press(card, "❤️", timeout=5)
    assert answer.text == "Saved to your likes" and not answer.show_alert
    liked = await shopper.wait_for(lambda m: m.edited)
    assert liked.text.endswith("❤️") and liked.message_id == card.message_id
    await shopper.press(liked, "next:1", timeout=5)
    swapped = await shopper.wait_for(lambda m: m.text.startswith("Boots"))
    assert swapped.file_id != card.file_id
    assert len(shopper.messages) == 1  # swiping edits in place, no new message
    assert card.button("🔗")["url"] == "http://127.0.0.1:8080/go/1"
    with pytest.raises(ValueError, match="not a callback button"):
        await shopper.press(swapped, "🔗")


async def test_callback_answers_are_once_and_before_the_deadline() -> None:
    async with SandboxServer(limits=None, deadlines=QueryDeadlines(callback=0.5)) as server:
        shopper = SimulatedUser(server, ALICE, "Alice")
        await shopper.send_command("start")
        async with Bot(server.token, base_url=server.base_url) as bot:
            await bot.send_message(ALICE, "card", reply_markup=CARD)
            second_refused = asyncio.Event()

            async def answer_twice(update: Update) -> None:
                if update.callback_query is not None:
                    await update.callback_query.answer("ok")
                    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                        await update.callback_query.answer("again")
                    second_refused.set()

            async with answering(bot, answer_twice):
                assert (await shopper.press(shopper.messages[-1], "❤️")).text == "ok"
                await asyncio.wait_for(second_refused.wait(), 5)

            # Nobody answers now: the client gives up at the deadline ...
            with pytest.raises(TimeoutError):
                await shopper.press(shopper.messages[-1], "❤️")
            # ... and the late answer is refused.
            late = (await bot.get_updates())[-1].callback_query
            assert late is not None
            with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                await late.answer("too late")


async def test_edit_errors(bot: Bot, alice: SimulatedUser) -> None:
    text = await bot.send_message(ALICE, "Sneaker", reply_markup=CARD)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Sneaker", ALICE, text.message_id, reply_markup=CARD)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", ALICE, 9999)
    # Editing without reply_markup drops the keyboard, as Telegram does.
    plain = await bot.edit_message_text("Sneaker!", ALICE, text.message_id)
    assert not isinstance(plain, bool) and plain.reply_markup is None
    video = await bot.send_video(ALICE, mp4_bytes())
    with pytest.raises(BadRequest, match=r"(?i)there is no text in the message to edit"):
        await bot.edit_message_text("x", ALICE, video.message_id)
    own = alice.chat.messages[1].data  # Alice's /start
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("hijack", ALICE, own["message_id"])
    bare = await bot.edit_message_reply_markup(ALICE, text.message_id, reply_markup=CARD)
    assert not isinstance(bare, bool) and bare.reply_markup == CARD
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(ALICE, text.message_id, reply_markup=CARD)
    history = alice.chat.messages[text.message_id].history
    assert [version["text"] for version in history] == ["Sneaker", "Sneaker!"]


async def test_delete_message(bot: Bot, alice: SimulatedUser) -> None:
    sent = await bot.send_message(ALICE, "temporary")
    assert await bot.delete_message(ALICE, sent.message_id) is True
    assert all(m.message_id != sent.message_id for m in alice.messages)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)


async def test_wait_for_sees_replies_that_arrived_before_the_call(
    bot: Bot,
    alice: SimulatedUser,
) -> None:
    await alice.send_text("hello")
    await bot.send_message(ALICE, "first")
    await bot.send_message(ALICE, "second")
    assert (await alice.wait_for()).text == "first"
    assert (await alice.wait_for()).text == "second"
    with pytest.raises(TimeoutError):
        await alice.wait_for(timeout=0.1)


async def test_inline_mode_round_trip(bot: Bot, alice: SimulatedUser) -> None:
    edited = asyncio.Event()

    async def answer_inline(update: Update) -> None:
        if update.inline_query is not None:
            await update.inline_query.answer(
                [
                    InlineQueryResultArticle(
                        "p1",
                        "Sneaker",
                        InputTextMessageContent("Sneaker — 49 €"),
                        reply_markup=InlineKeyboardMarkup(
                            [[InlineKeyboardButton("🛒 Buy", callback_data="buy:1")]]
                        ),
                    ),
                ],
                cache_time=0,
            )
        if update.chosen_inline_result is not None:
            inline_id = update.chosen_inline_result.inline_message_id
            assert inline_id is not None
            assert (
                await bot.edit_message_text("Sneaker — sold out", inline_message_id=inline_id)
                is True
            )
            edited.set()

    async with answering(bot, answer_inline) as seen:
        answer = await alice.inline_query("sneak", timeout=5)
        assert [r["id"] for r in answer.results] == ["p1"]
        inline_id = await alice.choose_inline_result("p1", "sneak")
        assert inline_id is not None
        await asyncio.wait_for(edited.wait(), 5)
    assert alice.state.inline_messages[inline_id].data["text"] == "Sneaker — sold out"
    assert any(u.chosen_inline_result for u in seen)


async def test_inline_answer_validation(bot: Bot, alice: SimulatedUser) -> None:
    async def duplicate_ids(update: Update) -> None:
        if update.inline_query is not None:
            article = InlineQueryResultArticle("same", "A", InputTextMessageContent("a"))
            with pytest.raises(BadRequest, match=r"(?i)result_id_duplicate"):
                await update.inline_query.answer([article, article])
            await update.inline_query.answer([])

    async with answering(bot, duplicate_ids):
        answer = await alice.inline_query("x", timeout=5)
    assert answer.results == []


async def test_commands_by_scope_and_language(bot: Bot, alice: SimulatedUser) -> None:
    await bot.set_my_commands([BotCommand("feed", "Your feed"), BotCommand("likes", "Likes")])
    await bot.set_my_commands(
        [BotCommand("feed", "Ton fil")], language_code="fr", scope=BotCommandScopeAllPrivateChats()
    )
    await bot.set_my_commands(
        [BotCommand("admin", "Admin panel")], scope=BotCommandScopeChat(ALICE)
    )
    assert [c.command for c in await bot.get_my_commands()] == ["feed", "likes"]
    assert (await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="fr"))[
        0
    ].description == "Ton fil"
    assert [c["command"] for c in alice.visible_commands()] == ["admin"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(ALICE))
    assert [c["command"] for c in alice.visible_commands()] == ["feed", "likes"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Feed", "capital letters are refused")])
