"""A bare python-telegram-bot bot, the yardstick of ``benchmarks/swipes.py``.

    python benchmarks/echo_bot.py API_ROOT TOKEN

``/start`` answers with a message carrying two inline buttons; every tap is answered
(``answerCallbackQuery``) and edits that message in place (``editMessageText``): the same
two Bot API calls a reelcart swipe makes, with no database, ranking or media behind them.
Long polling, ``concurrent_updates`` as reelcart runs it; stops on SIGTERM / SIGINT.
"""

from __future__ import annotations

import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("❤️ like", callback_data="like"),
      InlineKeyboardButton("⏭ next", callback_data="next")]]
)  # fmt: skip


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with a card of two buttons."""
    assert update.effective_message is not None
    await update.effective_message.reply_text("card 0", reply_markup=KEYBOARD)


async def tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap and swap the card's text."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    count = int(context.user_data.get("n", 0)) + 1 if context.user_data is not None else 1
    if context.user_data is not None:
        context.user_data["n"] = count
    await query.edit_message_text(f"card {count}", reply_markup=KEYBOARD)


def main() -> int:
    root, token = sys.argv[1], sys.argv[2]
    application = (
        Application.builder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .concurrent_updates(64)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(tap))
    print("echo bot polling", flush=True)
    application.run_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
