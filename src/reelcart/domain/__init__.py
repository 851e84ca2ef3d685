"""The shop's own words: who uses it, what is sold, the feed, orders, the messages it sends,
what the admins see, and the errors around them.

Every layer of reelcart speaks in these types; none of them knows about Telegram, SQLite or
FAISS, and this package imports nothing else of reelcart. One module per concern:

- ``people``: ``Language``, ``User``, ``Merchant`` and its ``MerchantState``;
- ``products``: ``Money`` (and ``CURRENCY_EXPONENTS``), ``Product``, ``Clip``, their kinds
  and states;
- ``feed``: ``EventKind``, ``Reaction``, ``Pick`` and its ``ReasonKind``, ``FeedCard``;
- ``orders``: ``Order`` and its lines, drafts (invoices), shipping rates, shared clips;
- ``outbox``: broadcasts, restock alerts and the ``Delivery`` state of one message;
- ``stats``: ``StatsReport`` and the metrics in it;
- ``backoffice``: what the admin panel lists (applications, merchants, the moderation
  queue, users, the audit log);
- ``catalog``: a catalog row once parsed and checked (``CatalogRow``), the problems found
  on the way (``RowError``) and what storing it did (``RowOutcome``);
- ``errors``: ``ReelcartError`` (a ``message_key`` and its ``params``) and every domain
  error.

Import from here (``from reelcart.domain import Product``); the modules themselves import
only from each other, never from this package.
"""

from __future__ import annotations

from reelcart.domain.backoffice import (
    Application,
    AuditEntry,
    MerchantSummary,
    ModerationItem,
    UserSummary,
)
from reelcart.domain.catalog import CatalogRow, RowError, RowOutcome
from reelcart.domain.errors import (
    AlreadyAnswered,
    AlreadyMerchant,
    AlreadyPaid,
    ApplicationRejected,
    ApplicationWaiting,
    CatalogFileError,
    CurrencyNotSupported,
    ForgedPayload,
    MerchantSuspended,
    NameTaken,
    NoLongerSold,
    NotAMerchant,
    OrderNotFound,
    OutOfStock,
    PaymentRejected,
    PaymentsNotConfigured,
    PriceChanged,
    ProductNotFound,
    ProductUnavailable,
    ReelcartError,
    SoldOut,
    StaleCard,
)
from reelcart.domain.feed import (
    EventKind,
    FeedCard,
    Pick,
    Reaction,
    ReasonKind,
)
from reelcart.domain.orders import (
    Draft,
    DraftItem,
    NewOrder,
    Order,
    OrderLine,
    OrderStatus,
    ShippingAddress,
    ShippingRate,
    SocialClip,
)
from reelcart.domain.outbox import (
    Broadcast,
    BroadcastStatus,
    Delivery,
    RestockAlert,
)
from reelcart.domain.people import (
    Language,
    Merchant,
    MerchantState,
    User,
)
from reelcart.domain.products import (
    CURRENCY_EXPONENTS,
    Clip,
    ModerationState,
    Money,
    Product,
    ProductKind,
    ProductStatus,
)
from reelcart.domain.stats import (
    CreatorMetrics,
    DayPoint,
    Metrics,
    ProductMetrics,
    ShopCounts,
    StatsReport,
)

__all__ = [
    "CURRENCY_EXPONENTS",
    "AlreadyAnswered",
    "AlreadyMerchant",
    "AlreadyPaid",
    "Application",
    "ApplicationRejected",
    "ApplicationWaiting",
    "AuditEntry",
    "Broadcast",
    "BroadcastStatus",
    "CatalogFileError",
    "CatalogRow",
    "Clip",
    "CreatorMetrics",
    "CurrencyNotSupported",
    "DayPoint",
    "Delivery",
    "Draft",
    "DraftItem",
    "EventKind",
    "FeedCard",
    "ForgedPayload",
    "Language",
    "Merchant",
    "MerchantState",
    "MerchantSummary",
    "MerchantSuspended",
    "Metrics",
    "ModerationItem",
    "ModerationState",
    "Money",
    "NameTaken",
    "NewOrder",
    "NoLongerSold",
    "NotAMerchant",
    "Order",
    "OrderLine",
    "OrderNotFound",
    "OrderStatus",
    "OutOfStock",
    "PaymentRejected",
    "PaymentsNotConfigured",
    "Pick",
    "PriceChanged",
    "Product",
    "ProductKind",
    "ProductMetrics",
    "ProductNotFound",
    "ProductStatus",
    "ProductUnavailable",
    "Reaction",
    "ReasonKind",
    "ReelcartError",
    "RestockAlert",
    "RowError",
    "RowOutcome",
    "ShippingAddress",
    "ShippingRate",
    "ShopCounts",
    "SocialClip",
    "SoldOut",
    "StaleCard",
    "StatsReport",
    "User",
    "UserSummary",
]
