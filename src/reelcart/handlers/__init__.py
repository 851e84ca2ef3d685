"""Telegram handlers: the only package (with bot.py) that imports ``telegram``.

Each module is one feature exposing ``register(application)``; ``register_all`` adds them
in order.
"""

from __future__ import annotations

from reelcart.handlers import (
    admin,
    admin_refunds,
    commerce,
    discover,
    feed,
    help,
    inline,
    language,
    merchant,
    privacy,
    start,
)
from reelcart.handlers.kit import errors
from reelcart.handlers.kit.context import ReelcartApplication


def register_all(application: ReelcartApplication) -> None:
    """Add every handler. Note: order matters, the catch-alls come last."""
    start.register(application)
    feed.register(application)
    discover.register(application)
    language.register(application)
    inline.register(application)
    commerce.register(application)
    # Before the /admin panel's handlers: the ``adm:refunds`` buttons are commerce's.
    admin_refunds.register(application)
    merchant.register(application)
    admin.register(application)
    privacy.register(application)
    help.register(application)
    errors.register(application)
    help.register_fallbacks(application)
