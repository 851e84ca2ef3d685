"""Buying in the chat: invoices and the basket, Telegram Payments (shipping, pre-checkout,
successful and refunded payments), the shopper's /orders, the merchant's /sales (shipping,
preparation clips), and the admins' Stars refunds behind the /admin panel.

The order buttons' codec is ``services.receipts`` (the services send them too); the
basket's and the refunds' are in ``kit.callbacks``.
"""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    ShippingQueryHandler,
    filters,
)

from reelcart.handlers.checkout import basket, orders, payments, refunds, sales
from reelcart.handlers.kit.callbacks import REFUNDS_PATTERN
from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.services.orders import RECOVERY_GRACE_S


def register(application: ReelcartApplication) -> None:
    """Add the checkout's handlers (before the catch-alls), its recovery jobs, then the
    refunds screens (before the /admin panel's handlers: ``adm:refunds`` is theirs)."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("basket", basket.basket_command))
    application.add_handler(CommandHandler("orders", orders.orders_command))
    application.add_handler(CommandHandler("sales", sales.sales_command))
    application.add_handler(CallbackQueryHandler(basket.basket_button, pattern=r"^bk:"))
    application.add_handler(CallbackQueryHandler(orders.order_button, pattern=r"^or:"))
    application.add_handler(CallbackQueryHandler(sales.ship_button, pattern=r"^sl:"))
    application.add_handler(ShippingQueryHandler(payments.shipping_query))
    application.add_handler(PreCheckoutQueryHandler(payments.pre_checkout))
    application.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, payments.successful_payment))
    application.add_handler(
        MessageHandler(filters.StatusUpdate.REFUNDED_PAYMENT, payments.refunded_payment)
    )
    application.add_handler(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & sales.TrackingReply(), sales.tracking_reply
        )
    )
    application.add_handler(
        MessageHandler(
            private & filters.VIDEO & filters.CaptionRegex(sales.CLIP_CAPTION),
            sales.preparation_clip,
        )
    )
    jobs = application.job_queue
    if jobs is not None:
        # At start: everything a crash left unfinished; then every minute, what is stuck.
        # The start run is scheduled now but runs once the application starts, however
        # long opening the shop took: never skip it as "missed".
        jobs.run_once(
            payments.recover,
            when=0.5,
            data=0.0,
            name="orders-recover-start",
            job_kwargs={"misfire_grace_time": None},
        )
        jobs.run_repeating(
            payments.recover, interval=60, first=60, data=RECOVERY_GRACE_S, name="orders-recover"
        )
    application.add_handler(CallbackQueryHandler(refunds.refunds_button, pattern=REFUNDS_PATTERN))
