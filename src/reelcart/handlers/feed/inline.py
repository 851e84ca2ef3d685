"""Inline mode: ↗️ on a card shares that product into any chat; chosen results count as shares.

Anyone can type the bot's name in any chat to search products by meaning. Each result is
the product's clip (when Telegram has it cached) or an article, with a deep link that
opens the product in the bot and carries the sharer's referral code
(``t.me/<bot>?start=p_<id>_r_<code>``), so visits and purchases it brings are theirs.
"""

from __future__ import annotations

import html
import logging
import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedVideo,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from reelcart.domain import EventKind, Language, Product, ProductNotFound
from reelcart.handlers.feed import render
from reelcart.handlers.kit.context import ReelcartContext
from reelcart.i18n import format_price, t
from reelcart.services.feed import MAX_QUERY_LENGTH

log = logging.getLogger(__name__)
_SHARE = re.compile(r"^p_([1-9][0-9]{0,17})$")


async def inline_query(update: Update, context: ReelcartContext) -> None:
    """Answer ``p_<id>`` with that product, any other text with a search by meaning."""
    query = update.inline_query
    assert query is not None
    language = Language.from_code(query.from_user.language_code)
    text = query.query.strip()[:MAX_QUERY_LENGTH]
    feed = context.shop.feed
    products: list[Product] = []
    match = _SHARE.match(text)
    if match:
        try:
            products = [await feed.product(int(match[1]))]
        except ProductNotFound:
            products = []
        products = [product for product in products if product.shareable]
    elif text:
        products = await feed.search(text, limit=10)
    username = context.bot.username
    code = await context.shop.merchants.referral_code(query.from_user.id)
    results: list[InlineQueryResultArticle | InlineQueryResultCachedVideo] = []
    for product in products:
        link = f"{render.deep_link(username, product.id)}_r_{code}"
        price = format_price(product.price, language)
        message = t(
            language, "inline.share_text", title=html.escape(product.title), price=price, link=link
        )
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t(language, "inline.open_button"), url=link)]]
        )
        clip = await context.shop.clip(product.id)
        if clip is not None and clip.file_id and not clip.is_animation:
            results.append(
                InlineQueryResultCachedVideo(
                    id=f"p{product.id}",
                    video_file_id=clip.file_id,
                    title=product.title,
                    description=price,
                    caption=message,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard,
                )
            )
        else:
            results.append(
                InlineQueryResultArticle(
                    id=f"p{product.id}",
                    title=product.title,
                    description=price,
                    input_message_content=InputTextMessageContent(
                        message, parse_mode=ParseMode.HTML
                    ),
                    reply_markup=keyboard,
                )
            )
    # Personal: every link carries the sharer's own referral code.
    await query.answer(results, cache_time=30, is_personal=True)


async def chosen_result(update: Update, context: ReelcartContext) -> None:
    """The user sent one of our inline results: a share of that product."""
    chosen = update.chosen_inline_result
    assert chosen is not None
    if not chosen.result_id.startswith("p") or not chosen.result_id[1:].isdigit():
        return
    product_id = int(chosen.result_id[1:])
    user = chosen.from_user
    await context.shop.feed.meet(user.id, user.first_name, user.username, user.language_code)
    await context.shop.feed.record(user.id, product_id, EventKind.SHARE)
    log.info("user %s shared product %s", user.id, product_id)
