"""Tracked links to a merchant's own shop: ``/go/<token>`` counts the click, then redirects.

The token names a product and the shopper it was shown to, with the time it was issued,
all in base 36, and a signature over them: ``<product>.<user>.<issued>.<signature>`` (about
45 URL-safe characters). A token that does not verify is answered 404 and counts nothing.
Without ``REELCART_PUBLIC_URL`` there is no public address to send people to, so the 🔗
button links straight to the shop and clicks are not counted.

A click counts once per shopper, product and hour: following a link records a
``shop_click`` unless that shopper's click on that product was counted less than an hour
(``CLICK_WINDOW_S``) before, whichever token it came through. A replayed, reloaded or
double-tapped link still redirects every time; it just does not inflate the merchant's
clicks or the shopper's taste.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reelcart.domain import EventKind, Product, ProductNotFound, Reaction
from reelcart.services.feed import FeedService
from reelcart.services.signing import Signer
from reelcart.storage.events import add_shop_click

log = logging.getLogger(__name__)

GO_PATH = "/go/"
#: A shopper's clicks on one product count once in this many seconds.
CLICK_WINDOW_S = 3600.0
_PART = r"[0-9a-z]{1,13}"
_TOKEN = re.compile(rf"^({_PART})\.({_PART})\.({_PART})\.([A-Za-z0-9_-]{{22}})$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(number: int) -> str:
    if number < 0:
        raise ValueError("only non-negative numbers")
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if number == 0:
            return text


def with_utm(url: str, merchant: str, sku: str) -> str:
    """``url`` with reelcart's UTM parameters added; the URL's own parameters are kept
    (an existing ``utm_*`` of the same name is replaced, so each appears once)."""
    ours = {
        "utm_source": "telegram",
        "utm_medium": "reelcart",
        "utm_campaign": merchant,
        "utm_content": sku,
    }
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    return urlunsplit(parts._replace(query=urlencode([*kept, *ours.items()])))


@dataclass(frozen=True)
class LinkToken:
    """What a valid token says: which product, shown to whom, when."""

    product_id: int
    user_id: int
    issued_at: int


class ShopLinks:
    """Makes the 🔗 URL of a card and follows tracked links."""

    def __init__(
        self,
        feed: FeedService,
        public_url: str | None,
        secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.feed = feed
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock
        self._signer = Signer(secret, "shop-link")

    @property
    def tracked(self) -> bool:
        """Whether clicks are counted (only with a public URL to send people through)."""
        return self.public_url is not None

    def token(self, product_id: int, user_id: int, issued_at: int | None = None) -> str:
        """A signed, URL-safe token for this product shown to this user."""
        issued = int(self.clock()) if issued_at is None else issued_at
        fields = (_b36(product_id), _b36(user_id), _b36(issued))
        return ".".join((*fields, self._signer.sign(*fields)))

    def read(self, token: str) -> LinkToken | None:
        """The token's content if reelcart signed it unchanged, else None."""
        match = _TOKEN.match(token)
        if not match or not self._signer.verify(match[4], match[1], match[2], match[3]):
            return None
        return LinkToken(int(match[1], 36), int(match[2], 36), int(match[3], 36))

    def url_for(self, product: Product, user_id: int) -> str | None:
        """The 🔗 URL for a card: tracked through reelcart if it has a public URL."""
        if not product.shop_url:
            return None
        if self.public_url is None:
            return product.shop_url
        return f"{self.public_url}{GO_PATH}{self.token(product.id, user_id)}"

    async def follow(self, token: str, count: bool = True) -> str | None:
        """Where a tracked link leads (with UTM parameters), recording the shop click if
        ``count`` and none of this shopper's on this product counted in the last hour.

        None (and nothing recorded) for a tampered token or a product with no shop.
        """
        link = self.read(token)
        if link is None:
            log.info("shop link with a bad token refused")
            return None
        try:
            product = await self.feed.product(link.product_id)
        except ProductNotFound:
            return None
        if not product.shop_url:
            return None
        if count:
            click = Reaction(link.user_id, product.id, EventKind.SHOP_CLICK, at=self.clock())
            if await self.feed.db.run(add_shop_click, click, CLICK_WINDOW_S):
                await self.feed.ranking.run(_observe, click)
        return with_utm(product.shop_url, product.merchant_name, product.sku)


def _observe(recommender: Any, reaction: Reaction) -> None:
    """On the ranking thread: the feed learns from a counted click."""
    recommender.observe(reaction)
