"""Messages reelcart sends on its own (admin broadcasts, restock alerts, receipts) and where
each delivery to one recipient stands."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reelcart.domain.products import Product


class Delivery(StrEnum):
    """Where one message to one recipient stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Broadcast:
    """A broadcast and how far it got."""

    id: int
    admin_id: int
    text: str
    status: BroadcastStatus
    chat_id: int | None
    message_id: int | None
    language: str
    counts: dict[Delivery, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Recipients with a final state."""
        return self.total - self.counts[Delivery.PENDING] - self.counts[Delivery.SENDING]


@dataclass(frozen=True)
class RestockAlert:
    """One shopper to tell that a product they like is back in stock."""

    restock_id: int
    user_id: int
    product: Product
    language: str
