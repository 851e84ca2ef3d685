"""What is sold: money, products and their clips, and where a product stands."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

# Minor-unit exponents of the currencies Telegram Payments accepts that a shop is likely to
# use (Telegram's currencies.json has the full list). XTR is Telegram Stars: whole stars only.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "BRL": 2, "MXN": 2, "INR": 2, "TRY": 2, "UAH": 2,
    "ILS": 2, "SGD": 2, "HKD": 2, "NZD": 2, "ZAR": 2, "MAD": 2, "AED": 2, "RUB": 2,
    "JPY": 0, "KRW": 0, "IDR": 2, "XTR": 0,
}  # fmt: skip


class ProductKind(StrEnum):
    """Physical goods are paid by card and shipped; digital goods are paid in Stars."""

    PHYSICAL = "physical"
    DIGITAL = "digital"


class ProductStatus(StrEnum):
    """Only active products reach the feed."""

    ACTIVE = "active"
    PAUSED = "paused"
    DELETED = "deleted"


class ModerationState(StrEnum):
    """Where a product stands with the moderators; only approved products reach the feed.

    ``SUSPENDED`` is never stored on a product: it is how a product of a suspended merchant
    reads, whatever its own state.
    """

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Money:
    """An amount in a currency's minor units (cents for EUR, whole stars for XTR)."""

    minor: int
    currency: str

    @property
    def exponent(self) -> int:
        return CURRENCY_EXPONENTS.get(self.currency, 2)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.exponent)

    @classmethod
    def from_amount(cls, amount: Decimal, currency: str) -> Money:
        exponent = CURRENCY_EXPONENTS.get(currency, 2)
        return cls(int(amount.scaleb(exponent).to_integral_value()), currency)


@dataclass(frozen=True)
class Product:
    """One thing a merchant sells, as the feed shows it."""

    id: int
    merchant_id: int
    sku: str
    title: str
    description: str
    price: Money
    stock: int
    hashtags: tuple[str, ...]
    category: str
    kind: ProductKind
    shop_url: str | None = None
    video_url: str | None = None
    status: ProductStatus = ProductStatus.ACTIVE
    merchant_name: str = ""
    moderation: ModerationState = ModerationState.APPROVED

    @property
    def available(self) -> bool:
        """Active, in stock and approved by the moderators: the feed may show it."""
        return (
            self.status is ProductStatus.ACTIVE
            and self.stock > 0
            and self.moderation is ModerationState.APPROVED
        )

    @property
    def shareable(self) -> bool:
        """Anyone may open it (a link, a like, a search): active and approved. Sold out is
        fine: a like then brings a restock alert."""
        return self.status is ProductStatus.ACTIVE and self.moderation is ModerationState.APPROVED

    def embedding_text(self) -> str:
        """The text the recommender embeds: what the product is, not how it is sold."""
        tags = " ".join(f"#{tag}" for tag in self.hashtags)
        return f"{self.title}. {self.description} {tags} ({self.category})".strip()


@dataclass(frozen=True)
class Clip:
    """A product's short video. ``file_id`` is Telegram's, cached after the first upload."""

    product_id: int
    source: str
    mime_type: str = "video/mp4"
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    file_id: str | None = None

    @property
    def is_animation(self) -> bool:
        return self.mime_type == "image/gif"
