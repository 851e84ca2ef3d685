"""The basket: /basket, and its buttons (add from an invoice, remove, empty, pay).

Callback data, strictly parsed: ``bk:add:<product>`` / ``bk:rm:<product>`` / ``bk:pay`` /
``bk:clear`` (``basket_data``, ``parse_basket_data``).
"""

from __future__ import annotations

import html
import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import Language, Money, ProductKind, ProductNotFound, ReelcartError
from reelcart.handlers.checkout.invoices import send_invoice
from reelcart.handlers.kit.callbacks import basket_data, parse_basket_data
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.text import cut
from reelcart.i18n import format_price, t
from reelcart.services.orders import BasketView, charge_price

log = logging.getLogger(__name__)

HTML = ParseMode.HTML


def basket_message(view: BasketView, language: Language) -> tuple[str, InlineKeyboardMarkup | None]:
    """The basket as a message: one line per product, pay / remove / empty buttons."""
    if not view.items:
        return t(language, "commerce.basket_empty"), None
    rows = [t(language, "commerce.basket_header", merchant=html.escape(view.merchant_name))]
    buttons = []
    for product, quantity in view.items:
        try:
            unit = charge_price(product)
        except ReelcartError:
            unit = product.price
        rows.append(
            t(
                language,
                "commerce.basket_line",
                title=html.escape(product.title),
                quantity=quantity,
                price=format_price(Money(unit.minor * quantity, unit.currency), language),
            )
        )
        buttons.append(
            [
                InlineKeyboardButton(
                    cut(t(language, "commerce.btn_basket_remove", title=product.title), 40),
                    callback_data=basket_data("rm", product.id),
                )
            ]
        )
    if view.total is not None:
        physical = view.items[0][0].kind is ProductKind.PHYSICAL
        key = "commerce.basket_total_shipping" if physical else "commerce.basket_total"
        total = format_price(view.total, language)
        rows.append(t(language, key, total=total))
        buttons.insert(
            0,
            [
                InlineKeyboardButton(
                    t(language, "commerce.btn_basket_pay", total=total),
                    callback_data=basket_data("pay"),
                )
            ],
        )
    clear = InlineKeyboardButton(
        t(language, "commerce.btn_basket_clear"), callback_data=basket_data("clear")
    )
    buttons.append([clear])
    return "\n".join(rows), InlineKeyboardMarkup(buttons)


async def basket_command(update: Update, context: ReelcartContext) -> None:
    """/basket: what the shopper gathered, with one button to pay it all."""
    user = await shopper(update, context)
    assert update.message is not None
    view = await context.shop.orders.basket(user.id)
    text, markup = basket_message(view, user.language)
    await update.message.reply_text(text, parse_mode=HTML, reply_markup=markup)


async def basket_button(update: Update, context: ReelcartContext) -> None:
    """Add to the basket (from an invoice), remove, empty, or pay it."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    button = parse_basket_data(query.data)
    if button is None:
        await query.answer(t(lang, "feed.stale"))
        return
    action = button.action
    orders = context.shop.orders
    try:
        if action == "add":
            view = await orders.add_to_basket(user.id, button.product_id)
            await query.answer(
                t(lang, "commerce.basket_added", count=view.count, merchant=view.merchant_name),
                show_alert=True,
            )
        elif action == "pay":
            checkout = await orders.checkout_basket(user.id)
            chat_id = update.effective_chat.id if update.effective_chat else user.id
            if await send_invoice(context, chat_id, lang, checkout):
                await query.answer(t(lang, "commerce.invoice_sent"))
            else:
                await query.answer(t(lang, "commerce.invoice_failed"), show_alert=True)
        else:
            if action == "rm":
                view = await orders.remove_from_basket(user.id, button.product_id)
                note = t(lang, "commerce.basket_removed")
            else:
                await orders.empty_basket(user.id)
                view = BasketView((), None)
                note = t(lang, "commerce.basket_cleared")
            await query.answer(note)
            await _redraw_basket(query, view, lang)
    except ProductNotFound:
        await query.answer(t(lang, "feed.card_unavailable"), show_alert=True)
    except ReelcartError as exc:
        await query.answer(error_text(lang, exc), show_alert=True)


async def _redraw_basket(query: CallbackQuery, view: BasketView, lang: Language) -> None:
    text, markup = basket_message(view, lang)
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, parse_mode=HTML, reply_markup=markup)
        except BadRequest as exc:
            log.info("could not redraw the basket: %s", exc)
