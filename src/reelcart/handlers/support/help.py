"""/help, and a helpful answer to unknown commands, free text and unknown buttons."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode

from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.i18n import t


async def help_command(update: Update, context: ReelcartContext) -> None:
    """List what the bot can do (merchants and admins also see their own commands)."""
    user = await shopper(update, context)
    assert update.message is not None
    text = t(user.language, "help.text")
    if await context.shop.merchants.active(user.id):
        text += t(user.language, "help.merchant")
    if context.shop.admin.is_admin(user.id):
        text += t(user.language, "help.admin")
    await update.message.reply_text(text, parse_mode=ParseMode.HTML)


async def unknown_command(update: Update, context: ReelcartContext) -> None:
    """A command reelcart does not have."""
    user = await shopper(update, context)
    assert update.message is not None
    await update.message.reply_text(t(user.language, "unknown_command"))


async def free_text(update: Update, context: ReelcartContext) -> None:
    """Anything else a shopper sends: point them at the feed and search."""
    user = await shopper(update, context)
    assert update.message is not None
    await update.message.reply_text(t(user.language, "free_text"))


async def unknown_button(update: Update, context: ReelcartContext) -> None:
    """A button whose data no handler claims (forged, or from an older version)."""
    user = await shopper(update, context)
    assert update.callback_query is not None
    await update.callback_query.answer(t(user.language, "feed.stale"))
