"""Buying in the chat: invoices, the basket, shipping, pre-checkout, orders and their life.

``OrderService`` is what the commerce handlers call; it knows nothing of Telegram. Each
step that reads and writes several rows runs as one function on the database thread, so
it is atomic and the event loop never waits on SQLite.

How money works:

- Physical products are paid by card through the payment provider, in the product's own
  currency, one price line per product, plus the shipping option the shopper picks (the
  merchant's rates for that currency, else the defaults in ``schema_commerce``).
- Digital products are paid in Telegram Stars (XTR). A price in another currency is
  converted at the fixed rates of ``STARS_PER_UNIT`` (1 EUR = 50 Stars, rounded up), and a
  Stars invoice has exactly one price line, so a Stars basket is one line "N items".
- The invoice payload is ``rc1.<draft id>.<signature>``: the signature covers the draft,
  the shopper, the currency and the amount, so pre-checkout refuses anything altered.
- Every ``successful_payment`` is journaled (``payment_inbox``) before anything else, and
  an order is keyed by Telegram's ``telegram_payment_charge_id`` (UNIQUE): a payment makes
  exactly one order however often it is delivered, and a crash in between is recovered.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reelcart.config import Settings
from reelcart.domain import (
    CURRENCY_EXPONENTS,
    AlreadyPaid,
    CurrencyNotSupported,
    Delivery,
    Draft,
    DraftItem,
    EventKind,
    ForgedPayload,
    Merchant,
    ModerationState,
    Money,
    NewOrder,
    NoLongerSold,
    Order,
    OrderLine,
    OrderNotFound,
    OrderStatus,
    OutOfStock,
    PaymentRejected,
    PaymentsNotConfigured,
    PriceChanged,
    Product,
    ProductKind,
    ProductStatus,
    ProductUnavailable,
    Reaction,
    ReelcartError,
    ShippingAddress,
    ShippingRate,
    SocialClip,
    SoldOut,
)
from reelcart.ranking import HybridRecommender
from reelcart.services.feed import RankingThread
from reelcart.services.merchants import require_merchant
from reelcart.services.signing import Signer
from reelcart.storage import orders as order_store
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

STARS = "XTR"
# Fixed conversion of a digital product's catalog price to Telegram Stars: Stars per unit
# of the currency (a Star costs a shopper about 2 euro cents). Rounded up, at least 1.
STARS_PER_UNIT: dict[str, Decimal] = {
    "EUR": Decimal(50),
    "USD": Decimal(46),
    "GBP": Decimal(58),
    "CHF": Decimal(53),
}
MAX_STARS = 100_000  # Telegram's ceiling for one Stars invoice
BASKET_LIMIT = 10  # products in one basket (one invoice line each)
TRACKING_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{2,63}$")
_PAYLOAD = re.compile(r"^rc1\.([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{22})$")
# How long the live handler has to finish a payment before the recovery job takes over.
RECOVERY_GRACE_S = 30.0


# -- errors that only commerce raises --------------------------------------------------


class BasketEmpty(ReelcartError):
    """Checkout of an empty basket."""

    message_key = "commerce.basket_empty"


class BasketConflict(PaymentRejected):
    """The basket holds another merchant's products, or the other kind (``merchant``)."""

    message_key = "commerce.basket_conflict"


class BasketFull(PaymentRejected):
    """No more of this product (``title``, ``stock``) or no more products fit."""

    message_key = "commerce.basket_full"


class InvalidTracking(ReelcartError):
    """A tracking number that is not 3-64 letters, digits, spaces or - . / _."""

    message_key = "commerce.tracking_invalid"


class OrderNotShippable(PaymentRejected):
    """Digital, refunded or flagged orders are not shipped (``number``)."""

    message_key = "commerce.not_shippable"


# -- what the handlers get --------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutLine:
    """One product of an invoice, priced in the invoice's currency."""

    product_id: int
    title: str
    quantity: int
    amount: Money  # unit price x quantity


@dataclass(frozen=True)
class Checkout:
    """An invoice to send: a signed payload and what it charges for."""

    draft_id: int
    payload: str
    merchant_name: str
    kind: ProductKind
    lines: tuple[CheckoutLine, ...]
    total: Money
    catalog_total: Money | None = None  # the catalog price, when converted to Stars
    description: str = ""

    @property
    def currency(self) -> str:
        """The invoice's currency (XTR for Stars)."""
        return self.total.currency

    @property
    def physical(self) -> bool:
        """Paid by card and shipped."""
        return self.kind is ProductKind.PHYSICAL


