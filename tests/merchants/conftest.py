"""Merchant and admin tests: the real services on a real SQLite file.

The encoder is the small deterministic HashingEncoder (the model is not the point here);
``tests/e2e/test_merchants.py`` runs the real bot process with the real model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from reelcart.config import Settings
from reelcart.domain import EventKind, Merchant, Product, Reaction
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.services.shop import Shop
from reelcart.storage.events import add_event
from reelcart.storage.merchants import merchant_of_user, submit_application
from reelcart.storage.products import get_product
from reelcart.storage.users import touch_user

ADMIN = 7001
DIM = 64  # the HashingEncoder's vector size
HEADER = "sku,title,description,price,currency,stock,hashtags,category,kind,video_url,shop_url\n"
TEAS = HEADER + (
    "T1,Darjeeling first flush,Muscatel black tea,16.50,EUR,3,#tea,tea,physical,,\n"
    "T2,Sencha green tea,Grassy steamed green tea,12.00,EUR,0,#tea,tea,physical,,\n"
    "T3,Assam breakfast tea,Malty strong black tea,11.50,EUR,8,#tea,tea,physical,,\n"
)


@dataclass
class Back:
    """A shop with the back office's services, and helpers to look inside."""

    shop: Shop

    def sql(self, query: str, *params: object) -> list[tuple]:
        return self.shop.db.call(lambda store: store.db.execute(query, params).fetchall())

    def value(self, query: str, *params: object) -> object:
        found = self.sql(query, *params)
        return found[0][0] if found else None

    def product(self, product_id: int) -> Product:
        return self.shop.db.call(get_product, product_id)

    def ids(self, merchant_id: int) -> dict[str, int]:
        return dict(self.sql("SELECT sku, id FROM products WHERE merchant_id = ?", merchant_id))

    def merchant(self, owner: int, name: str, *, trusted: bool = False) -> Merchant:
        """An approved merchant run by ``owner`` (applied through the real path)."""
        self.shop.db.call(touch_user, owner, name, None, "en")
        merchant = self.shop.db.call(submit_application, owner, name, None)
        self.sql(
            "UPDATE merchants SET state = 'approved', trusted = ? WHERE id = ?",
            int(trusted),
            merchant.id,
        )
        found = self.shop.db.call(merchant_of_user, owner)
        assert found is not None
        return found

    def upload(self, merchant: Merchant, csv: str = TEAS) -> dict[str, int]:
        report = self.shop.import_bytes(csv.encode(), "teas.csv", merchant.name)
        assert not report.errors, report.errors
        return self.ids(merchant.id)

    def react(self, user_id: int, product_id: int, kind: EventKind, at: float = 0.0) -> None:
        self.shop.db.call(touch_user, user_id, f"U{user_id}", None, "en")
        self.shop.db.call(add_event, Reaction(user_id, product_id, kind, at=at or time.time()))


def open_back(db_path: Path) -> Back:
    settings = Settings(db_path=db_path, admin_ids=frozenset({ADMIN}), discovery_rate=0.0)
    return Back(Shop.open(settings, encoder=HashingEncoder(DIM), seed=5))


@pytest_asyncio.fixture
async def back(tmp_path: Path) -> AsyncIterator[Back]:
    opened = await asyncio.to_thread(open_back, tmp_path / "shop.db")
    try:
        yield opened
    finally:
        await asyncio.to_thread(opened.shop.close)
