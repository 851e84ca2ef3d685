"""Commerce tests: the real services on a real SQLite file.

The encoder is the small deterministic HashingEncoder (the model is not the point here);
the end-to-end tests in ``tests/e2e/test_commerce.py`` run the real bot process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from reelcart.config import Settings
from reelcart.domain import Product
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.services.orders import OrderService, Payment
from reelcart.services.shop import Shop
from reelcart.storage.products import get_product, product_ids_by_sku

PROVIDER = "284685063:TEST:reelcart-tests"
ROAST = """sku,title,description,price,currency,stock,hashtags,category,kind,video_url,shop_url
C1,Ethiopian coffee beans,Floral light roast beans,14.90,EUR,10,#coffee,coffee,physical,,https://roast.example/c1?ref=feed
C2,Espresso dark roast,Chocolate dark roast,12.50,EUR,1,#coffee,coffee,physical,,https://roast.example/c2
E1,Coffee brewing ebook,Brew better coffee at home,2.99,EUR,999,#coffee #ebook,books,digital,,https://roast.example/e1
E2,Latte art course,Pour hearts and tulips,19.00,EUR,1,#coffee #course,courses,digital,,
"""
STRIDE = """sku,title,description,price,currency,stock,hashtags,category,kind,video_url,shop_url
S1,Trail running sneaker,Grippy sneaker,119.00,EUR,4,#sneakers,sneakers,physical,,https://stride.example/s1
Y1,Tokyo sneaker,A sneaker priced in yen,12000,JPY,4,#sneakers,sneakers,physical,,
Y2,Tokyo ebook,An ebook priced in yen,900,JPY,4,#books,books,digital,,
"""


@dataclass
class Catalog:
    shop: Shop
    ids: dict[str, int]
    roast_id: int
    stride_id: int

    @property
    def orders(self) -> OrderService:
        return self.shop.orders

    def product(self, sku: str) -> Product:
        return self.shop.db.call(get_product, self.ids[sku])

    def sql(self, query: str, *params: object) -> list[tuple]:
        return self.shop.db.call(lambda store: store.db.execute(query, params).fetchall())


def open_shop(db_path: Path, **overrides: object) -> Catalog:
    settings = Settings(
        db_path=db_path,
        bot_token="123456:TEST-TOKEN-FOR-SIGNING",
        payment_provider_token=PROVIDER,
        public_url="https://bot.example",
        discovery_rate=0.0,
    ).with_overrides(**overrides)
    shop = Shop.open(settings, encoder=HashingEncoder(64), seed=3)
    ids: dict[str, int] = {}
    merchants = []
    for name, text in (("Roast Co", ROAST), ("Stride", STRIDE)):
        report = shop.import_bytes(text.encode(), "catalog.csv", name)
        skus = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
        ids.update(shop.db.call(product_ids_by_sku, report.merchant.id, skus))
        merchants.append(report.merchant.id)
    return Catalog(shop, ids, merchants[0], merchants[1])


@pytest_asyncio.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    opened = await asyncio.to_thread(open_shop, tmp_path / "shop.db")
    try:
        yield opened
    finally:
        await asyncio.to_thread(opened.shop.close)


_charges = iter(range(1, 10**6))


def payment_for(
    user_id: int,
    payload: str,
    currency: str,
    total: int,
    *,
    option: str | None = None,
    charge_id: str | None = None,
) -> Payment:
    """A successful_payment as Telegram would send it for this invoice."""
    paid: dict[str, object] = {
        "currency": currency,
        "total_amount": total,
        "invoice_payload": payload,
        "telegram_payment_charge_id": charge_id or f"charge-{next(_charges)}",
        "provider_payment_charge_id": "ch_test",
    }
    if option is not None:
        paid["shipping_option_id"] = option
        paid["order_info"] = {
            "name": "Ana",
            "shipping_address": {
                "country_code": "FR",
                "state": "",
                "city": "Paris",
                "street_line1": "1 Rue de Rivoli",
                "street_line2": "",
                "post_code": "75001",
            },
        }
    payment = Payment.from_message({"from": {"id": user_id}, "successful_payment": paid})
    assert payment is not None
    return payment