@dataclass(frozen=True)
class BasketView:
    """A shopper's basket: one merchant's products of one kind."""

    items: tuple[tuple[Product, int], ...]
    total: Money | None

    @property
    def merchant_name(self) -> str:
        """The merchant whose products the basket holds."""
        return self.items[0][0].merchant_name if self.items else ""

    @property
    def count(self) -> int:
        """Units in the basket."""
        return sum(quantity for _, quantity in self.items)


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


# -- prices ------------------------------------------------------------------------------


def charge_price(product: Product) -> Money:
    """What the shopper pays per unit in the chat: Stars for digital, the price otherwise.

    Raises CurrencyNotSupported when the product's currency cannot be paid in the chat.
    """
    price = product.price
    if product.kind is ProductKind.DIGITAL:
        if price.currency == STARS:
            return price
        rate = STARS_PER_UNIT.get(price.currency)
        if rate is None:
            raise CurrencyNotSupported(currency=price.currency)
        return Money(max(1, math.ceil(price.amount * rate)), STARS)
    if price.currency == STARS or price.currency not in CURRENCY_EXPONENTS:
        raise CurrencyNotSupported(currency=price.currency)
    return price


def on_sale(product: Product) -> bool:
    """Active and approved by the moderators (stock aside)."""
    return product.status is ProductStatus.ACTIVE and product.moderation is ModerationState.APPROVED


def _check_sellable(product: Product, quantity: int = 1) -> None:
    if not on_sale(product):
        raise ProductUnavailable(product.id)
    if product.stock < quantity:
        raise OutOfStock(product.id)


# -- the service -------------------------------------------------------------------------


