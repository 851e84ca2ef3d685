"""Your data: /mydata exports what reelcart holds about a person, /forget erases it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from reelcart.ranking import HybridRecommender
from reelcart.services.feed import RankingThread
from reelcart.storage.personal_data import erase_user_data, export_user_data, kept_orders
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

#: Anonymizes a user's paid orders (the commerce service's), returning how many it kept.
AnonymizeOrders = Callable[[int], Awaitable[int]]


@dataclass(frozen=True)
class Erasure:
    """What /forget did: rows erased by kind, and paid orders kept without the person."""

    erased: dict[str, int] = field(default_factory=dict)
    orders_kept: int = 0


class PrivacyService:
    """Export and erasure of one person's data."""

    def __init__(
        self,
        db: DatabaseWorker,
        ranking: RankingThread,
        anonymize_orders: AnonymizeOrders | None = None,
        forget_cached: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.ranking = ranking
        self.anonymize_orders = anonymize_orders
        #: Drops the user from the feed's memory of users (``FeedService.forget_user``).
        self.forget_cached = forget_cached

    async def export(self, user_id: int) -> bytes:
        """Everything reelcart holds about the user, as indented UTF-8 JSON."""
        tables = await self.db.run(export_user_data, user_id)
        document = {
            "about": "Everything reelcart holds about you, table by table.",
            "user_id": user_id,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tables": tables,
        }
        return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")

    async def forget(self, user_id: int) -> Erasure:
        """Erase the user's data; paid orders are kept, anonymized (accounting)."""
        kept = 0
        if self.anonymize_orders is not None:
            kept = await self.anonymize_orders(user_id)
        else:
            kept = await self.db.run(kept_orders, user_id)
        erased = await self.db.run(erase_user_data, user_id)
        if self.forget_cached is not None:
            self.forget_cached(user_id)
        await self.ranking.run(HybridRecommender.forget, user_id)
        log.info("erased the data of user %s: %s, %d orders kept", user_id, erased, kept)
        return Erasure(erased, kept)
