"""A product's card as shoppers will see it, for its merchant and for the moderators."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import Clip, FeedCard, Language, Pick, Product, ReasonKind
from reelcart.handlers.feed import render
from reelcart.handlers.kit.callbacks import MERCHANT
from reelcart.handlers.kit.context import ReelcartContext
from reelcart.i18n import t

log = logging.getLogger(__name__)


async def send_preview(
    context: ReelcartContext, chat_id: int, product: Product, lang: Language
) -> Message:
    """The product's card as shoppers see it (its buttons only answer "preview")."""
    clip = await context.shop.clip(product.id)
    card = FeedCard(0, product, clip, Pick(product.id, ReasonKind.REQUESTED))
    shopper_markup = render.card_keyboard(card, lang)
    rows = [
        [
            button
            if button.callback_data is None
            else InlineKeyboardButton(button.text, callback_data=MERCHANT.data("pv"))
            for button in row
        ]
        for row in shopper_markup.inline_keyboard
    ]
    caption = t(lang, "products.preview") + "\n\n" + render.caption(product, lang)
    markup = InlineKeyboardMarkup(rows)
    if clip is not None:
        try:
            return await _send_clip(context, chat_id, clip, caption, markup)
        except BadRequest as exc:
            # A clip Telegram cannot fetch (a broken video_url): preview without it.
            log.warning("preview clip of product %s failed: %s", product.id, exc)
    image = await context.shop.placeholder_image(product)
    return await context.bot.send_photo(
        chat_id,
        InputFile(image, filename="card.png"),
        caption=caption,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )


async def _send_clip(
    context: ReelcartContext,
    chat_id: int,
    clip: Clip,
    caption: str,
    markup: InlineKeyboardMarkup,
) -> Message:
    media: str | InputFile
    if clip.file_id:
        media = clip.file_id
    elif clip.source.startswith(("http://", "https://")):
        media = clip.source
    else:
        data = await asyncio.to_thread(Path(clip.source).read_bytes)
        media = InputFile(data, filename=Path(clip.source).name)
    bot = context.bot
    if clip.is_animation:
        sent = await bot.send_animation(
            chat_id, media, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    else:
        sent = await bot.send_video(
            chat_id,
            media,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            duration=clip.duration,
            width=clip.width,
            height=clip.height,
            supports_streaming=True,
        )
    uploaded = sent.video or sent.animation
    if not clip.file_id and uploaded is not None:
        await context.shop.feed.clip_uploaded(clip, uploaded.file_id)
    return sent
