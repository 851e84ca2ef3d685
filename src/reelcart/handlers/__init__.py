"""Telegram handlers: the only package (with bot.py) that imports ``telegram``.

One package per feature, each exposing ``register(application)``: ``feed`` (the shopper's
cards, /start, /search, /lang, sharing), ``checkout`` (invoices, basket, payments, orders,
sales, refunds), ``merchant``, ``admin``, and ``support`` (/help, /mydata, /forget, and
the catch-alls). What they share is in ``kit``; the Bot API transport and the payment
journal are in ``telegram_api``.
"""

from __future__ import annotations

from reelcart.handlers import admin, checkout, feed, merchant, support
from reelcart.handlers.kit import errors
from reelcart.handlers.kit.context import ReelcartApplication


def register_all(application: ReelcartApplication) -> None:
    """Add every handler. Note: order matters (within a group the first handler that takes
    an update wins): the catch-alls come last."""
    feed.register(application)
    # Its refunds screens come before the /admin panel's handlers: ``adm:refunds`` is theirs.
    checkout.register(application)
    merchant.register(application)
    admin.register(application)
    support.register(application)
    errors.register(application)
    support.register_fallbacks(application)
