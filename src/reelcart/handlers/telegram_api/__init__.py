"""The bot's side of the Bot API, below the handlers: the HTTP transport (``transport``)
and the payment journal at the request layer (``payment_journal``). Only ``bot.py``
builds them."""
