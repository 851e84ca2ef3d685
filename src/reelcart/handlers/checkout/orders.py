"""The shopper's orders: /orders, /orders 12, and the buttons under an order or receipt."""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import Language, Order, OrderNotFound
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.text import cut
from reelcart.i18n import format_price, t
from reelcart.services.receipts import order_details, parse_order_data, show_data, status_label

log = logging.getLogger(__name__)

HTML = ParseMode.HTML
_ORDER_NUMBER = re.compile(r"^#?([1-9][0-9]{0,17})$")


def order_number(text: str) -> int | None:
    """The order number typed as ``12`` or ``#12``; None for anything else."""
    match = _ORDER_NUMBER.match(text)
    return int(match[1]) if match else None


def _orders_keyboard(orders: list[Order], language: Language) -> InlineKeyboardMarkup:
    rows = []
    for order in orders:
        title = order.lines[0].title if order.lines else "?"
        if len(order.lines) > 1:
            title = f"{title} +{len(order.lines) - 1}"
        label = t(
            language,
            "commerce.orders_button",
            number=order.number,
            title=cut(title, 24),
            total=format_price(order.total, language),
            status=status_label(order, language),
        )
        rows.append([InlineKeyboardButton(label, callback_data=show_data(order.id))])
    return InlineKeyboardMarkup(rows)


async def orders_command(update: Update, context: ReelcartContext) -> None:
    """/orders lists the shopper's orders; /orders 12 shows order #12 if it is theirs."""
    user = await shopper(update, context)
    assert update.message is not None
    lang = user.language
    orders = context.shop.orders
    if context.args:
        number = order_number(context.args[0])
        if number is None:
            text = cut(" ".join(context.args), 40)
            await update.message.reply_text(t(lang, "commerce.order_number_invalid", text=text))
            return
        try:
            order = await orders.order_of_shopper(user.id, number)
        except OrderNotFound:
            await update.message.reply_text(t(lang, "commerce.order_not_found"))
            return
        await update.message.reply_text(order_details(order, lang), parse_mode=HTML)
        return
    mine = await orders.orders_of(user.id)
    if not mine:
        await update.message.reply_text(t(lang, "commerce.orders_empty"))
        return
    await update.message.reply_text(
        t(lang, "commerce.orders_header"), reply_markup=_orders_keyboard(mine, lang)
    )


async def order_button(update: Update, context: ReelcartContext) -> None:
    """An order in /orders (details), or the consent buttons under a receipt."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    button = parse_order_data(query.data)
    if button is None:
        await query.answer(t(lang, "feed.stale"))
        return
    orders = context.shop.orders
    try:
        consent = button.consent
        if consent is None:
            order = await orders.order_of_shopper(user.id, button.order_id)
            await query.answer()
            await context.bot.send_message(user.id, order_details(order, lang), parse_mode=HTML)
            return
        order = await orders.set_clip_consent(user.id, button.order_id, consent)
    except OrderNotFound:
        await query.answer(t(lang, "commerce.order_not_found"), show_alert=True)
        return
    key = "commerce.consent_yes" if consent else "commerce.consent_no"
    await query.answer(t(lang, key, number=order.number))
    message = query.message
    if isinstance(message, Message):
        try:
            await message.edit_reply_markup(None)
        except BadRequest as exc:
            log.info("could not remove the consent buttons: %s", exc)
