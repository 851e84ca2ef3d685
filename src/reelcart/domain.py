"""The shop's own words: products, clips, reactions, feed cards, and the errors around them.

Every layer of reelcart speaks in these types; none of them knows about Telegram, SQLite or
FAISS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


class Language(StrEnum):
    """The languages reelcart speaks."""

    EN = "en"
    FR = "fr"

    @classmethod
    def from_code(cls, code: str | None) -> Language:
        """French for any ``fr*`` Telegram language code, English otherwise."""
        if code and code.lower().startswith("fr"):
            return cls.FR
        return cls.EN


class ProductKind(StrEnum):
    """Physical goods are paid by card and shipped; digital goods are paid in Stars."""

    PHYSICAL = "physical"
    DIGITAL = "digital"


class ProductStatus(StrEnum):
    """Only active products reach the feed."""

    ACTIVE = "active"
    PAUSED = "paused"
    DELETED = "deleted"


class EventKind(StrEnum):
    """Every signal the feed learns from; the event log is append-only."""

    IMPRESSION = "impression"
    LIKE = "like"
    DISLIKE = "dislike"
    SKIP = "skip"
    SHARE = "share"
    SHOP_CLICK = "shop_click"
    BUY = "buy"
    UNLIKE = "unlike"


class ReasonKind(StrEnum):
    """Why a card was picked, in terms a shopper understands."""

    SIMILAR_TO_LIKED = "similar_to_liked"
    INTEREST = "interest"
    POPULAR = "popular"
    DISCOVERY = "discovery"
    OTHERS_LIKED = "others_liked"
    REQUESTED = "requested"


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
class Merchant:
    id: int
    name: str
    shop_url: str | None = None
    owner_user_id: int | None = None


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

    @property
    def available(self) -> bool:
        return self.status is ProductStatus.ACTIVE and self.stock > 0

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


@dataclass(frozen=True)
class Reaction:
    """A shopper's event on a product; ``dwell_ms`` is how long the card was on screen."""

    user_id: int
    product_id: int
    kind: EventKind
    dwell_ms: int | None = None
    at: float = 0.0


@dataclass(frozen=True)
class Pick:
    """The ranking's answer: which product next, and why."""

    product_id: int
    reason: ReasonKind
    because_product_id: int | None = None
    because_interest: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class FeedCard:
    """What the shopper sees: a product, its clip, and the reason it was picked."""

    card_id: int
    product: Product
    clip: Clip | None
    pick: Pick
    because_title: str | None = None


@dataclass(frozen=True)
class User:
    id: int
    first_name: str = ""
    language: Language = Language.EN
    interests: tuple[str, ...] = field(default_factory=tuple)
    onboarded: bool = False


class ReelcartError(Exception):
    """Base of the domain errors; the handlers turn each into a localized message."""

    message_key = "error.generic"


class ProductNotFound(ReelcartError):
    message_key = "error.product_not_found"


class ProductUnavailable(ReelcartError):
    """The product is paused, deleted or sold out."""

    message_key = "error.product_unavailable"


class OutOfStock(ProductUnavailable):
    message_key = "error.out_of_stock"


class StaleCard(ReelcartError):
    """A button from a card that is no longer the current one (or from before a restart)."""

    message_key = "error.stale_card"


class AlreadyAnswered(StaleCard):
    """The same button pressed twice: the first press counted, this one changes nothing."""

    message_key = "feed.already"


class CatalogFileError(ReelcartError):
    """A catalog file that cannot be read at all: nothing from it is imported.

    ``reason_key`` is the message key of what exactly is wrong (``error.catalog_file.<why>``)
    and ``params`` fill its placeholders, so the bot can say it in the merchant's language;
    ``str()`` of the error is the English text.
    """

    message_key = "error.catalog_file"

    def __init__(
        self, reason_key: str = "error.catalog_file", /, *, text: str = "", **params: object
    ) -> None:
        super().__init__(text or reason_key)
        self.reason_key = reason_key
        self.params: dict[str, object] = params
