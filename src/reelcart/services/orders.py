"""Orders: the one service the bot holds for buying in the chat, and what shoppers and
merchants do with an order once it exists.

``OrderService`` knows nothing of Telegram. It is built from one service per concern and
offers their operations as its own, so the handlers, the fulfilment worker and the tests
hold a single object:

- ``services.pricing``: what a product costs in the chat (``charge_price``, Stars rates);
- ``services.invoices``: the signed invoice payload that ties a payment to its draft;
- ``services.checkout``: the basket, invoices, shipping options and pre-checkout;
- ``services.payments``: payments journaled and made into exactly one order each, and the
  receipts, notices and refunds an order owes;
- here: a shopper's orders, a merchant's sales and shipping, and order-preparation clips.

The types and errors of those operations are importable from here as well. Each step that
reads and writes several rows runs as one function on the database thread, so it is
atomic and the event loop never waits on SQLite.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from reelcart.config import Settings
from reelcart.domain import (
    Merchant,
    Order,
    OrderNotFound,
    OrderStatus,
    PaymentRejected,
    ProductKind,
    ReelcartError,
    SocialClip,
)
from reelcart.services.checkout import (
    BasketConflict,
    BasketEmpty,
    BasketFull,
    BasketView,
    Checkout,
    CheckoutLine,
    CheckoutService,
)
from reelcart.services.feed import RankingThread
from reelcart.services.invoices import InvoiceSigner
from reelcart.services.merchants import require_merchant
from reelcart.services.payments import RECOVERY_GRACE_S, Payment, PaymentService, Recorded
from reelcart.services.pricing import charge_price
from reelcart.storage import orders as order_store
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

TRACKING_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{2,63}$")


# -- errors that only orders raise ------------------------------------------------------


class InvalidTracking(ReelcartError):
    """A tracking number that is not 3-64 letters, digits, spaces or - . / _."""

    message_key = "commerce.tracking_invalid"


class OrderNotShippable(PaymentRejected):
    """Digital, refunded or flagged orders are not shipped (``number``)."""

    message_key = "commerce.not_shippable"


# -- the service -------------------------------------------------------------------------


class OrderService:
    """Everything about buying, as one object: checkout and payments (delegated to their
    services), a shopper's orders, a merchant's sales and shipping, preparation clips."""

    def __init__(
        self,
        db: DatabaseWorker,
        ranking: RankingThread,
        settings: Settings,
        secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.clock = clock
        invoices = InvoiceSigner(secret)
        self.checkout = CheckoutService(db, settings, invoices)
        self.payments = PaymentService(db, ranking, invoices, clock)
        self._social: dict[int, list[SocialClip]] = {}
        self._load_social(db.call(order_store.shared_social_clips))

        # Their operations, offered as this service's own (each documented where defined).
        checkout, payments = self.checkout, self.payments
        self.payload_for = invoices.payload_for
        self.checkout_product = checkout.checkout_product
        self.checkout_basket = checkout.checkout_basket
        self.basket = checkout.basket
        self.add_to_basket = checkout.add_to_basket
        self.remove_from_basket = checkout.remove_from_basket
        self.empty_basket = checkout.empty_basket
        self.shipping_options = checkout.shipping_options
        self.pre_checkout = checkout.pre_checkout
        self.journal = payments.journal
        self.record_payment = payments.record_payment
        self.order = payments.order
        self.unprocessed_payments = payments.unprocessed_payments
        self.undelivered = payments.undelivered
        self.claim = payments.claim
        self.release = payments.release
        self.begin_receipt = payments.begin_receipt
        self.end_receipt = payments.end_receipt
        self.merchant_notified = payments.merchant_notified
        self.refundable_star_orders = payments.refundable_star_orders
        self.merchant = payments.merchant

    async def mark_refunded(self, order_id: int, by: int | None = None) -> Order:
        """Record that the order's Stars went back to the shopper (``by``: the admin, or
        None); its preparation clip is no longer shown. Raises OrderNotFound."""
        order = await self.payments.mark_refunded(order_id, by)
        await self._reload_social()
        return order

    # -- what shoppers and merchants see ----------------------------------------------

    async def orders_of(self, user_id: int, limit: int = 10) -> list[Order]:
        """The shopper's newest orders."""
        return await self.db.run(order_store.orders_of_user, user_id, limit)

    async def order_of_shopper(self, user_id: int, order_id: int) -> Order:
        """One of the shopper's own orders. Raises OrderNotFound for anyone else's."""
        order = await self.db.run(order_store.get_order, order_id)
        if order is None or order.user_id != user_id:
            raise OrderNotFound(order_id)
        return order

    async def sales(self, user_id: int, limit: int = 10) -> tuple[Merchant, list[Order]]:
        """The merchant this user runs, and its newest orders. Raises NotAMerchant."""

        def sales(store: Store) -> tuple[Merchant, list[Order]]:
            merchant = require_merchant(store, user_id)
            return merchant, order_store.orders_of_merchant(store, merchant.id, limit)

        return await self.db.run(sales)

    def _merchant_order(self, store: Store, user_id: int, order_id: int) -> Order:
        merchant = require_merchant(store, user_id)
        order = order_store.get_order(store, order_id)
        if order is None or order.merchant_id != merchant.id:
            raise OrderNotFound(order_id)
        return order

    async def merchant_order(self, user_id: int, order_id: int) -> Order:
        """An order of the merchant this user runs. Raises NotAMerchant / OrderNotFound."""
        return await self.db.run(self._merchant_order, user_id, order_id)

    async def ship(self, user_id: int, order_id: int, tracking: str) -> Order:
        """The merchant marks its order shipped with a tracking number (again: updates it).

        Raises InvalidTracking, NotAMerchant, OrderNotFound (not this merchant's order) or
        OrderNotShippable (digital, refunded or waiting for a decision).
        """
        tracking = " ".join(tracking.split())
        if not TRACKING_PATTERN.match(tracking):
            raise InvalidTracking(tracking)

        def ship(store: Store) -> Order:
            order = self._merchant_order(store, user_id, order_id)
            if order.kind is not ProductKind.PHYSICAL or order.status not in (
                OrderStatus.PAID,
                OrderStatus.SHIPPED,
            ):
                raise OrderNotShippable(number=order.number)
            order_store.set_order_status(
                store, order.id, OrderStatus.SHIPPED, tracking=tracking, shipped_at=self.clock()
            )
            shipped = order_store.get_order(store, order.id)
            assert shipped is not None
            return shipped

        return await self.db.run(ship)

    # -- order-preparation clips ---------------------------------------------------------

    async def set_clip_consent(self, user_id: int, order_id: int, consent: bool) -> Order:
        """The shopper allows (or not) the preparation clip in other shoppers' feeds; the
        order as it now stands. Raises OrderNotFound for anyone else's order."""

        def consent_to(store: Store) -> Order:
            order = order_store.get_order(store, order_id)
            if order is None or order.user_id != user_id:
                raise OrderNotFound(order_id)
            order_store.set_clip_consent(store, order_id, consent)
            updated = order_store.get_order(store, order_id)
            assert updated is not None
            return updated

        order = await self.db.run(consent_to)
        await self._reload_social()
        return order

    async def add_preparation_clip(
        self,
        user_id: int,
        order_id: int,
        file_id: str,
        duration: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> Order:
        """The merchant's clip of preparing an order. Raises NotAMerchant / OrderNotFound."""

        def attach(store: Store) -> Order:
            order = self._merchant_order(store, user_id, order_id)
            if not order.lines:
                raise OrderNotFound(order_id)
            order_store.save_social_clip(
                store,
                SocialClip(
                    order.id,
                    order.lines[0].product_id,
                    order.user_id,
                    file_id,
                    duration,
                    width,
                    height,
                ),
            )
            return order

        order = await self.db.run(attach)
        await self._reload_social()
        return order

    async def anonymize(self, user_id: int) -> int:
        """For /forget: keep the person's paid orders (accounting) without their name,
        address or shared clips; returns how many orders were kept."""
        kept = await self.db.run(order_store.anonymize_orders, user_id)
        await self._reload_social()
        return kept

    def social_clip(self, product_id: int, viewer_id: int, card_id: int) -> SocialClip | None:
        """A shared preparation clip to show on this card instead of the product's own.

        Every other card of the product (even card ids) shows the newest clip a shopper
        agreed to share; never to the shopper whose order it shows. In memory: no I/O.
        """
        if card_id % 2:
            return None
        for clip in reversed(self._social.get(product_id, ())):
            if clip.buyer_id != viewer_id:
                return clip
        return None

    async def _reload_social(self) -> None:
        self._load_social(await self.db.run(order_store.shared_social_clips))

    def _load_social(self, clips: Sequence[SocialClip]) -> None:
        social: dict[int, list[SocialClip]] = {}
        for clip in clips:
            social.setdefault(clip.product_id, []).append(clip)
        self._social = social


__all__ = [
    "RECOVERY_GRACE_S",
    "BasketConflict",
    "BasketEmpty",
    "BasketFull",
    "BasketView",
    "Checkout",
    "CheckoutLine",
    "InvalidTracking",
    "OrderNotShippable",
    "OrderService",
    "Payment",
    "Recorded",
    "charge_price",
]
