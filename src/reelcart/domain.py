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


class ModerationState(StrEnum):
    """Where a product stands with the moderators; only approved products reach the feed.

    ``SUSPENDED`` is never stored on a product: it is how a product of a suspended merchant
    reads, whatever its own state.
    """

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class MerchantState(StrEnum):
    """A merchant's application: applied, then approved or rejected by an admin."""

    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"


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
    """A shop selling on reelcart. Only approved, non-suspended merchants run their catalog;
    a trusted merchant's products skip the moderation queue."""

    id: int
    name: str
    shop_url: str | None = None
    owner_user_id: int | None = None
    state: MerchantState = MerchantState.APPROVED
    trusted: bool = True
    suspended: bool = False

    @property
    def active(self) -> bool:
        """Approved and not suspended: may use the merchant commands."""
        return self.state is MerchantState.APPROVED and not self.suspended


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
    #: The message the card row was stored with (it is swapped into that message).
    message_id: int | None = None


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


# -- commerce: orders and the reasons a payment is declined ------------------------------


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


class PaymentRejected(ReelcartError):
    """A checkout step refused before money moved; ``params`` fill the message's placeholders."""

    message_key = "commerce.declined"

    def __init__(self, *args: object, **params: object) -> None:
        super().__init__(*args)
        self.params: dict[str, object] = params


class ForgedPayload(PaymentRejected):
    """An invoice payload reelcart did not sign, or signed for another shopper or amount."""

    message_key = "commerce.declined_forged"


class PriceChanged(PaymentRejected):
    """A product's price changed after the invoice was sent (``title``, ``price``)."""

    message_key = "commerce.declined_price"


class SoldOut(PaymentRejected):
    """Not enough stock left for the invoice (``title``)."""

    message_key = "commerce.declined_sold_out"


class NoLongerSold(PaymentRejected):
    """The product was paused or removed after the invoice was sent (``title``)."""

    message_key = "commerce.declined_unavailable"


class AlreadyPaid(PaymentRejected):
    """This invoice was paid already; a second payment would buy twice."""

    message_key = "commerce.declined_already_paid"


class CurrencyNotSupported(PaymentRejected):
    """The product's currency cannot be paid in the chat (``currency``)."""

    message_key = "commerce.currency_unsupported"


class PaymentsNotConfigured(ReelcartError):
    """A physical product, but no payment provider token is configured."""

    message_key = "commerce.no_provider"


class OrderNotFound(ReelcartError):
    """No such order among the ones this person may see."""

    message_key = "commerce.order_not_found"


class NotAMerchant(ReelcartError):
    """The user runs no approved shop (or it is suspended): merchant commands refuse."""

    message_key = "merchant.not_merchant"


class ApplicationWaiting(NotAMerchant):
    message_key = "merchant.application_waiting"


class ApplicationRejected(NotAMerchant):
    message_key = "merchant.application_rejected"


class MerchantSuspended(NotAMerchant):
    message_key = "merchant.suspended"
