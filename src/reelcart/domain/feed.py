"""The feed's words: the events it learns from, its picks and the cards it shows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reelcart.domain.products import Clip, Product


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
