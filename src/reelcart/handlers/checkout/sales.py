"""The merchant's side of orders: /sales, marking an order shipped (📦 and a tracking
number typed in reply), and order-preparation clips (a video captioned ``#12``).
"""

from __future__ import annotations

import html
import re

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import filters

from reelcart.domain import NotAMerchant, OrderNotFound, OrderStatus, ProductKind, User
from reelcart.handlers.checkout.orders import order_number
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.messenger import outbox
from reelcart.handlers.kit.text import cut
from reelcart.i18n import format_price, t
from reelcart.services.orders import InvalidTracking, OrderNotShippable
from reelcart.services.receipts import parse_ship_data, ship_data, status_label

HTML = ParseMode.HTML
#: A merchant's preparation clip: a video captioned with the order number ("#12").
CLIP_CAPTION = r"(?i)^\s*(?:#|order\s*#?\s*|commande\s*#?\s*|n°\s*)([1-9][0-9]{0,17})\s*$"
#: The tracking-number prompt starts with this in every language, so a reply finds it.
TRACKING_MARK = "📦✏️"


async def sales_command(update: Update, context: ReelcartContext) -> None:
    """/sales: the merchant's newest orders; ``/sales ship 12 TRACKING`` marks one shipped."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None
    lang = user.language
    args = context.args or []
    if args and args[0].lower() in ("ship", "expedier", "expédier"):
        number = order_number(args[1]) if len(args) >= 3 else None
        if number is None:
            await message.reply_text(t(lang, "commerce.sales_usage"), parse_mode=HTML)
            return
        await _ship(context, message, user, number, " ".join(args[2:]))
        return
    try:
        merchant, sales = await context.shop.orders.sales(user.id)
    except NotAMerchant as exc:
        await message.reply_text(error_text(lang, exc))
        return
    if not sales:
        await message.reply_text(
            t(lang, "commerce.sales_empty", merchant=html.escape(merchant.name)), parse_mode=HTML
        )
        return
    rows = [t(lang, "commerce.sales_header", merchant=html.escape(merchant.name))]
    buttons = []
    for order in sales:
        items = ", ".join(f"{line.title} ×{line.quantity}" for line in order.lines)
        rows.append(
            t(
                lang,
                "commerce.sales_line",
                number=order.number,
                status=status_label(order, lang),
                total=format_price(order.total, lang),
                items=html.escape(cut(items, 80)),
            )
        )
        if order.kind is ProductKind.PHYSICAL and order.status is OrderStatus.PAID:
            buttons.append(
                [
                    InlineKeyboardButton(
                        t(lang, "commerce.btn_mark_shipped", number=order.number),
                        callback_data=ship_data(order.id),
                    )
                ]
            )
    rows += ["", t(lang, "commerce.sales_usage")]
    await message.reply_text(
        "\n".join(rows),
        parse_mode=HTML,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


async def ship_button(update: Update, context: ReelcartContext) -> None:
    """📦 Mark shipped: ask the merchant for the tracking number (a reply to the prompt)."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    order_id = parse_ship_data(query.data)
    if order_id is None:
        await query.answer(t(lang, "feed.stale"))
        return
    try:
        order = await context.shop.orders.merchant_order(user.id, order_id)
    except NotAMerchant as exc:
        await query.answer(error_text(lang, exc), show_alert=True)
        return
    except OrderNotFound:
        number = f"#{order_id}"
        await query.answer(
            t(lang, "commerce.merchant_order_not_found", number=number), show_alert=True
        )
        return
    await query.answer()
    await context.bot.send_message(
        user.id,
        t(lang, "commerce.tracking_prompt", number=order.number),
        reply_markup=ForceReply(input_field_placeholder="1Z999AA10123456784"),
    )


class TrackingReply(filters.MessageFilter):
    """A reply to the bot's tracking-number prompt."""

    def filter(self, message: Message) -> bool:
        """Whether ``message`` answers the tracking-number prompt."""
        replied = message.reply_to_message
        return bool(
            replied is not None
            and replied.from_user is not None
            and replied.from_user.is_bot
            and (replied.text or "").startswith(TRACKING_MARK)
        )


async def tracking_reply(update: Update, context: ReelcartContext) -> None:
    """The merchant answered the prompt with a tracking number."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None and message.reply_to_message is not None
    found = re.search(r"#([1-9][0-9]{0,17})", message.reply_to_message.text or "")
    if found is None:
        await message.reply_text(t(user.language, "feed.stale"))
        return
    await _ship(context, message, user, int(found[1]), message.text or "")


async def _ship(
    context: ReelcartContext, message: Message, user: User, order_id: int, tracking: str
) -> None:
    lang = user.language
    try:
        order = await context.shop.orders.ship(user.id, order_id, tracking)
    except InvalidTracking:
        await message.reply_text(t(lang, "commerce.tracking_invalid"))
        return
    except NotAMerchant as exc:
        await message.reply_text(error_text(lang, exc))
        return
    except OrderNotFound:
        await message.reply_text(
            t(lang, "commerce.merchant_order_not_found", number=f"#{order_id}")
        )
        return
    except OrderNotShippable as exc:
        await message.reply_text(error_text(lang, exc))
        return
    tracking_text = html.escape(order.tracking or "")
    await message.reply_text(
        t(lang, "commerce.shipped_merchant", number=order.number, tracking=tracking_text),
        parse_mode=HTML,
    )
    await outbox(context).fulfilment.shipped(order)


async def preparation_clip(update: Update, context: ReelcartContext) -> None:
    """A merchant's video captioned with an order number: the order's preparation clip."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None and message.video is not None
    match = re.match(CLIP_CAPTION, message.caption or "")
    assert match is not None
    order_id = int(match[1])
    video = message.video
    try:
        order = await context.shop.orders.add_preparation_clip(
            user.id, order_id, video.file_id, _in_seconds(video.duration), video.width, video.height
        )
    except (NotAMerchant, OrderNotFound):
        await message.reply_text(
            t(user.language, "commerce.clip_not_merchant", number=f"#{order_id}")
        )
        return
    await outbox(context).fulfilment.share_preparation_clip(order, video.file_id)
    key = "commerce.clip_saved_shared" if order.clip_consent else "commerce.clip_saved_private"
    await message.reply_text(t(user.language, key, number=order.number))


def _in_seconds(duration: object) -> int | None:
    seconds = getattr(duration, "total_seconds", None)
    if callable(seconds):
        return int(seconds())
    return int(duration) if isinstance(duration, int | float) else None
