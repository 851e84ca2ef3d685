"""The shopper's feed: /start and onboarding, the cards and their swipes, /search and
/likes, /lang, and sharing a product from any chat (inline mode).

``render`` draws cards and lists and is the one codec of the feed's callback data.
"""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
)

from reelcart.handlers.feed import cards, discover, inline, language, start
from reelcart.handlers.kit.context import ReelcartApplication


def register(application: ReelcartApplication) -> None:
    """Add the feed's handlers, in this order."""
    application.add_handler(CommandHandler("start", start.start))
    application.add_handler(CallbackQueryHandler(start.interest_button, pattern=r"^i:"))
    application.add_handler(CommandHandler("feed", cards.feed_command))
    application.add_handler(CallbackQueryHandler(cards.card_button, pattern=r"^c:"))
    application.add_handler(CallbackQueryHandler(cards.product_button, pattern=r"^p:"))
    application.add_handler(CommandHandler("search", discover.search_command))
    application.add_handler(CommandHandler("likes", discover.likes_command))
    application.add_handler(CommandHandler("lang", language.lang_command))
    application.add_handler(CallbackQueryHandler(language.lang_button, pattern=r"^l:"))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(ChosenInlineResultHandler(inline.chosen_result))
