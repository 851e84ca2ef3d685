"""Merchants: applying, running one's own catalog, clips, restock alerts, referral codes.

Every method that acts for a merchant takes the merchant's id (found from the Telegram user,
never from what they typed) and the data layer filters by it, so a merchant can neither see
nor change another merchant's products whatever ids they send.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from reelcart.catalog.cells import MAX_PRICE_MINOR, MAX_SKU, MAX_STOCK
from reelcart.domain import (
    CURRENCY_EXPONENTS,
    ApplicationRejected,
    ApplicationWaiting,
    Clip,
    Delivery,
    Merchant,
    MerchantState,
    MerchantSuspended,
    ModerationState,
    NotAMerchant,
    Product,
    ProductStatus,
    ReelcartError,
    RestockAlert,
)
from reelcart.ranking import HybridRecommender
from reelcart.services.feed import RankingThread
from reelcart.storage import outbox
from reelcart.storage.merchants import (
    merchant_by_id,
    merchant_of_owner,
    merchant_of_user,
    submit_application,
)
from reelcart.storage.moderation import moderation_counts, moderation_note
from reelcart.storage.products import (
    delete_product,
    get_clip,
    get_product,
    get_products,
    merchant_product,
    merchant_products,
    product_by_sku,
    set_clip,
    update_product,
)
from reelcart.storage.referrals import record_referral_click, referral_code
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

PAGE_SIZE = 8
MIN_SHOP_NAME = 2
MAX_SHOP_NAME = 64
MAX_URL = 2048
#: Telegram lets bots download files up to 20 MB (getFile).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_PRICE = re.compile(r"^(\d{1,12})(?:[.,](\d{1,6}))?$")
_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".gif")


class InvalidInput(ReelcartError):
    """Something a merchant typed that cannot be used; ``message_key`` (the first argument)
    and ``params`` say what is wrong, in the merchant's language."""

    message_key = "merchant.invalid"

    def __init__(self, message_key: str, /, **params: object) -> None:
        super().__init__(message_key, message_key=message_key, **params)


@dataclass(frozen=True)
class ProductPage:
    """One page of /products."""

    products: list[Product]
    page: int
    pages: int
    total: int


# -- parsing what merchants type -----------------------------------------------------------


def parse_shop_name(text: str) -> str:
    """A shop name: 2-64 visible characters on one line. Raises InvalidInput."""
    name = " ".join(text.split())
    if _CONTROL.search(text.replace("\n", " ")) or "\n" in text.strip():
        raise InvalidInput("merchant.name_invalid", min=MIN_SHOP_NAME, max=MAX_SHOP_NAME)
    if not MIN_SHOP_NAME <= len(name) <= MAX_SHOP_NAME or name.startswith("/"):
        raise InvalidInput("merchant.name_invalid", min=MIN_SHOP_NAME, max=MAX_SHOP_NAME)
    return name


def parse_shop_url(text: str) -> str | None:
    """An http(s) link with a host, or ``-`` for none. Raises InvalidInput."""
    value = text.strip()
    if value in ("-", "—"):
        return None
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "." not in parts.hostname.strip(".")
        or len(value) > MAX_URL
        or _CONTROL.search(value)
        or " " in value
    ):
        raise InvalidInput("merchant.url_invalid")
    return value


def parse_price(text: str, currency: str) -> int:
    """``12.50`` or ``12,50`` (optionally with the currency) in minor units. Raises
    InvalidInput."""
    value = text.strip().replace("\u00a0", " ")
    for mark in ("€", "$", "£", "⭐", currency, currency.lower()):
        value = value.replace(mark, "")
    value = value.strip()
    match = _PRICE.match(value)
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    if not match:
        raise InvalidInput("merchant.price_invalid", example="12.50" if exponent else "1200")
    whole, fraction = match[1], (match[2] or "").rstrip("0")
    if len(fraction) > exponent:
        raise InvalidInput("merchant.price_decimals", currency=currency, decimals=exponent)
    try:
        minor = int((Decimal(f"{whole}.{fraction or '0'}") * (10**exponent)).to_integral_value())
    except InvalidOperation:
        raise InvalidInput("merchant.price_invalid", example="12.50") from None
    if minor <= 0:
        raise InvalidInput("merchant.price_not_positive")
    if minor > MAX_PRICE_MINOR:
        raise InvalidInput("merchant.price_too_large")
    return minor


def parse_stock(text: str) -> int:
    """A whole number of items, 0 or more. Raises InvalidInput."""
    value = text.strip()
    if not value.isdigit() or len(value) > 10:
        raise InvalidInput("merchant.stock_invalid")
    stock = int(value)
    if stock > MAX_STOCK:
        raise InvalidInput("merchant.stock_invalid")
    return stock


