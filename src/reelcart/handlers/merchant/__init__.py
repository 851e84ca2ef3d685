"""Merchants in the chat: /merchant to apply, /upload a catalog, a video to attach a clip,
/products to manage the catalog, /stats with a chart; and restock alerts to shoppers.

Typed answers (a shop name, a price, ...) are awaited through ``kit.prompts``; any command
drops the open question. Callback data: ``kit.callbacks.MERCHANT``.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from reelcart.handlers.kit import prompts
from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.handlers.merchant import answers, onboarding, products, restock, stats, upload


def register(application: ReelcartApplication) -> None:
    """Add the merchant's handlers, in this order, and the restock alerts' jobs."""
    private = filters.ChatType.PRIVATE
    # Group -3: any command drops an open question (the merchant's or the admin's);
    # -2: typed answers to merchant questions.
    application.add_handler(
        MessageHandler(filters.COMMAND & private, prompts.drop_prompt), group=-3
    )
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & ~filters.REPLY & private, answers.typed_answer
        ),
        group=-2,
    )
    application.add_handler(CommandHandler("merchant", onboarding.merchant_command))
    application.add_handler(CommandHandler("upload", upload.upload_command))
    application.add_handler(CommandHandler("products", products.products_command))
    application.add_handler(CommandHandler("stats", stats.stats_command))
    application.add_handler(CommandHandler("cancel", prompts.cancel_command))
    application.add_handler(
        MessageHandler(filters.Document.ALL & private, upload.document_received)
    )
    application.add_handler(MessageHandler(filters.VIDEO & private, upload.video_received))
    application.add_handler(CallbackQueryHandler(products.merchant_button, pattern=r"^mer:"))
    if application.job_queue is not None:
        # Scheduled before the shop opens (slow): however late the job queue starts, run it.
        application.job_queue.run_once(
            restock.settle_restock_alerts,
            1.0,
            name="restock-settle",
            job_kwargs={"misfire_grace_time": None},
        )
        application.job_queue.run_repeating(
            restock.deliver_restock_alerts,
            interval=restock.RESTOCK_EVERY,
            first=restock.RESTOCK_EVERY,
            name="restock-alerts",
        )
