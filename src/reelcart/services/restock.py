"""Restock alerts: shoppers who liked a product that sold out are told, once, when it is
back in stock, through the ``Messenger`` and by the shared retry rule (``services.sending``).

Alerts are claimed one at a time (``sending`` before the send), so a crash leaves at most
one whose fate is unknown; it is never sent again (see ``storage.outbox``).
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable

from reelcart.domain import Language, RestockAlert
from reelcart.i18n import format_price, t
from reelcart.services.merchants import MerchantService
from reelcart.services.messenger import Button, Keyboard, Messenger, Outcome
from reelcart.services.sending import Pacer, delivery_state, send_patiently

log = logging.getLogger(__name__)

#: Restock alerts per second: under Telegram's ~30 messages per second, room for the feed.
RESTOCK_RATE = 20.0


def open_product_data(product_id: int) -> str:
    """The feed's "open this product" button (``p:<product>``, parsed by
    ``handlers.feed.render.parse_product_data``)."""
    return f"p:{product_id}"


def alert_message(alert: RestockAlert) -> tuple[str, Keyboard]:
    """The alert in the shopper's language, with a button opening the product."""
    lang = Language(alert.language) if alert.language in ("en", "fr") else Language.EN
    product = alert.product
    text = t(
        lang,
        "restock.text",
        title=html.escape(product.title),
        price=format_price(product.price, lang),
    )
    return text, [[Button(t(lang, "restock.open"), open_product_data(product.id))]]


class RestockAlerts:
    """Delivers due restock alerts, one run at a time: a 429's wait holds every alert, and
    the start-up settling never takes the alert a run is sending for one a stop cut short."""

    def __init__(
        self, merchants: MerchantService, messenger: Messenger, rate: float = RESTOCK_RATE
    ) -> None:
        self.merchants = merchants
        self.messenger = messenger
        self.rate = rate
        self._turn = asyncio.Lock()

    async def settle(self) -> int:
        """At start-up: alerts a previous run was sending are not sent again (they become
        ``unknown``); returns how many."""
        async with self._turn:
            settled = await self.merchants.settle_interrupted_alerts()
        if settled:
            log.warning(
                "%d restock alert(s) were being sent at the last stop: not sent again", settled
            )
        return settled

    async def deliver(self, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Send every due alert, each once; returns how many were sent. Stops when
        ``keep_going()`` turns False, leaving the rest (and one waiting out a 429) due."""
        sent = 0
        async with self._turn:
            pacer = Pacer(self.rate)
            while keep_going():
                alerts = await self.merchants.due_restock_alerts(limit=1)
                if not alerts:
                    break
                alert = alerts[0]
                outcome = await self._send(alert, pacer, keep_going)
                await self.merchants.restock_alert_sent(alert, delivery_state(outcome))
                sent += outcome.ok
        return sent

    async def _send(
        self, alert: RestockAlert, pacer: Pacer, keep_going: Callable[[], bool]
    ) -> Outcome:
        text, buttons = alert_message(alert)
        outcome = await send_patiently(
            lambda: self.messenger.send_text(alert.user_id, text, buttons=buttons),
            pacer,
            keep_going,
            what=f"restock alert to {alert.user_id}",
        )
        if not outcome.ok:
            log.info(
                "restock alert to %s: %s (%s)", alert.user_id, outcome.status.value, outcome.detail
            )
        return outcome
