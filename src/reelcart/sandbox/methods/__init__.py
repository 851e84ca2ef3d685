"""Bot API method handlers; importing this package registers them all."""

from reelcart.sandbox.methods import bot, messages, payments, polling, queries

__all__ = ["bot", "messages", "payments", "polling", "queries"]