def parse_sku(text: str) -> str:
    """A SKU as a caption: one word. Raises InvalidInput."""
    value = text.strip()
    if not value or len(value) > MAX_SKU or any(ch.isspace() for ch in value):
        raise InvalidInput("merchant.clip_caption")
    return value


def attach_url_clips(store: Store, product_ids: Sequence[int]) -> int:
    """Products whose ``video_url`` is not their clip yet get it as their clip.

    A clip a merchant sent as a video is never replaced by a link: only a missing clip or
    an older link is. Returns how many clips were attached.
    """
    attached = 0
    for product in get_products(store, list(product_ids)).values():
        if not product.video_url:
            continue
        current = get_clip(store, product.id)
        if current is not None and (
            current.source == product.video_url
            or not current.source.startswith(("http://", "https://"))
        ):
            continue
        mime = "image/gif" if product.video_url.lower().endswith(".gif") else "video/mp4"
        set_clip(store, Clip(product_id=product.id, source=product.video_url, mime_type=mime))
        attached += 1
    return attached


def clip_looks_broken(clip: Clip) -> bool:
    """A clip that cannot play: a missing local file, or a link that is not a video file."""
    if clip.source.startswith(("http://", "https://")):
        path = urlsplit(clip.source).path.lower()
        return not path.endswith(_VIDEO_SUFFIXES)
    return not clip.file_id and not Path(clip.source).is_file()


# -- the service -------------------------------------------------------------------------


def require_merchant(store: Store, user_id: int) -> Merchant:
    """The user's approved, non-suspended shop; every merchant command asks this one question,
    so /sales, /upload and the rest refuse in the same words.

    Raises:
        ApplicationWaiting, ApplicationRejected, MerchantSuspended, NotAMerchant.
    """
    merchant = merchant_of_user(store, user_id)
    if merchant is not None:
        return merchant
    mine = merchant_of_owner(store, user_id)
    if mine is None:
        raise NotAMerchant(user_id)
    if mine.state is MerchantState.APPLIED:
        raise ApplicationWaiting(user_id)
    if mine.state is MerchantState.REJECTED:
        raise ApplicationRejected(user_id)
    raise MerchantSuspended(user_id)


