"""Telegram Payments: shipping options, the pre-checkout answer, successful payments
(handed to ``services.fulfilment``, which makes the order once and sends the receipts and
notices), refunded payments, and the recovery job that finishes what a crash interrupted.
"""

from __future__ import annotations

import logging

from telegram import LabeledPrice, ShippingOption, Update

from reelcart.domain import Language, ReelcartError
from reelcart.handlers.kit.context import ReelcartContext
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.messenger import outbox
from reelcart.i18n import t
from reelcart.services import notices
from reelcart.services.orders import Payment
from reelcart.services.receipts import option_title
from reelcart.services.shop import Shop

log = logging.getLogger(__name__)


async def language_of_user(shop: Shop, user_id: int) -> Language:
    """The language a user chose (or Telegram's), English for strangers."""
    return await notices.language_of_user(shop.feed, user_id)


async def shipping_query(update: Update, context: ReelcartContext) -> None:
    """Offer the merchant's shipping options for the invoice's currency."""
    query = update.shipping_query
    assert query is not None
    shop = context.shop
    try:
        rates = await shop.orders.shipping_options(query.from_user.id, query.invoice_payload)
    except ReelcartError as exc:
        lang = await language_of_user(shop, query.from_user.id)
        await query.answer(ok=False, error_message=error_text(lang, exc))
        return
    lang = await language_of_user(shop, query.from_user.id)
    options = []
    for rate in rates:
        title = option_title(lang, rate.option_id, rate.title)
        options.append(
            ShippingOption(rate.option_id, title, [LabeledPrice(title, rate.amount_minor)])
        )
    await query.answer(ok=True, shipping_options=options)


async def pre_checkout(update: Update, context: ReelcartContext) -> None:
    """Re-check the invoice (signature, price, stock, still sold) and answer at once."""
    query = update.pre_checkout_query
    assert query is not None
    shop = context.shop
    try:
        await shop.orders.pre_checkout(
            query.from_user.id,
            query.invoice_payload,
            query.currency,
            query.total_amount,
            query.shipping_option_id,
        )
    except ReelcartError as exc:
        lang = await language_of_user(shop, query.from_user.id)
        log.info("pre-checkout of user %s declined: %s", query.from_user.id, exc.message_key)
        await query.answer(ok=False, error_message=error_text(lang, exc))
        return
    except Exception:
        # Never leave Telegram waiting: decline, then let the error handler log it.
        await query.answer(ok=False, error_message=t(Language.EN, "error.generic"))
        raise
    await query.answer(ok=True)


async def successful_payment(update: Update, context: ReelcartContext) -> None:
    """Money moved: the fulfilment service makes its order (once) and tells everyone."""
    message = update.effective_message
    assert message is not None
    payment = Payment.from_message(message.to_dict())
    if payment is None:
        return
    await outbox(context).fulfilment.take_payment(payment)


async def recover(context: ReelcartContext) -> None:
    """Job: finish what a crash interrupted (``Fulfilment.recover``). The first run (at
    start) takes everything; later runs leave the newest to the handlers working on them."""
    data = context.job.data if context.job else None
    grace = float(data) if isinstance(data, int | float) else 0.0
    await outbox(context).fulfilment.recover(grace)


async def refunded_payment(update: Update, context: ReelcartContext) -> None:
    """Telegram's note that Stars went back: the order already says so; nothing to answer."""
