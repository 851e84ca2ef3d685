"""The service workers that reach Telegram, all through one ``Messenger``: fulfilment of
payments, restock alerts, broadcasts and notices. ``Shop.connect`` builds them once the
bot exists; handlers and jobs only call them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reelcart.domain import Broadcast
from reelcart.services.broadcast import BroadcastService, Progress
from reelcart.services.feed import FeedService
from reelcart.services.fulfilment import Crash, Fulfilment, never_crash
from reelcart.services.merchants import MerchantService
from reelcart.services.messenger import Messenger
from reelcart.services.notices import Notices
from reelcart.services.orders import OrderService
from reelcart.services.restock import RestockAlerts


@dataclass
class Outbox:
    """Everything that sends on its own, sharing one messenger and one retry rule."""

    messenger: Messenger
    fulfilment: Fulfilment
    restock: RestockAlerts
    notices: Notices
    broadcasts: BroadcastService

    @classmethod
    def build(
        cls,
        messenger: Messenger,
        *,
        orders: OrderService,
        feed: FeedService,
        merchants: MerchantService,
        broadcasts: BroadcastService,
        admin_ids: frozenset[int],
        crash: Crash = never_crash,
    ) -> Outbox:
        """The workers on the shop's services; ``crash`` arms the payment's crash points
        (tests of crash recovery only)."""
        return cls(
            messenger,
            Fulfilment(orders, feed, admin_ids, messenger, crash),
            RestockAlerts(merchants, messenger),
            Notices(feed, admin_ids, messenger),
            broadcasts,
        )

    async def broadcast(
        self,
        broadcast_id: int,
        progress: Progress,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> Broadcast | None:
        """Deliver a running broadcast (see ``BroadcastService.deliver``)."""
        return await self.broadcasts.deliver(broadcast_id, self.messenger, progress, keep_going)
