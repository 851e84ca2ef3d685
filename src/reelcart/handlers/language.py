"""/lang: choose English or French (otherwise Telegram's language decides)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reelcart.domain import Language
from reelcart.handlers.context import ReelcartApplication, ReelcartContext, shopper
from reelcart.i18n import t


async def lang_command(update: Update, context: ReelcartContext) -> None:
    """Offer the two languages."""
    user = await shopper(update, context)
    assert update.message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🇬🇧 English", callback_data="l:en"),
                InlineKeyboardButton("🇫🇷 Français", callback_data="l:fr"),
            ]
        ]
    )
    await update.message.reply_text(t(user.language, "lang.prompt"), reply_markup=keyboard)


async def lang_button(update: Update, context: ReelcartContext) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    code = (query.data or "")[2:]
    if code not in {language.value for language in Language}:
        await query.answer(t(user.language, "feed.stale"))
        return
    language = Language(code)
    await context.shop.feed.set_language(user.id, language)
    await query.answer()
    await query.edit_message_text(t(language, "lang.set"))


def register(application: ReelcartApplication) -> None:
    application.add_handler(CommandHandler("lang", lang_command))
    application.add_handler(CallbackQueryHandler(lang_button, pattern=r"^l:"))
