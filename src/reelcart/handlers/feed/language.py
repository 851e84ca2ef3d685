"""/lang: choose English or French (otherwise Telegram's language decides)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from reelcart.domain import Language
from reelcart.handlers.feed.render import language_data, parse_language_data
from reelcart.handlers.kit.context import ReelcartContext, answer_query, is_not_modified, shopper
from reelcart.i18n import t

log = logging.getLogger(__name__)


async def lang_command(update: Update, context: ReelcartContext) -> None:
    """Offer the two languages."""
    user = await shopper(update, context)
    assert update.message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🇬🇧 English", callback_data=language_data(Language.EN)),
                InlineKeyboardButton("🇫🇷 Français", callback_data=language_data(Language.FR)),
            ]
        ]
    )
    await update.message.reply_text(t(user.language, "lang.prompt"), reply_markup=keyboard)


async def lang_button(update: Update, context: ReelcartContext) -> None:
    """Store the chosen language and confirm in it, in place of the prompt.

    The tap is answered first. A second tap finds the confirmation already there ("not
    modified"): done. A button on a message that has no text to replace (a card's caption,
    an old message) gets the confirmation as a new message.
    """
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    language = parse_language_data(query.data)
    if language is None:
        await answer_query(context, query, t(user.language, "feed.stale"))
        return
    await answer_query(context, query)
    await context.shop.feed.set_language(user.id, language)
    text = t(language, "lang.set")
    message = query.message if isinstance(query.message, Message) else None
    if message is not None and message.text is not None:
        try:
            await message.edit_text(text)
            return
        except BadRequest as exc:
            if is_not_modified(exc):
                return
            log.info("could not confirm the language in message %s: %s", message.message_id, exc)
    chat_id = update.effective_chat.id if update.effective_chat else user.id
    await context.bot.send_message(chat_id, text)
