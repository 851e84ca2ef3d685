"""Help for everyone: /help, the shopper's own data (/mydata, /forget), and a helpful
answer to whatever no feature claims (registered last, by ``register_fallbacks``)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.handlers.support import help, privacy


def register(application: ReelcartApplication) -> None:
    """Add /mydata, /forget and /help."""
    application.add_handler(CommandHandler("mydata", privacy.mydata_command))
    application.add_handler(CommandHandler("forget", privacy.forget_command))
    application.add_handler(CallbackQueryHandler(privacy.forget_button, pattern=r"^priv:"))
    application.add_handler(CommandHandler("help", help.help_command))


def register_fallbacks(application: ReelcartApplication) -> None:
    """Catch-alls; registered last so every specific handler wins."""
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(filters.COMMAND & private, help.unknown_command))
    application.add_handler(
        MessageHandler(filters.ALL & private & ~filters.COMMAND, help.free_text)
    )
    application.add_handler(CallbackQueryHandler(help.unknown_button))