class OrderService:
    """Invoices, basket, pre-checkout, orders, shipping and preparation clips."""

    def __init__(
        self,
        db: DatabaseWorker,
        ranking: RankingThread,
        settings: Settings,
        secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.ranking = ranking
        self.settings = settings
        self.clock = clock
        self._signer = Signer(secret, "invoice")
        self._delivering: set[int] = set()
        self._social: dict[int, list[SocialClip]] = {}
        self._load_social(db.call(order_store.shared_social_clips))

    # -- invoices ------------------------------------------------------------------------

    def payload_for(self, draft: Draft) -> str:
        """The signed invoice payload of a draft (at most 50 bytes; Telegram allows 128)."""
        signature = self._signer.sign(
            "rc1", draft.id, draft.user_id, draft.currency, draft.total_minor
        )
        return f"rc1.{draft.id}.{signature}"

    def _verified_draft(self, store: Store, payload: str, user_id: int) -> Draft:
        """The draft a payload names, if reelcart signed it for this shopper."""
        match = _PAYLOAD.match(payload)
        if not match:
            raise ForgedPayload(payload)
        draft = order_store.get_draft(store, int(match[1]))
        if draft is None or not self._signer.verify(
            match[2], "rc1", draft.id, draft.user_id, draft.currency, draft.total_minor
        ):
            raise ForgedPayload(payload)
        if draft.user_id != user_id:
            raise ForgedPayload(payload)
        return draft

    def _needs_provider(self, kind: ProductKind) -> None:
        if kind is ProductKind.PHYSICAL and not self.settings.payment_provider_token:
            raise PaymentsNotConfigured()

    async def checkout_product(self, user_id: int, product_id: int) -> Checkout:
        """A signed invoice for one unit of a product.

        Raises ProductNotFound, ProductUnavailable / OutOfStock, CurrencyNotSupported, or
        PaymentsNotConfigured (a physical product with no payment provider).
        """
        return await self.db.run(self._checkout_product, user_id, product_id)

    def _checkout_product(self, store: Store, user_id: int, product_id: int) -> Checkout:
        product = store.get_product(product_id)
        self._needs_provider(product.kind)
        _check_sellable(product)
        return self._draft(store, user_id, [(product, 1)], source="product")

    async def checkout_basket(self, user_id: int) -> Checkout:
        """A signed invoice for the whole basket, one line per product.

        Raises BasketEmpty, PaymentsNotConfigured, CurrencyNotSupported, or a
        PaymentRejected (SoldOut, NoLongerSold) naming the product that cannot be bought.
        """
        return await self.db.run(self._checkout_basket, user_id)

    def _checkout_basket(self, store: Store, user_id: int) -> Checkout:
        items = order_store.basket(store, user_id)
        if not items:
            raise BasketEmpty()
        products = store.get_products([product_id for product_id, _ in items])
        chosen: list[tuple[Product, int]] = []
        for product_id, quantity in items:
            product = products.get(product_id)
            if product is None or not on_sale(product):
                title = product.title if product else "?"
                raise NoLongerSold(title=title)
            if product.stock < quantity:
                raise SoldOut(title=product.title)
            chosen.append((product, quantity))
        self._needs_provider(chosen[0][0].kind)
        return self._draft(store, user_id, chosen, source="basket")

    def _draft(
        self, store: Store, user_id: int, chosen: Sequence[tuple[Product, int]], source: str
    ) -> Checkout:
        first = chosen[0][0]
        lines: list[CheckoutLine] = []
        items: list[DraftItem] = []
        for product, quantity in chosen:
            unit = charge_price(product)
            lines.append(
                CheckoutLine(
                    product.id, product.title, quantity, Money(unit.minor * quantity, unit.currency)
                )
            )
            items.append(DraftItem(product.id, quantity, unit.minor))
        currency = lines[0].amount.currency
        total = sum(line.amount.minor for line in lines)
        if currency == STARS and total > MAX_STARS:
            raise CurrencyNotSupported(currency=currency)
        if first.kind is ProductKind.PHYSICAL and not order_store.shipping_rates(
            store, first.merchant_id, currency
        ):
            # No way to ship a payment in this currency: the shop link still works.
            raise CurrencyNotSupported(currency=currency)
        catalog_total = None
        if currency != first.price.currency:
            catalog_total = Money(sum(p.price.minor * q for p, q in chosen), first.price.currency)
        draft_id = order_store.create_draft(
            store, user_id, first.merchant_id, first.kind, currency, items, total, source
        )
        draft = order_store.get_draft(store, draft_id)
        assert draft is not None
        return Checkout(
            draft_id=draft_id,
            payload=self.payload_for(draft),
            merchant_name=first.merchant_name,
            kind=first.kind,
            lines=tuple(lines),
            total=Money(total, currency),
            catalog_total=catalog_total,
            description=first.description,
        )

    # -- basket --------------------------------------------------------------------------

    async def basket(self, user_id: int) -> BasketView:
        """The shopper's basket (products no longer sold are left in; checkout names them)."""
        return await self.db.run(self._basket_view, user_id)

    def _basket_view(self, store: Store, user_id: int) -> BasketView:
        items = order_store.basket(store, user_id)
        products = store.get_products([product_id for product_id, _ in items])
        kept = tuple((products[p], q) for p, q in items if p in products)
        total = None
        if kept:
            try:
                prices = [charge_price(product) for product, _ in kept]
                total = Money(
                    sum(price.minor * q for price, (_, q) in zip(prices, kept, strict=True)),
                    prices[0].currency,
                )
            except CurrencyNotSupported:
                total = None
        return BasketView(kept, total)

    async def add_to_basket(self, user_id: int, product_id: int) -> BasketView:
        """Add one unit. Raises ProductNotFound, ProductUnavailable / OutOfStock,
        CurrencyNotSupported, BasketConflict (another merchant or kind) or BasketFull."""
        return await self.db.run(self._add_to_basket, user_id, product_id)

    def _add_to_basket(self, store: Store, user_id: int, product_id: int) -> BasketView:
        product = store.get_product(product_id)
        _check_sellable(product)
        charge_price(product)
        current = dict(order_store.basket(store, user_id))
        if current:
            others = store.get_products(list(current))
            for other in others.values():
                if other.merchant_id != product.merchant_id or other.kind is not product.kind:
                    raise BasketConflict(merchant=other.merchant_name)
        quantity = current.get(product_id, 0) + 1
        if quantity > product.stock:
            raise BasketFull(title=product.title, stock=product.stock)
        if product_id not in current and len(current) >= BASKET_LIMIT:
            raise BasketFull(title=product.title, stock=product.stock)
        order_store.set_basket_quantity(store, user_id, product_id, quantity)
        return self._basket_view(store, user_id)

    async def remove_from_basket(self, user_id: int, product_id: int) -> BasketView:
        """Take a product out of the basket (all units)."""

        def remove(store: Store) -> BasketView:
            order_store.set_basket_quantity(store, user_id, product_id, 0)
            return self._basket_view(store, user_id)

        return await self.db.run(remove)

    async def empty_basket(self, user_id: int) -> None:
        """Take everything out of the basket."""
        await self.db.run(order_store.clear_basket, user_id)

    # -- shipping and pre-checkout -----------------------------------------------------

    async def shipping_options(self, user_id: int, payload: str) -> list[ShippingRate]:
        """The options to offer for this invoice. Raises ForgedPayload, AlreadyPaid or
        CurrencyNotSupported (nothing to offer)."""

        def options(store: Store) -> list[ShippingRate]:
            draft = self._verified_draft(store, payload, user_id)
            if draft.paid_order_id is not None:
                raise AlreadyPaid()
            if draft.kind is not ProductKind.PHYSICAL:
                raise ForgedPayload(payload)
            rates = order_store.shipping_rates(store, draft.merchant_id, draft.currency)
            if not rates:
                raise CurrencyNotSupported(currency=draft.currency)
            return rates

        return await self.db.run(options)

    async def pre_checkout(
        self,
        user_id: int,
        payload: str,
        currency: str,
        total_amount: int,
        shipping_option_id: str | None,
    ) -> None:
        """Re-check an invoice just before money moves; return if it may be paid.

        Raises a PaymentRejected naming the reason: ForgedPayload (not signed by us, for
        someone else, or altered), AlreadyPaid, CurrencyNotSupported (not the invoice's
        currency), PriceChanged, SoldOut or NoLongerSold (paused or removed since).
        """
        await self.db.run(
            self._pre_checkout, user_id, payload, currency, total_amount, shipping_option_id
        )

    def _pre_checkout(
        self,
        store: Store,
        user_id: int,
        payload: str,
        currency: str,
        total_amount: int,
        shipping_option_id: str | None,
    ) -> None:
        draft = self._verified_draft(store, payload, user_id)
        if draft.paid_order_id is not None:
            raise AlreadyPaid()
        if currency != draft.currency:
            raise CurrencyNotSupported(currency=currency)
        products = store.get_products([item.product_id for item in draft.items])
        for item in draft.items:
            product = products.get(item.product_id)
            if product is None:
                raise NoLongerSold(title="?")
            if not on_sale(product):
                raise NoLongerSold(title=product.title)
            try:
                unit = charge_price(product)
            except CurrencyNotSupported:
                raise CurrencyNotSupported(currency=product.price.currency) from None
            if unit.currency != draft.currency or unit.minor != item.unit_minor:
                raise PriceChanged(title=product.title, price=unit)
            if product.stock < item.quantity:
                raise SoldOut(title=product.title)
        shipping = 0
        if draft.kind is ProductKind.PHYSICAL:
            rates = order_store.shipping_rates(store, draft.merchant_id, draft.currency)
            rate = next((r for r in rates if r.option_id == shipping_option_id), None)
            if rate is None:
                raise PaymentRejected("unknown shipping option")
            shipping = rate.amount_minor
        elif shipping_option_id is not None:
            raise ForgedPayload(payload)
        if total_amount != draft.total_minor + shipping:
            raise PaymentRejected("total does not match the invoice")

    # -- payments and orders -------------------------------------------------------------

    async def journal(self, payments: Sequence[Payment]) -> None:
        """Keep payments as they arrive, before Telegram is told they were received."""

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
            products = await self.db.run(
                Store.get_products, [line.product_id for line in order.lines]
            )
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
                draft: Draft | None = self._verified_draft(store, payment.payload, payment.user_id)
            except ForgedPayload:
                draft = None
            problem: str | None = None
            lines: list[OrderLine] = []
            goods = shipping = 0
            if draft is None:
                problem = "unverified"
            else:
                products = store.get_products([item.product_id for item in draft.items])
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
                    store.add_event(reaction)
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

    async def unprocessed_payments(self, grace: float = RECOVERY_GRACE_S) -> list[Payment]:
        """Journaled payments with no order yet (the bot stopped in between)."""
        raws = await self.db.run(order_store.unprocessed_payments, self.clock() - grace)
        payments = []
        for raw in raws:
            payment = Payment.from_message(json.loads(raw))
            if payment is not None:
                payments.append(payment)
        return payments

    async def undelivered(self, grace: float = RECOVERY_GRACE_S) -> list[Order]:
        """Orders whose receipt, merchant notice or automatic refund is outstanding."""
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

    async def mark_refunded(self, order_id: int, by: int | None = None) -> Order:
        """Record that the order's Stars went back to the shopper."""
        await self.db.run(
            order_store.set_order_status,
            order_id,
            OrderStatus.REFUNDED,
            refunded_at=self.clock(),
            refunded_by=by,
        )
        await self._reload_social()
        return await self.order(order_id)

    async def refundable_star_orders(self) -> list[Order]:
        """Stars orders not refunded yet, newest first (the admin panel)."""
        return await self.db.run(order_store.refundable_star_orders)

    async def merchant(self, merchant_id: int) -> Merchant | None:
        """The merchant of an order, with its owner."""

        def find(store: Store) -> Merchant | None:
            row = store.db.execute(
                "SELECT id, name, shop_url, owner_user_id FROM merchants WHERE id = ?",
                [merchant_id],
            ).fetchone()
            return Merchant(*row) if row else None

        return await self.db.run(find)

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
        """The shopper allows (or not) the preparation clip in other shoppers' feeds."""

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
