"""🛒 on a card and the invoices: one product, or a basket's worth from one merchant."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update
from telegram.error import BadRequest

from reelcart.domain import Language, Product, ProductNotFound, ReelcartError, User
from reelcart.handlers.kit.callbacks import basket_data
from reelcart.handlers.kit.context import ReelcartContext
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.text import cut
from reelcart.i18n import format_price, t
from reelcart.services.orders import Checkout, CheckoutLine

log = logging.getLogger(__name__)


def _line_label(line: CheckoutLine) -> str:
    return line.title if line.quantity == 1 else f"{line.title} ×{line.quantity}"


async def buy_product(
    update: Update, context: ReelcartContext, user: User, product: Product
) -> None:
    """🛒 on a card: send the product's invoice (or say plainly why it can't be paid here)."""
    query = update.callback_query
    assert query is not None
    lang = user.language
    try:
        checkout = await context.shop.orders.checkout_product(user.id, product.id)
    except ProductNotFound:
        await query.answer(t(lang, "feed.card_unavailable"), show_alert=True)
        return
    except ReelcartError as exc:
        await query.answer(error_text(lang, exc), show_alert=True)
        return
    chat_id = update.effective_chat.id if update.effective_chat else user.id
    if await send_invoice(context, chat_id, lang, checkout, product_id=product.id):
        await query.answer(t(lang, "commerce.invoice_sent"))
    else:
        await query.answer(t(lang, "commerce.invoice_failed"), show_alert=True)


async def send_invoice(
    context: ReelcartContext,
    chat_id: int,
    language: Language,
    checkout: Checkout,
    product_id: int | None = None,
) -> bool:
    """Send the invoice of ``checkout``; False if Telegram refuses it (e.g. the amount)."""
    lines = checkout.lines
    count = sum(line.quantity for line in lines)
    if len(lines) == 1 and lines[0].quantity == 1:
        title = cut(lines[0].title, 32)
        description = checkout.description.strip() or lines[0].title
    else:
        title = cut(
            t(language, "commerce.basket_title", merchant=checkout.merchant_name, count=count), 32
        )
        items = ", ".join(_line_label(line) for line in lines)
        description = t(
            language, "commerce.basket_description", merchant=checkout.merchant_name, items=items
        )
    if checkout.catalog_total is not None:
        note = t(
            language,
            "commerce.stars_description",
            description="",
            stars=format_price(checkout.total, language),
            price=format_price(checkout.catalog_total, language),
        ).strip()
        description = f"{cut(description, 255 - len(note) - 1)} {note}"
    description = cut(description, 255)
    if checkout.currency == "XTR":
        label = (
            _line_label(lines[0])
            if len(lines) == 1
            else t(language, "commerce.stars_items", count=count)
        )
        prices = [LabeledPrice(cut(label, 64), checkout.total.minor)]
    else:
        prices = [LabeledPrice(cut(_line_label(line), 64), line.amount.minor) for line in lines]
    buttons = [
        [
            InlineKeyboardButton(
                t(language, "commerce.btn_pay", total=format_price(checkout.total, language)),
                pay=True,
            )
        ]
    ]
    if product_id is not None:
        buttons.append(
            [
                InlineKeyboardButton(
                    t(language, "commerce.btn_basket_add"),
                    callback_data=basket_data("add", product_id),
                )
            ]
        )
    physical = checkout.physical
    try:
        await context.bot.send_invoice(
            chat_id,
            title,
            description,
            checkout.payload,
            checkout.currency,
            prices,
            provider_token=context.shop.settings.payment_provider_token if physical else None,
            need_name=physical or None,
            need_shipping_address=physical or None,
            is_flexible=physical or None,
            reply_markup=InlineKeyboardMarkup(buttons),
        )
    except BadRequest as exc:
        log.warning("Telegram refused the invoice of draft %s: %s", checkout.draft_id, exc)
        return False
    return True
