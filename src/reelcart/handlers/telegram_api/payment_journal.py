"""Payments are written down before Telegram is told the bot has them.

Telegram forgets an update once the bot confirms it: in polling mode, python-telegram-bot
confirms a batch with its next ``getUpdates`` call, right after fetching it and before the
handlers have run; in webhook mode, answering the POST confirms it. A bot that dies in
between would lose a ``successful_payment`` for good, and the shopper's money would have
no order. So every ``successful_payment`` is journaled in SQLite on its way in:

- polling: ``PaymentJournalRequest`` wraps the ``getUpdates`` request and journals the
  payments of a batch before returning it to the updater (if journaling fails, the batch
  is not confirmed and Telegram sends it again);
- webhook: ``journal_update`` runs before the webhook answers.

On start (and every minute) the recovery job (``services.fulfilment``, scheduled by the
checkout handlers) makes orders from journaled payments that have none yet. Orders are
keyed by the payment's charge id, so this never doubles one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.handlers.telegram_api.transport import AiohttpRequest
from reelcart.services.orders import Payment

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput  # for the type checker only (see transport)

log = logging.getLogger(__name__)

PaymentSink = Callable[[list[Payment]], Awaitable[None]]
_MARK = b'"successful_payment"'


def payments_in(updates: Iterable[Any]) -> list[Payment]:
    """The successful payments among raw Bot API updates."""
    found = []
    for update in updates:
        message = update.get("message") if isinstance(update, Mapping) else None
        if isinstance(message, Mapping) and "successful_payment" in message:
            try:
                payment = Payment.from_message(message)
            except (KeyError, TypeError, ValueError):
                log.warning("could not read a successful_payment update", exc_info=True)
                continue
            if payment is not None:
                found.append(payment)
    return found


def sink_of(application: ReelcartApplication) -> PaymentSink:
    """Where journaled payments go: the open shop's order service."""

    async def sink(payments: list[Payment]) -> None:
        """Journal ``payments`` in the open shop."""
        shop = application.bot_data.shop
        if shop is None:
            raise RuntimeError("the shop is not open yet")
        await shop.orders.journal(payments)

    return sink


async def journal_update(application: ReelcartApplication, data: Mapping[str, Any]) -> None:
    """Journal the payment in one raw update (webhook mode), before it is acknowledged."""
    if "successful_payment" in (data.get("message") or {}):
        await sink_of(application)(payments_in([data]))


class PaymentJournalRequest(BaseRequest):
    """The ``getUpdates`` request, journaling successful payments before they are confirmed."""

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner
        self._sink: PaymentSink | None = None

    @classmethod
    def for_polling(cls, read_timeout: float) -> PaymentJournalRequest:
        """Like python-telegram-bot's own getUpdates request: one connection."""
        return cls(AiohttpRequest(connections=1, read_timeout=read_timeout))

    def bind(self, application: ReelcartApplication) -> None:
        """Journal into ``application``'s shop from now on."""
        self._sink = sink_of(application)

    @property
    def read_timeout(self) -> float | None:
        """The wrapped request's default read timeout."""
        return self._inner.read_timeout

    async def initialize(self) -> None:
        """Open the wrapped request's connection pool."""
        await self._inner.initialize()

    async def shutdown(self) -> None:
        """Close the wrapped request's connection pool."""
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make the request; journal the payments of a getUpdates answer first."""
        code, body = await self._inner.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if code == 200 and _MARK in body and url.endswith("/getUpdates"):
            await self._journal(body)
        return code, body

    async def _journal(self, body: bytes) -> None:
        try:
            result = json.loads(body).get("result") or []
            payments = payments_in(result)
            if payments:
                if self._sink is None:
                    raise RuntimeError("the payment journal is not bound to the shop")
                await self._sink(payments)
        except Exception as exc:
            # Not journaled, so not confirmed either: the updater retries the same batch.
            log.error("could not journal payments; getUpdates will be retried", exc_info=True)
            raise NetworkError("could not journal successful payments") from exc
