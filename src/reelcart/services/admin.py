"""Admins: moderation, merchant applications, trust and suspension, bans, settings, audit.

Admins are the Telegram user ids in ``REELCART_ADMIN_IDS``; the handlers check
``is_admin`` before calling anything here. Every action is written to the audit log by the
data layer, in the same transaction as the change.

Moderation flags are computed when a moderator looks at a product, so they say how it is
now (a clip sent since the upload clears "no clip"):

- a blocklisted word (``BLOCKLIST``, English and French, whole words) in the title,
  description, hashtags or category;
- a price more than ``PRICE_FAR`` times the median of the approved products of the same
  category and currency, or less than a ``PRICE_FAR``-th of it (with at least
  ``PRICE_NORM_MIN`` such products to compare with);
- no clip, or a clip that cannot play (a missing file, a link that is not a video file,
  or a link that does not answer with a video: ``media.clip_links`` asks it).
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from reelcart.domain import (
    Application,
    AuditEntry,
    Merchant,
    MerchantSummary,
    ModerationItem,
    Money,
    Order,
    Product,
    ReelcartError,
    UserSummary,
)
from reelcart.media.clip_links import ClipLinkCheck
from reelcart.ranking import MAX_CATEGORY_RUN, HybridRecommender
from reelcart.services.feed import RankingThread
from reelcart.services.merchants import clip_looks_broken
from reelcart.storage.audit import audit_entries, record_audit
from reelcart.storage.merchants import (
    decide_application,
    list_merchants,
    merchant_summary,
    pending_applications,
    set_merchant_flag,
)
from reelcart.storage.moderation import decide_product, moderation_item, pending_count
from reelcart.storage.products import get_products, merchant_product_ids
from reelcart.storage.settings import get_settings, put_setting
from reelcart.storage.store import Store
from reelcart.storage.users import (
    banned_ids,
    banned_users,
    find_user,
    set_banned,
    set_blocked,
    user_summary,
)
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

#: Words that hold a product for a closer look (whole words, any case). Kept short on
#: purpose: a flag asks a moderator to look, it decides nothing.
BLOCKLIST = (
    "counterfeit",
    "replica",
    "knockoff",
    "fake",
    "weapon",
    "gun",
    "ammo",
    "ammunition",
    "explosive",
    "cocaine",
    "heroin",
    "cannabis",
    "narcotics",
    "casino",
    "viagra",
    "contrefaçon",
    "contrefacon",
    "réplique",
    "arme",
    "munitions",
    "drogue",
    "stupéfiant",
)
_BLOCKED = re.compile(r"\b(" + "|".join(map(re.escape, BLOCKLIST)) + r")\b", re.IGNORECASE)
PRICE_FAR = 5.0
PRICE_NORM_MIN = 3
#: Choices offered in the settings panel.
DISCOVERY_CHOICES = (0, 5, 10, 20, 30)
MERCHANT_RUN_CHOICES = (1, 2, 3, 5, 0)
SETTING_DISCOVERY = "discovery_rate"
SETTING_MERCHANT_RUN = "max_merchant_run"
PAGE_SIZE = 8
#: A banned user who keeps writing is told so at most once in this many seconds.
BANNED_NOTICE_EVERY = 600.0


class CannotBanAdmin(ReelcartError):
    message_key = "admin.cannot_ban_admin"


@dataclass(frozen=True)
class Flag:
    """Why a moderator should look twice. ``kind``: ``blocklist``, ``price_high``,
    ``price_low``, ``no_clip`` or ``broken_clip``."""

    kind: str
    words: tuple[str, ...] = ()
    ratio: float = 0.0
    median: Money | None = None


@dataclass(frozen=True)
class ShopSettings:
    """Settings an admin changes from the panel (persisted, applied live)."""

    discovery_rate: float
    max_merchant_run: int  # 0: no limit


@dataclass(frozen=True)
class PanelCounts:
    pending_products: int
    applications: int


def moderation_flags(item: ModerationItem) -> list[Flag]:
    """The automatic flags of a product waiting in the moderation queue."""
    product = item.product
    flags: list[Flag] = []
    text = " ".join(
        (
            product.title,
            product.description,
            " ".join(product.hashtags),
            product.category.replace("-", " "),
        )
    )
    words = sorted({match.lower() for match in _BLOCKED.findall(text)})
    if words:
        flags.append(Flag("blocklist", words=tuple(words)))
    if len(item.category_prices) >= PRICE_NORM_MIN:
        median = statistics.median(item.category_prices)
        if median > 0:
            ratio = product.price.minor / median
            norm = Money(round(median), product.price.currency)
            if ratio > PRICE_FAR:
                flags.append(Flag("price_high", ratio=ratio, median=norm))
            elif ratio < 1 / PRICE_FAR:
                flags.append(Flag("price_low", ratio=ratio, median=norm))
    if item.clip is None:
        flags.append(Flag("no_clip"))
    elif clip_looks_broken(item.clip):
        flags.append(Flag("broken_clip"))
    return flags


class AdminService:
    """What the /admin panel does."""

    def __init__(
        self,
        db: DatabaseWorker,
        ranking: RankingThread,
        admin_ids: frozenset[int],
        default_discovery_rate: float,
        clock: Callable[[], float] = time.monotonic,
        clip_links: ClipLinkCheck | None = None,
    ) -> None:
        self.db = db
        self.clip_links = clip_links or ClipLinkCheck()
        self.ranking = ranking
        self.admin_ids = admin_ids
        self._default_discovery = default_discovery_rate
        #: Banned users, kept in memory: every update is checked against it.
        self.banned: set[int] = set()
        #: The clock of the banned-notice throttle (``time.monotonic``: its origin is the
        #: boot, so a small value is a recent boot, not a long time ago).
        self.clock = clock
        self._banned_told: dict[int, float] = {}
        #: Admins whose chat menu could not be set at start (they had never written to
        #: the bot): the handlers set it when they first do.
        self.menus_pending: set[int] = set()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    def load(self) -> ShopSettings:
        """At start-up (blocking): read bans and apply the saved settings to the ranking."""
        self.banned = self.db.call(banned_ids)
        settings = self._settings(self.db.call(get_settings))
        self.ranking.call(_apply_settings, settings)
        return settings

    # -- moderation --------------------------------------------------------------------

    async def counts(self) -> PanelCounts:
        pending = await self.db.run(pending_count)
        _, applications = await self.db.run(pending_applications, 0, 0)
        return PanelCounts(pending, applications)

    async def queue_item(
        self, offset: int, merchant_id: int | None = None
    ) -> tuple[ModerationItem | None, int, list[Flag]]:
        """The pending product at ``offset`` (wrapping around) of one merchant's products or
        all, the queue's length, and the product's flags."""
        item, total, flags = await self.db.run(_queue_item, offset, merchant_id)
        if item is None and total and offset:
            item, total, flags = await self.db.run(_queue_item, offset % total, merchant_id)
        broken = Flag("broken_clip")
        if item and broken not in flags and await self.clip_links.clip_is_dead(item.clip):
            flags.append(broken)
        return item, total, flags

    async def decide_product(
        self, product_id: int, approve: bool, admin_id: int, reason: str = ""
    ) -> Product | None:
        """Approve or reject a pending product (the feed follows at once); None if it was
        decided already."""
        product = await self.db.run(
            decide_product, product_id, approve, admin_id, reason.strip()[:300]
        )
        if product is not None:
            await self.ranking.run(HybridRecommender.update_product, product)
            log.info(
                "admin %s %s product %s",
                admin_id,
                "approved" if approve else "rejected",
                product_id,
            )
        return product

    # -- merchants -----------------------------------------------------------------------

    async def applications(self, offset: int, limit: int = 1) -> tuple[list[Application], int]:
        return await self.db.run(pending_applications, offset, limit)

    async def decide_application(
        self, merchant_id: int, approve: bool, admin_id: int, reason: str = ""
    ) -> Merchant | None:
        """None if the application was decided already (or does not exist)."""
        return await self.db.run(
            decide_application, merchant_id, approve, admin_id, reason.strip()[:300]
        )

    async def merchants(self, page: int) -> tuple[list[MerchantSummary], int, int]:
        """A page of approved merchants, the page number (clamped) and the page count."""
        _, total = await self.db.run(list_merchants, 0, 0)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(0, page), pages - 1)
        found, _ = await self.db.run(list_merchants, page * PAGE_SIZE, PAGE_SIZE)
        return found, page, pages

    async def merchant(self, merchant_id: int) -> MerchantSummary | None:
        return await self.db.run(merchant_summary, merchant_id)

    async def set_trusted(self, merchant_id: int, trusted: bool, admin_id: int) -> Merchant | None:
        return await self.db.run(set_merchant_flag, merchant_id, "trusted", trusted, admin_id)

    async def set_suspended(
        self, merchant_id: int, suspended: bool, admin_id: int
    ) -> Merchant | None:
        """Suspend (every product leaves the feed at once) or reinstate a merchant."""
        merchant = await self.db.run(
            set_merchant_flag, merchant_id, "suspended", suspended, admin_id
        )
        if merchant is not None:
            ids = await self.db.run(merchant_product_ids, merchant_id)
            products = await self.db.run(get_products, ids)
            for product in products.values():
                await self.ranking.run(HybridRecommender.update_product, product)
        return merchant

    # -- users -------------------------------------------------------------------------

    async def find_user(self, handle: str) -> int | None:
        return await self.db.run(find_user, handle)

    async def user(self, user_id: int) -> UserSummary:
        return await self.db.run(user_summary, user_id)

    async def banned_users(self, limit: int = 10) -> list[UserSummary]:
        return await self.db.run(banned_users, limit)

    async def set_banned(self, user_id: int, banned: bool, admin_id: int) -> bool:
        """Ban or unban; False if nothing changed. Raises CannotBanAdmin."""
        if banned and self.is_admin(user_id):
            raise CannotBanAdmin(user_id)
        changed = await self.db.run(set_banned, user_id, banned, admin_id)
        if banned:
            self.banned.add(user_id)
        else:
            self.banned.discard(user_id)
            self._banned_told.pop(user_id, None)
        return changed

    def banned_notice_due(self, user_id: int) -> bool:
        """Whether to tell a banned user (again) that they are banned: the first time, then
        at most once every ``BANNED_NOTICE_EVERY`` seconds. True claims the notice."""
        now = self.clock()
        last = self._banned_told.get(user_id)  # None: never told
        if last is not None and now - last < BANNED_NOTICE_EVERY:
            return False
        self._banned_told[user_id] = now
        return True

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        """The user blocked (or unblocked) the bot."""
        await self.db.run(set_blocked, user_id, blocked)

    # -- settings ----------------------------------------------------------------------

    def _settings(self, saved: dict[str, str]) -> ShopSettings:
        try:
            rate = float(saved.get(SETTING_DISCOVERY, self._default_discovery))
        except ValueError:
            rate = self._default_discovery
        try:
            run = int(saved.get(SETTING_MERCHANT_RUN, MAX_CATEGORY_RUN))
        except ValueError:
            run = MAX_CATEGORY_RUN
        if run not in MERCHANT_RUN_CHOICES:
            run = MAX_CATEGORY_RUN
        return ShopSettings(min(max(rate, 0.0), 1.0), run)

    async def settings(self) -> ShopSettings:
        return self._settings(await self.db.run(get_settings))

    async def set_discovery_percent(self, percent: int, admin_id: int) -> ShopSettings:
        """Raises ValueError for a value the panel does not offer."""
        if percent not in DISCOVERY_CHOICES:
            raise ValueError(percent)
        return await self._put(SETTING_DISCOVERY, str(percent / 100), admin_id)

    async def set_merchant_run(self, run: int, admin_id: int) -> ShopSettings:
        """Raises ValueError for a value the panel does not offer."""
        if run not in MERCHANT_RUN_CHOICES:
            raise ValueError(run)
        return await self._put(SETTING_MERCHANT_RUN, str(run), admin_id)

    async def _put(self, key: str, value: str, admin_id: int) -> ShopSettings:
        await self.db.run(put_setting, key, value, admin_id)
        settings = await self.settings()
        await self.ranking.run(_apply_settings, settings)
        log.info("admin %s set %s to %s", admin_id, key, value)
        return settings

    # -- audit -------------------------------------------------------------------------

    async def audit(self, page: int, size: int = 10) -> tuple[list[AuditEntry], int, int]:
        """A page of the audit log (newest first), the page (clamped), the page count."""
        _, total = await self.db.run(audit_entries, 0, 0)
        pages = max(1, -(-total // size))
        page = min(max(0, page), pages - 1)
        entries, _ = await self.db.run(audit_entries, page * size, size)
        return entries, page, pages

    async def record(
        self, admin_id: int, action: str, target_kind: str, target_id: int | None, detail: str = ""
    ) -> None:
        """Write an audit entry for an action taken elsewhere (e.g. a refund)."""
        await self.db.run(record_audit, admin_id, action, target_kind, target_id, detail)

    async def record_refund(self, admin_id: int, order: Order) -> None:
        """Write the audit entry of a Stars refund an admin made (``order.refund``)."""
        detail = f"{order.total.minor} {order.total.currency}, user {order.user_id}"
        await self.record(admin_id, "order.refund", "order", order.id, detail)


def _queue_item(
    store: Store, offset: int, merchant_id: int | None
) -> tuple[ModerationItem | None, int, list[Flag]]:
    """On the database thread (the flags look at clip files too)."""
    item, total = moderation_item(store, offset, merchant_id)
    return item, total, moderation_flags(item) if item else []


def _apply_settings(recommender: HybridRecommender, settings: ShopSettings) -> None:
    """On the ranking thread: the discovery rate and the merchant run limit, live."""
    recommender.discovery_rate = settings.discovery_rate
    recommender.max_merchant_run = settings.max_merchant_run