class MerchantService:
    """What merchants do from the chat, and what reelcart tells shoppers on their behalf."""

    def __init__(
        self,
        db: DatabaseWorker,
        ranking: RankingThread,
        refresh: Callable[[list[Product]], None],
        clips_dir: Path,
    ) -> None:
        """``refresh(products)`` (blocking) brings the index and the ranking in line with
        changed products; ``clips_dir`` keeps the clips merchants send."""
        self.db = db
        self.ranking = ranking
        self._refresh = refresh
        self.clips_dir = clips_dir

    async def refreshed(self, products: list[Product]) -> None:
        """Let the feed see these products as they are now (index and ranking)."""
        if products:
            await asyncio.to_thread(self._refresh, products)

    async def ranked(self, products: Sequence[Product]) -> None:
        """Tell the ranking about these products' new state (no index change needed)."""
        for product in products:
            await self.ranking.run(HybridRecommender.update_product, product)

    # -- who is a merchant -----------------------------------------------------------------

    async def owned(self, user_id: int) -> Merchant | None:
        """The shop this user runs or applied for, in whatever state."""
        return await self.db.run(merchant_of_owner, user_id)

    async def active(self, user_id: int) -> Merchant | None:
        """The user's approved, non-suspended shop, or None."""
        return await self.db.run(merchant_of_user, user_id)

    async def require(self, user_id: int) -> Merchant:
        """The user's approved, non-suspended shop.

        Raises:
            ApplicationWaiting, ApplicationRejected, MerchantSuspended, NotAMerchant.
        """
        return await self.db.run(require_merchant, user_id)

    async def apply(self, user_id: int, name: str, shop_url: str | None) -> Merchant:
        """Send an application. Raises AlreadyMerchant, NameTaken, InvalidInput."""
        return await self.db.run(submit_application, user_id, parse_shop_name(name), shop_url)

    async def merchant(self, merchant_id: int) -> Merchant | None:
        return await self.db.run(merchant_by_id, merchant_id)

    # -- products --------------------------------------------------------------------------

    async def page(self, merchant_id: int, page: int) -> ProductPage:
        """Page ``page`` (0-based, clamped) of the merchant's products."""
        page = max(0, page)
        products, total = await self.db.run(
            merchant_products, merchant_id, page * PAGE_SIZE, PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        if page >= pages:  # the list shrank (deletions): show its last page
            page = pages - 1
            products, total = await self.db.run(
                merchant_products, merchant_id, page * PAGE_SIZE, PAGE_SIZE
            )
        return ProductPage(products, page, pages, total)

    async def product(self, merchant_id: int, product_id: int) -> Product:
        """One of the merchant's products. Raises ProductNotFound for anyone else's."""
        return await self.db.run(merchant_product, merchant_id, product_id)

    async def moderation_note(self, product_id: int) -> str | None:
        return await self.db.run(moderation_note, product_id)

    async def set_paused(self, merchant_id: int, product_id: int, paused: bool) -> Product:
        status = ProductStatus.PAUSED if paused else ProductStatus.ACTIVE
        product = await self.db.run(
            update_product, merchant_id, product_id, {"status": status.value}
        )
        await self.refreshed([product])
        return product

    async def set_price(self, merchant_id: int, product_id: int, text: str) -> Product:
        """Raises InvalidInput, ProductNotFound. An untrusted merchant's product goes back
        to moderation."""
        current = await self.product(merchant_id, product_id)
        minor = parse_price(text, current.price.currency)
        product = await self.db.run(update_product, merchant_id, product_id, {"price_minor": minor})
        await self.ranked([product])
        return product

    async def set_stock(self, merchant_id: int, product_id: int, text: str) -> Product:
        """Raises InvalidInput, ProductNotFound."""
        stock = parse_stock(text)
        product = await self.db.run(update_product, merchant_id, product_id, {"stock": stock})
        await self.ranked([product])
        return product

    async def delete(self, merchant_id: int, product_id: int) -> Product:
        product = await self.db.run(delete_product, merchant_id, product_id)
        deleted = await self.db.run(get_products, [product_id])
        await self.refreshed(list(deleted.values()))
        return product

    async def product_by_sku(self, merchant_id: int, sku: str) -> Product:
        """Raises ProductNotFound (also for another merchant's SKU)."""
        return await self.db.run(product_by_sku, merchant_id, parse_sku(sku))

    async def attach_clip(self, merchant_id: int, sku: str, clip: Clip) -> Product:
        """Make ``clip`` the clip of the merchant's product ``sku``. Raises ProductNotFound,
        InvalidInput. An untrusted merchant's product goes back to moderation."""
        product = await self.product_by_sku(merchant_id, sku)
        await self.db.run(set_clip, replace(clip, product_id=product.id))
        updated = await self.db.run(get_product, product.id)
        await self.ranked([updated])
        if clip.duration:
            await self.ranking.run(
                HybridRecommender.set_clip_seconds, product.id, float(clip.duration)
            )
        return updated

    def clip_path(self, merchant_id: int, sku: str, suffix: str = ".mp4") -> Path:
        """Where a clip a merchant sent is kept (beside the database)."""
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", sku)[:MAX_SKU] or "clip"
        return self.clips_dir / str(merchant_id) / f"{safe}{suffix}"

    async def moderation_summary(self, product_ids: Sequence[int]) -> dict[ModerationState, int]:
        return await self.db.run(moderation_counts, list(product_ids))

    async def clip(self, product_id: int) -> Clip | None:
        return await self.db.run(get_clip, product_id)

    # -- restock alerts ----------------------------------------------------------------------

    async def due_restock_alerts(self, limit: int = 50) -> list[RestockAlert]:
        """Alerts to send now, each marked as being sent (see ``storage.outbox``)."""
        await self.db.run(outbox.plan_restock_alerts)
        return await self.db.run(outbox.claim_restock_alerts, limit)

    async def restock_alert_sent(self, alert: RestockAlert, outcome: Delivery) -> None:
        await self.db.run(outbox.mark_restock_alert, alert.restock_id, alert.user_id, outcome)

    async def settle_interrupted_alerts(self) -> int:
        """After a restart: alerts that were being sent are not sent again."""
        return await self.db.run(outbox.settle_interrupted_alerts)

    # -- referrals -------------------------------------------------------------------------

    async def referral_code(self, user_id: int) -> str:
        """The creator code this user's shared links carry."""
        return await self.db.run(referral_code, user_id)

    async def referral_click(self, code: str, visitor_id: int, product_id: int) -> bool:
        """Count a visit through a creator's link (not the creator's own)."""
        counted = await self.db.run(record_referral_click, code, visitor_id, product_id)
        if counted:
            log.info("referral click on product %s by user %s", product_id, visitor_id)
        return counted
