"""Payments: each ``successful_payment`` kept, made into exactly one order, and the
bookkeeping of what the order still owes (receipt, merchant notice, refund).

Every ``successful_payment`` is journaled (``payment_inbox``) before anything else, and an
order is keyed by Telegram's ``telegram_payment_charge_id`` (UNIQUE): a payment makes
exactly one order however often it is delivered, and a crash in between is recovered
(``unprocessed_payments``). Stock is taken in the transaction that makes the order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reelcart.domain import (
    Delivery,
    Draft,
    EventKind,
    ForgedPayload,
    Merchant,
    Money,
    NewOrder,
    Order,
    OrderLine,
    OrderNotFound,
    OrderStatus,
    ProductKind,
    Reaction,
    ShippingAddress,
)
from reelcart.ranking import HybridRecommender
from reelcart.services.feed import RankingThread
from reelcart.services.invoices import InvoiceSigner
from reelcart.services.pricing import STARS
from reelcart.storage import orders as order_store
from reelcart.storage.events import add_event
from reelcart.storage.products import get_products
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

# How long the live handler has to finish a payment before the recovery job takes over.
RECOVERY_GRACE_S = 30.0


# -- what Telegram reports, and what it made ---------------------------------------------


@dataclass(frozen=True)
class Payment:
    """A ``successful_payment`` as Telegram reported it."""

    user_id: int
    currency: str
    total_amount: int
    payload: str
    charge_id: str
    provider_charge_id: str
    shipping_option_id: str | None
    recipient: str | None
    address: ShippingAddress | None
    raw: str

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Payment | None:
        """Parse a Bot API ``Message`` JSON; None if it is not a successful payment."""
        paid = message.get("successful_payment")
        if not isinstance(paid, Mapping):
            return None
        sender = message.get("from") or message.get("chat") or {}
        info = paid.get("order_info") or {}
        where = info.get("shipping_address")
        address = None
        if isinstance(where, Mapping):
            address = ShippingAddress(
                country_code=str(where.get("country_code", "")),
                city=str(where.get("city", "")),
                street_line1=str(where.get("street_line1", "")),
                post_code=str(where.get("post_code", "")),
                street_line2=str(where.get("street_line2", "") or ""),
                state=str(where.get("state", "") or ""),
            )
        user_id = int(sender["id"])
        raw = json.dumps(
            {"from": {"id": user_id}, "successful_payment": dict(paid)},
            ensure_ascii=False,
            sort_keys=True,
        )
        return cls(
            user_id=user_id,
            currency=str(paid["currency"]),
            total_amount=int(paid["total_amount"]),
            payload=str(paid.get("invoice_payload", "")),
            charge_id=str(paid["telegram_payment_charge_id"]),
            provider_charge_id=str(paid.get("provider_payment_charge_id", "")),
            shipping_option_id=paid.get("shipping_option_id"),
            recipient=info.get("name"),
            address=address,
            raw=raw,
        )


@dataclass(frozen=True)
class Recorded:
    """The order a payment made, and whether this call created it."""

    order: Order
    created: bool


# -- the service -------------------------------------------------------------------------


class PaymentService:
    """Payments journaled and made into orders once; receipts, notices and refunds recorded."""

    def __init__(
        self,
        db: DatabaseWorker,
        ranking: RankingThread,
        invoices: InvoiceSigner,
        clock: Callable[[], float],
    ) -> None:
        self.db = db
        self.ranking = ranking
        self.invoices = invoices
        self.clock = clock
        self._delivering: set[int] = set()

    # -- payments into orders ------------------------------------------------------------

    async def journal(self, payments: Sequence[Payment]) -> None:
        """Keep payments as they arrive, before Telegram is told they were received (a
        charge journaled again is kept once)."""

        def keep(store: Store) -> None:
            with store.db.atomic():
                for payment in payments:
                    order_store.journal_payment(
                        store, payment.charge_id, payment.user_id, payment.raw
                    )

        if payments:
            await self.db.run(keep)
            log.info("journaled %d payment(s)", len(payments))

    async def record_payment(self, payment: Payment) -> Recorded:
        """The order for this payment, created on first sight (exactly once per charge).

        Stock is taken in the same transaction. If it ran out meanwhile, the order is made
        anyway (money moved) with status REFUND_PENDING (Stars: refund it) or
        NEEDS_ATTENTION (card: a person decides), and no stock is taken.
        """
        order_id, created, reactions = await self.db.run(self._record_payment, payment)
        order = await self.order(order_id)
        if created:
            for reaction in reactions:
                await self.ranking.run(HybridRecommender.observe, reaction)
            products = await self.db.run(get_products, [line.product_id for line in order.lines])
            for product in products.values():
                await self.ranking.run(HybridRecommender.update_product, product)
            log.info(
                "order %s: %s %s from user %s (%s)",
                order.number,
                order.total.minor,
                order.total.currency,
                order.user_id,
                order.status.value,
            )
        return Recorded(order, created)

    def _record_payment(self, store: Store, payment: Payment) -> tuple[int, bool, list[Reaction]]:
        now = self.clock()
        with store.db.atomic():
            order_store.journal_payment(store, payment.charge_id, payment.user_id, payment.raw)
            existing = order_store.order_id_by_charge(store, payment.charge_id)
            if existing is not None:
                order_store.mark_payment_processed(store, payment.charge_id)
                return existing, False, []
            try:
                draft: Draft | None = self.invoices.verified_draft(
                    store, payment.payload, payment.user_id
                )
            except ForgedPayload:
                draft = None
            problem: str | None = None
            lines: list[OrderLine] = []
            goods = shipping = 0
            if draft is None:
                problem = "unverified"
            else:
                products = get_products(store, [item.product_id for item in draft.items])
                for item in draft.items:
                    product = products.get(item.product_id)
                    lines.append(
                        OrderLine(
                            product_id=item.product_id,
                            sku=product.sku if product else "",
                            title=product.title if product else "?",
                            quantity=item.quantity,
                            unit_price=Money(item.unit_minor, draft.currency),
                        )
                    )
                goods = draft.total_minor
                shipping = payment.total_amount - goods
                if (
                    payment.currency != draft.currency
                    or shipping < 0
                    or (draft.kind is ProductKind.DIGITAL and shipping)
                ):
                    problem = "amount"
                elif draft.paid_order_id is not None:
                    problem = "paid_twice"
                else:
                    problem = self._take_stock(store, draft, lines)
            stars = payment.currency == STARS
            if problem is None:
                status = OrderStatus.PAID
            else:
                status = OrderStatus.REFUND_PENDING if stars else OrderStatus.NEEDS_ATTENTION
            order_id = order_store.insert_order(
                store,
                NewOrder(
                    charge_id=payment.charge_id,
                    provider_charge_id=payment.provider_charge_id,
                    draft_id=draft.id if draft else None,
                    user_id=payment.user_id,
                    merchant_id=draft.merchant_id if draft else 0,
                    kind=draft.kind
                    if draft
                    else (ProductKind.DIGITAL if stars else ProductKind.PHYSICAL),
                    status=status,
                    currency=payment.currency,
                    goods_minor=goods if draft else payment.total_amount,
                    shipping_minor=max(0, shipping),
                    total_minor=payment.total_amount,
                    shipping_option=payment.shipping_option_id,
                    recipient=payment.recipient,
                    address=payment.address,
                    problem=problem,
                    lines=tuple(lines),
                ),
            )
            reactions: list[Reaction] = []
            if draft is not None and problem is None:
                order_store.mark_draft_paid(store, draft.id, order_id)
                if draft.source == "basket":
                    order_store.clear_basket(
                        store, payment.user_id, [item.product_id for item in draft.items]
                    )
                for line in lines:
                    reaction = Reaction(payment.user_id, line.product_id, EventKind.BUY, at=now)
                    add_event(store, reaction)
                    reactions.append(reaction)
            order_store.mark_payment_processed(store, payment.charge_id)
            return order_id, True, reactions

    @staticmethod
    def _take_stock(store: Store, draft: Draft, lines: Sequence[OrderLine]) -> str | None:
        """Take every line's stock, or none of it: None, or ``sold_out:<title>``."""

        class _Short(Exception):
            pass

        try:
            with store.db.atomic():  # a savepoint: all lines or none
                for item, line in zip(draft.items, lines, strict=True):
                    if not order_store.take_stock(store, item.product_id, item.quantity):
                        raise _Short(line.title)
        except _Short as short:
            return f"sold_out:{short.args[0]}"
        return None

    async def order(self, order_id: int) -> Order:
        """Any order by id (for the bot itself). Raises OrderNotFound."""
        order = await self.db.run(order_store.get_order, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    # -- recovery, and what an order still owes ----------------------------------------

    async def unprocessed_payments(self, grace: float = RECOVERY_GRACE_S) -> list[Payment]:
        """Journaled payments with no order yet (the bot stopped in between), received at
        least ``grace`` seconds ago."""
        raws = await self.db.run(order_store.unprocessed_payments, self.clock() - grace)
        payments = []
        for raw in raws:
            payment = Payment.from_message(json.loads(raw))
            if payment is not None:
                payments.append(payment)
        return payments

    async def undelivered(self, grace: float = RECOVERY_GRACE_S) -> list[Order]:
        """Orders at least ``grace`` seconds old whose receipt, merchant notice or automatic
        refund is outstanding."""
        return await self.db.run(order_store.undelivered_orders, self.clock() - grace)

    def claim(self, order_id: int) -> bool:
        """Reserve the right to send an order's messages (False: someone else is on it)."""
        if order_id in self._delivering:
            return False
        self._delivering.add(order_id)
        return True

    def release(self, order_id: int) -> None:
        """Give back what ``claim`` reserved."""
        self._delivering.discard(order_id)

    async def begin_receipt(self, order_id: int) -> Delivery:
        """Record, just before sending it, that the order's receipt (or the outcome of a
        problem payment) is being sent; the state it was in. PENDING: send it now.
        SENDING: a stop cut its send short, it may have arrived, and it is now UNKNOWN
        (never sent again). Anything else: settled already. Raises OrderNotFound."""
        state = await self.db.run(order_store.begin_receipt, order_id)
        if state is None:
            raise OrderNotFound(order_id)
        return state

    async def end_receipt(self, order_id: int, outcome: Delivery) -> None:
        """Record, just after the send, how it ended: PENDING (it did not arrive) makes
        the receipt due again; SENT, BLOCKED, FAILED or UNKNOWN settles it."""
        await self.db.run(order_store.end_receipt, order_id, outcome)

    async def merchant_notified(self, order_id: int) -> None:
        """Record that the merchant (and admins, if needed) were told."""
        await self.db.run(order_store.mark_merchant_notified, order_id)

    # -- refunds -------------------------------------------------------------------------

    async def mark_refunded(self, order_id: int, by: int | None = None) -> Order:
        """Record that the order's Stars went back to the shopper (``by``: the admin who
        refunded it, None for an automatic refund); the order as it now stands. Raises
        OrderNotFound."""
        await self.db.run(
            order_store.set_order_status,
            order_id,
            OrderStatus.REFUNDED,
            refunded_at=self.clock(),
            refunded_by=by,
        )
        return await self.order(order_id)

    async def refundable_star_orders(self) -> list[Order]:
        """Stars orders not refunded yet, newest first (the admin panel)."""
        return await self.db.run(order_store.refundable_star_orders)

    async def merchant(self, merchant_id: int) -> Merchant | None:
        """The merchant of an order, with its owner; None if there is no such merchant."""

        def find(store: Store) -> Merchant | None:
            row = store.db.execute(
                "SELECT id, name, shop_url, owner_user_id FROM merchants WHERE id = ?",
                [merchant_id],
            ).fetchone()
            return Merchant(*row) if row else None

        return await self.db.run(find)


__all__ = ["RECOVERY_GRACE_S", "Payment", "PaymentService", "Recorded"]
