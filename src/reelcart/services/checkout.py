"""Checkout: the basket, the drafts behind invoices, shipping options and pre-checkout.

A checkout prices what the shopper chose (``charge_price``) into a draft, kept in the
database, and hands back the invoice to send: one price line per product plus the shipping
option the shopper picks for physical goods (the merchant's rates for that currency, else
the defaults in ``schema_commerce``); a Stars invoice has exactly one price line, so a
Stars basket is one line "N items". Just before money moves, ``pre_checkout`` checks the
invoice against the catalog again. Each step runs as one function on the database thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reelcart.config import Settings
from reelcart.domain import (
    AlreadyPaid,
    CurrencyNotSupported,
    DraftItem,
    ForgedPayload,
    ModerationState,
    Money,
    NoLongerSold,
    OutOfStock,
    PaymentRejected,
    PaymentsNotConfigured,
    PriceChanged,
    Product,
    ProductKind,
    ProductStatus,
    ProductUnavailable,
    ReelcartError,
    ShippingRate,
    SoldOut,
)
from reelcart.services.invoices import InvoiceSigner
from reelcart.services.pricing import MAX_STARS, STARS, charge_price
from reelcart.storage import orders as order_store
from reelcart.storage.products import get_product, get_products
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

BASKET_LIMIT = 10  # products in one basket (one invoice line each)


# -- errors that only checkout raises ---------------------------------------------------


class BasketEmpty(ReelcartError):
    """Checkout of an empty basket."""

    message_key = "commerce.basket_empty"


class BasketConflict(PaymentRejected):
    """The basket holds another merchant's products, or the other kind (``merchant``)."""

    message_key = "commerce.basket_conflict"


class BasketFull(PaymentRejected):
    """No more of this product (``title``, ``stock``) or no more products fit."""

    message_key = "commerce.basket_full"


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


# -- what can be bought ------------------------------------------------------------------


def on_sale(product: Product) -> bool:
    """Active and approved by the moderators (stock aside)."""
    return product.status is ProductStatus.ACTIVE and product.moderation is ModerationState.APPROVED


def _check_sellable(product: Product, quantity: int = 1) -> None:
    if not on_sale(product):
        raise ProductUnavailable(product.id)
    if product.stock < quantity:
        raise OutOfStock(product.id)


# -- the service -------------------------------------------------------------------------


class CheckoutService:
    """The basket, invoices for a product or the basket, shipping options, pre-checkout."""

    def __init__(self, db: DatabaseWorker, settings: Settings, invoices: InvoiceSigner) -> None:
        self.db = db
        self.settings = settings
        self.invoices = invoices

    # -- invoices ------------------------------------------------------------------------

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
        product = get_product(store, product_id)
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
        products = get_products(store, [product_id for product_id, _ in items])
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
            payload=self.invoices.payload_for(draft),
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
        products = get_products(store, [product_id for product_id, _ in items])
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
        product = get_product(store, product_id)
        _check_sellable(product)
        charge_price(product)
        current = dict(order_store.basket(store, user_id))
        if current:
            others = get_products(store, list(current))
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
        """Take a product out of the basket (all units); the basket as it is after."""

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
            draft = self.invoices.verified_draft(store, payload, user_id)
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
        draft = self.invoices.verified_draft(store, payload, user_id)
        if draft.paid_order_id is not None:
            raise AlreadyPaid()
        if currency != draft.currency:
            raise CurrencyNotSupported(currency=currency)
        products = get_products(store, [item.product_id for item in draft.items])
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


__all__ = [
    "BASKET_LIMIT",
    "BasketConflict",
    "BasketEmpty",
    "BasketFull",
    "BasketView",
    "Checkout",
    "CheckoutLine",
    "CheckoutService",
    "on_sale",
]
