"""Buying: invoices (drafts), shipping, orders and their lines, and shared preparation clips."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reelcart.domain.products import Money, ProductKind


class OrderStatus(StrEnum):
    """Where an order stands; the shopper sees it in /orders, the merchant in /sales."""

    PAID = "paid"  # money received; the shop prepares (or delivers) it
    SHIPPED = "shipped"  # on its way, with a tracking number
    NEEDS_ATTENTION = "needs_attention"  # paid by card but not fulfillable: a person decides
    REFUND_PENDING = "refund_pending"  # paid in Stars but not fulfillable: refund under way
    REFUNDED = "refunded"


@dataclass(frozen=True)
class OrderLine:
    """One product of an order: what it was called and cost when it was bought."""

    product_id: int
    sku: str
    title: str
    quantity: int
    unit_price: Money

    @property
    def total(self) -> Money:
        return Money(self.unit_price.minor * self.quantity, self.unit_price.currency)


@dataclass(frozen=True)
class ShippingAddress:
    """Where a physical order goes, as Telegram collected it."""

    country_code: str
    city: str
    street_line1: str
    post_code: str
    street_line2: str = ""
    state: str = ""

    def one_line(self) -> str:
        parts = [self.street_line1, self.street_line2, f"{self.post_code} {self.city}".strip()]
        parts += [self.state, self.country_code]
        return ", ".join(part for part in parts if part)


@dataclass(frozen=True)
class Order:
    """A paid order: exactly one per Telegram payment (``charge_id``)."""

    id: int
    user_id: int
    merchant_id: int
    merchant_name: str
    kind: ProductKind
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    goods: Money
    shipping: Money
    total: Money
    charge_id: str
    provider_charge_id: str = ""
    created_at: float = 0.0
    shipping_option: str | None = None
    recipient: str | None = None
    address: ShippingAddress | None = None
    tracking: str | None = None
    problem: str | None = None
    clip_consent: bool | None = None
    receipt_sent: bool = False
    merchant_notified: bool = False

    @property
    def number(self) -> str:
        """How people refer to the order: ``#12``."""
        return f"#{self.id}"

    @property
    def paid_in_stars(self) -> bool:
        return self.total.currency == "XTR"


@dataclass(frozen=True)
class DraftItem:
    """One product of an invoice: how many, at which unit price (minor units)."""

    product_id: int
    quantity: int
    unit_minor: int


@dataclass(frozen=True)
class Draft:
    """What one invoice asks for; the signed payload names it."""

    id: int
    user_id: int
    merchant_id: int
    kind: ProductKind
    currency: str
    total_minor: int
    items: tuple[DraftItem, ...]
    source: str  # "product" (🛒 on a card) or "basket"
    paid_order_id: int | None = None


@dataclass(frozen=True)
class ShippingRate:
    """A shipping option offered at checkout."""

    option_id: str
    title: str
    amount_minor: int


@dataclass(frozen=True)
class NewOrder:
    """Everything needed to insert an order row and its lines."""

    charge_id: str
    provider_charge_id: str
    draft_id: int | None
    user_id: int
    merchant_id: int
    kind: ProductKind
    status: OrderStatus
    currency: str
    goods_minor: int
    shipping_minor: int
    total_minor: int
    shipping_option: str | None
    recipient: str | None
    address: ShippingAddress | None
    problem: str | None
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True)
class SocialClip:
    """A preparation clip a shopper agreed to share, shown on the product's card."""

    order_id: int
    product_id: int
    buyer_id: int
    file_id: str
    duration: int | None = None
    width: int | None = None
    height: int | None = None
