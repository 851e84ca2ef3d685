"""/search finds products by meaning; /likes lists what the user liked."""

from __future__ import annotations

import html

from telegram import Update
from telegram.constants import ParseMode

from reelcart.handlers.feed import render
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.i18n import t
from reelcart.services.feed import MAX_QUERY_LENGTH


async def search_command(update: Update, context: ReelcartContext) -> None:
    """Search the catalog by meaning and list the matches as buttons."""
    user = await shopper(update, context)
    assert update.message is not None
    query = " ".join(context.args or []).strip()
    if not query:
        await update.message.reply_text(t(user.language, "search.usage"), parse_mode=ParseMode.HTML)
        return
    if len(query) > MAX_QUERY_LENGTH:
        await update.message.reply_text(t(user.language, "search.too_long", limit=MAX_QUERY_LENGTH))
        return
    products = await context.shop.feed.search(query)
    shown = html.escape(query)
    if not products:
        await update.message.reply_text(
            t(user.language, "search.none", query=shown), parse_mode=ParseMode.HTML
        )
        return
    await update.message.reply_text(
        t(user.language, "search.results", query=shown),
        parse_mode=ParseMode.HTML,
        reply_markup=render.product_list_keyboard(products, user.language),
    )


async def likes_command(update: Update, context: ReelcartContext) -> None:
    """List the user's liked products; each button opens the product's card."""
    user = await shopper(update, context)
    assert update.message is not None
    products, total = await context.shop.feed.likes(user.id)
    if not products:
        await update.message.reply_text(t(user.language, "likes.empty"))
        return
    header = (
        t(user.language, "likes.header", count=total)
        if total == len(products)
        else t(user.language, "likes.header_newest", count=total, shown=len(products))
    )
    await update.message.reply_text(
        header,
        reply_markup=render.product_list_keyboard(products, user.language),
    )
