"""Admins refund Telegram Stars payments: everything behind the /admin panel's
``adm:refunds`` button.

Callback data (``kit.callbacks.refunds_data``): ``adm:refunds`` (the refundable Stars
orders), ``adm:refunds:o:<order>`` (confirm one), ``adm:refunds:y:<order>`` (refund it
with ``refundStarPayment``, record it and write it in the audit log); their ⬅️ Back is
the panel's ``adm:menu``. Only ids in ``REELCART_ADMIN_IDS`` may use them; anyone else
gets a polite no and nothing changes. Registered before the admin panel's own handlers
so this pattern wins.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import Language, Order, OrderNotFound, OrderStatus
from reelcart.handlers.kit.callbacks import ADMIN_MENU, parse_refunds_data, refunds_data
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.messenger import outbox
from reelcart.i18n import format_price, t
from reelcart.services import receipts
from reelcart.services.messenger import Status
from reelcart.services.shop import Shop

log = logging.getLogger(__name__)


async def _buyer(shop: Shop, order: Order) -> str:
    user = await shop.feed.user(order.user_id)
    return user.first_name if user and user.first_name else str(order.user_id)


async def _listing(shop: Shop, lang: Language) -> tuple[str, InlineKeyboardMarkup]:
    orders = await shop.orders.refundable_star_orders()
    back = [InlineKeyboardButton(t(lang, "commerce.btn_back"), callback_data=ADMIN_MENU)]
    if not orders:
        return t(lang, "commerce.refunds_empty"), InlineKeyboardMarkup([back])
    rows = []
    for order in orders:
        label = t(
            lang,
            "commerce.refunds_button",
            number=order.number,
            total=format_price(order.total, lang),
            buyer=await _buyer(shop, order),
        )
        rows.append([InlineKeyboardButton(label[:64], callback_data=refunds_data("o", order.id))])
    rows.append(back)
    return t(lang, "commerce.refunds_header"), InlineKeyboardMarkup(rows)


async def _show(
    update: Update, context: ReelcartContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the panel message in place when it is text; otherwise send a new message."""
    query = update.callback_query
    assert query is not None
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            log.info("could not edit the refunds panel: %s", exc)
    chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def refunds_button(update: Update, context: ReelcartContext) -> None:
    """The refunds screens of the admin panel (admins only), one press at a time per person
    (the admin panel's own lock): a double tap on Refund finds the order refunded already."""
    assert update.effective_user is not None
    async with context.bot_data.turns[update.effective_user.id]:
        await _refunds_button(update, context)


async def _refunds_button(update: Update, context: ReelcartContext) -> None:
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    shop = context.shop
    if user.id not in shop.settings.admin_ids:
        log.warning("user %s pressed an admin refund button", user.id)
        await query.answer(t(lang, "commerce.admin_only"), show_alert=True)
        return
    button = parse_refunds_data(query.data)
    if button is None:
        await query.answer(t(lang, "feed.stale"))
        return
    if button.step is None or button.order_id is None:
        await query.answer()
        await _show(update, context, *await _listing(shop, lang))
        return
    try:
        order = await shop.orders.order(button.order_id)
    except OrderNotFound:
        order = None
    if order is None or not order.paid_in_stars:
        await query.answer(t(lang, "feed.stale"))
        return
    total = format_price(order.total, lang)
    if order.status is OrderStatus.REFUNDED:
        await query.answer(t(lang, "commerce.refund_already", number=order.number), show_alert=True)
        await _show(update, context, *await _listing(shop, lang))
        return
    buyer = await _buyer(shop, order)
    if button.step == "o":
        await query.answer()
        text = t(
            lang,
            "commerce.refund_confirm",
            total=total,
            buyer=html.escape(buyer),
            number=order.number,
            merchant=html.escape(order.merchant_name or "?"),
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(lang, "commerce.btn_refund_yes", total=total),
                        callback_data=refunds_data("y", order.id),
                    )
                ],
                [InlineKeyboardButton(t(lang, "commerce.btn_back"), callback_data=refunds_data())],
            ]
        )
        await _show(update, context, text, markup)
        return
    refund = await outbox(context).fulfilment.refund(order, by=user.id)
    if refund.outcome.status is Status.FAILED:  # Telegram refused: say why
        await query.answer(
            t(lang, "commerce.refund_failed", number=order.number, reason=refund.outcome.detail),
            show_alert=True,
        )
        return
    refunded = refund.order
    if refunded.status is not OrderStatus.REFUNDED:
        await query.answer(
            t(lang, "commerce.refund_failed", number=order.number, reason="network"),
            show_alert=True,
        )
        return
    log.info("admin %s refunded order %s", user.id, order.number)
    await shop.admin.record_refund(user.id, refunded)
    await query.answer(
        t(lang, "commerce.refund_done", number=order.number, total=total, buyer=buyer),
        show_alert=True,
    )
    await outbox(context).notices.tell(order.user_id, lambda lang: receipts.refunded(order, lang))
    await _show(update, context, *await _listing(shop, lang))
