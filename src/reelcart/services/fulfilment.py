"""Fulfilment: everything a payment owes once the money moved, sent through the
``Messenger``, and the recovery that finishes it after a crash.

The payment handler hands over each successful payment (``take_payment``); the recovery
job (``recover``, at start-up and every minute) finds what a crash left unfinished.

Crash points: ``crash`` is called with the name of each moment of a payment
(``CRASH_POINTS``, in order); the crash-recovery tests give one that kills the process at
the named moment, as a power cut would. Everywhere else it does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from reelcart.domain import Delivery, Order, OrderStatus
from reelcart.i18n import t
from reelcart.services import receipts
from reelcart.services.feed import FeedService
from reelcart.services.messenger import Keyboard, Media, MediaKind, Messenger, Outcome, Status
from reelcart.services.notices import language_of_user
from reelcart.services.orders import OrderService, Payment
from reelcart.services.sending import delivery_state

log = logging.getLogger(__name__)

CRASH_BEFORE_ORDER_WRITE = "before_order_write"
CRASH_AFTER_ORDER_WRITE = "after_order_write"
CRASH_AFTER_RECEIPT_SEND = "after_receipt_send"
CRASH_AFTER_RECEIPT_RECORDED = "after_receipt_recorded"
CRASH_AFTER_MERCHANT_NOTICE = "after_merchant_notice"
#: The moments of a payment, in order.
CRASH_POINTS = (
    CRASH_BEFORE_ORDER_WRITE,
    CRASH_AFTER_ORDER_WRITE,
    CRASH_AFTER_RECEIPT_SEND,
    CRASH_AFTER_RECEIPT_RECORDED,
    CRASH_AFTER_MERCHANT_NOTICE,
)
#: Called at each moment of a payment with its name; may end the process there.
Crash = Callable[[str], None]


def never_crash(point: str) -> None:
    """No crash point armed: carry on."""


@dataclass(frozen=True)
class Refund:
    """A Stars refund: the order as it stands after, and how Telegram answered."""

    order: Order
    outcome: Outcome


class Fulfilment:
    """Orders, automatic refunds, receipts and the merchant's notices, for every payment.

    What a payment promises, wherever the bot dies (each moment is crash-tested):

    - exactly one order per Telegram charge: the payment is journaled before Telegram
      counts it received, and orders are keyed by the charge id;
    - at most one receipt, missing only when the one request that sends it went out and
      no answer came back (the bot died meanwhile, or the connection dropped). The Bot
      API has no idempotency key, so "sent" cannot be written in the same step as the
      send: the receipt is marked ``sending`` just before the request and settled just
      after. A receipt the recovery finds ``sending`` may have arrived, so it is not sent
      again (``unknown``). An outcome that certainly kept it from the shopper
      (RETRY_LATER: a 429, Telegram's 5xx, no connection) leaves it ``pending``, sent by
      the next recovery run; a crash before the mark leaves it ``pending`` too. At most
      once because a second receipt reads as a second charge, while a missing one is
      recoverable: the chat shows Telegram's own payment message, and /orders the order;
    - at least one notice to the merchant (and, for a payment that needs attention, the
      admins): it is recorded after it is sent, so a crash in between tells them twice (a
      missed order costs more than a repeated one).
    """

    def __init__(
        self,
        orders: OrderService,
        feed: FeedService,
        admin_ids: frozenset[int],
        messenger: Messenger,
        crash: Crash = never_crash,
    ) -> None:
        self.orders = orders
        self.feed = feed
        self.admin_ids = admin_ids
        self.messenger = messenger
        self.crash = crash

    async def take_payment(self, payment: Payment) -> Order:
        """Money moved: journal the payment, make its order (once), then ``deliver`` it;
        returns the order as recorded. A payment delivered again finds its order and owes
        nothing new."""
        orders = self.orders
        await orders.journal([payment])
        self.crash(CRASH_BEFORE_ORDER_WRITE)
        recorded = await orders.record_payment(payment)
        self.crash(CRASH_AFTER_ORDER_WRITE)
        if not recorded.created:
            log.info(
                "payment %s delivered again: order %s exists",
                payment.charge_id,
                recorded.order.number,
            )
        await self.deliver(recorded.order)
        return recorded.order

    async def recover(self, grace: float = 0.0) -> None:
        """Finish what a crash interrupted: orders for journaled payments, then every
        receipt, notice and automatic refund still owed. ``grace`` seconds: leave the
        newest to the handlers working on them (0 at start-up: take everything)."""
        orders = self.orders
        for payment in await orders.unprocessed_payments(grace):
            log.warning(
                "making the order of payment %s, journaled before a stop", payment.charge_id
            )
            recorded = await orders.record_payment(payment)
            await self.deliver(recorded.order)
        for order in await orders.undelivered(grace):
            await self.deliver(order)

    async def deliver(self, order: Order) -> None:
        """Everything an order still owes, in order: the automatic refund, the shopper's
        receipt, the merchant's (and for problems the admins') notice. Each step is
        recorded, so it can run again at any point; one run per order at a time."""
        orders = self.orders
        if not orders.claim(order.id):
            return
        try:
            # Fresh from the database: another run may have finished since it was read.
            order = await orders.order(order.id)
            refunded_now = False
            if order.status is OrderStatus.REFUND_PENDING:
                refund = await self.refund(order, by=None)
                if refund.outcome.status is Status.FAILED:
                    log.error("automatic refund of order %s refused; retried later", order.number)
                order = refund.order
                refunded_now = order.status is OrderStatus.REFUNDED
            if not order.receipt_sent:
                await self._send_receipt(order)
            elif refunded_now:  # they were told "refund under way" earlier: now it is done
                lang = await language_of_user(self.feed, order.user_id)
                await self._notify(order.user_id, receipts.refunded(order, lang))
            if not order.merchant_notified and await self._tell_merchant(order):
                self.crash(CRASH_AFTER_MERCHANT_NOTICE)
                await orders.merchant_notified(order.id)
        finally:
            orders.release(order.id)

    async def refund(self, order: Order, by: int | None) -> Refund:
        """Give a Stars order's money back (``by``: the admin; None: automatic) and record
        it. The order comes back refunded, or unchanged when Telegram refused (FAILED, its
        reason in ``outcome.detail``) or did not answer (the next recovery run retries)."""
        outcome = await self.messenger.refund_stars(order.user_id, order.charge_id)
        if outcome.status is Status.FAILED:
            log.warning("refund of order %s refused: %s", order.number, outcome.detail)
            return Refund(order, outcome)
        if not outcome.ok:
            log.warning("refund of order %s failed, will retry: %s", order.number, outcome.detail)
            return Refund(order, outcome)
        log.info("order %s refunded (%s Stars)", order.number, order.total.minor)
        return Refund(await self.orders.mark_refunded(order.id, by), outcome)

    async def shipped(self, order: Order) -> None:
        """Tell the shopper their order is on its way, with its tracking number."""
        lang = await language_of_user(self.feed, order.user_id)
        await self._notify(order.user_id, receipts.shipped(order, lang))

    async def share_preparation_clip(self, order: Order, file_id: str) -> Outcome:
        """Send the shopper the clip the merchant made of their order being prepared."""
        lang = await language_of_user(self.feed, order.user_id)
        caption = t(lang, "commerce.clip_for_shopper", number=order.number)
        outcome = await self.messenger.send_media(
            order.user_id, Media(MediaKind.VIDEO, file_id), caption=caption, html=False
        )
        if not outcome.ok:
            log.info("could not send the preparation clip of %s: %s", order.number, outcome.detail)
        return outcome

    async def _send_receipt(self, order: Order) -> None:
        """The shopper's receipt (or the outcome of a problem payment), at most once."""
        lang = await language_of_user(self.feed, order.user_id)
        text, buttons = receipts.shopper_message(order, lang)  # all ready before the mark
        orders = self.orders
        state = await orders.begin_receipt(order.id)
        if state is Delivery.SENDING:
            log.warning(
                "order %s: its receipt was being sent when the bot stopped; it may have "
                "arrived, so it is not sent again",
                order.number,
            )
        if state is not Delivery.PENDING:
            return
        outcome = await self.messenger.send_text(order.user_id, text, buttons=buttons)
        _log_send(order.user_id, outcome)
        self.crash(CRASH_AFTER_RECEIPT_SEND)
        await orders.end_receipt(order.id, delivery_state(outcome))
        self.crash(CRASH_AFTER_RECEIPT_RECORDED)

    async def _notify(self, user_id: int, text: str, buttons: Keyboard = ()) -> bool:
        """Send a message that may come twice rather than never; False: send it again
        later (it did not arrive, or may not have)."""
        outcome = await self.messenger.send_text(user_id, text, buttons=buttons)
        _log_send(user_id, outcome)
        return outcome.status not in (Status.RETRY_LATER, Status.UNKNOWN)

    async def _tell_merchant(self, order: Order) -> bool:
        """The merchant's notice (for a problem payment, the admins' too); False if one of
        them has to be sent again later."""
        merchant = await self.orders.merchant(order.merchant_id)
        owner = merchant.owner_user_id if merchant else None
        if order.status is OrderStatus.NEEDS_ATTENTION:
            delivered = True
            if owner is not None:
                lang = await language_of_user(self.feed, owner)
                delivered &= await self._notify(owner, receipts.merchant_attention(order, lang))
            for admin in sorted(self.admin_ids - {owner}):
                lang = await language_of_user(self.feed, admin)
                delivered &= await self._notify(admin, receipts.admin_attention(order, lang))
            return delivered
        if order.status not in (OrderStatus.PAID, OrderStatus.SHIPPED) or owner is None:
            return True
        lang = await language_of_user(self.feed, owner)
        buyer = await self.feed.user(order.user_id)
        name = order.recipient or (buyer.first_name if buyer else "") or str(order.user_id)
        text, buttons = receipts.merchant_notice(order, lang, name)
        return await self._notify(owner, text, buttons)


def _log_send(user_id: int, outcome: Outcome) -> None:
    if not outcome.ok:
        level = logging.INFO if outcome.status is Status.BLOCKED else logging.WARNING
        log.log(level, "message to user %s: %s (%s)", user_id, outcome.status.value, outcome.detail)
