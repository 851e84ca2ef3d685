"""Handler tests: the real Application, fed updates with ``process_update``.

The network edge is the in-process sandbox (real HTTP on 127.0.0.1), the database a real
SQLite file, and the encoder the small deterministic HashingEncoder, since the model is not
the point here (the end-to-end tests use the real one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from reelcart import demo_data
from reelcart.bot import build_application
from reelcart.config import Settings
from reelcart.domain import Clip
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.sandbox import SandboxServer, SimulatedUser
from reelcart.sandbox.views import BotMessage
from reelcart.services.shop import Shop
from reelcart.storage.products import product_ids_by_sku

CATALOG = """sku,title,description,price,currency,stock,hashtags,category,kind,video_url,shop_url
C1,Ethiopian coffee beans,Floral light roast coffee beans,14.90,EUR,10,#coffee #beans,coffee,physical,,https://roast.example/c1
C2,Espresso dark roast,Chocolate dark roast coffee for espresso,12.50,EUR,10,#coffee #espresso,coffee,physical,,https://roast.example/c2
C3,Cold brew coffee kit,Coffee kit to brew cold brew overnight,29.00,EUR,5,#coffee #coldbrew,coffee,physical,,https://roast.example/c3
S1,Trail running sneaker,Grippy sneaker for trail running,119.00,EUR,4,#sneakers #running,sneakers,physical,,https://stride.example/s1
S2,Tom & Jerry canvas sneaker,Canvas sneaker for everyday city walks,59.00,EUR,4,#sneakers #canvas,sneakers,physical,,https://stride.example/s2
S3,Court leather sneaker,White leather sneaker for the court,95.00,EUR,0,#sneakers #leather,sneakers,physical,,https://stride.example/s3
P1,Monstera plant,Large leaf house plant for bright rooms,35.00,EUR,6,#plants #monstera,plants,physical,,https://green.example/p1
P2,Snake plant,Hardy plant that forgives forgetting,22.00,EUR,6,#plants #snake,plants,physical,,
B1,Python ebook,An ebook about writing Python programs,9.00,EUR,999,#books #python,books,digital,,https://pages.example/b1
"""
SKUS = ["C1", "C2", "C3", "S1", "S2", "S3", "P1", "P2", "B1"]


@dataclass
class Harness:
    server: SandboxServer
    application: ReelcartApplication
    shop: Shop

    def user(self, user_id: int = 1001, language_code: str = "en") -> SimulatedUser:
        return SimulatedUser(self.server, user_id, "Ana", language_code=language_code)


def open_test_shop(db_path: Path) -> Shop:
    settings = Settings(db_path=db_path, discovery_rate=0.0)
    shop = Shop.open(settings, encoder=HashingEncoder(64), seed=3)
    report = shop.import_bytes(CATALOG.encode(), "catalog.csv", "Test Shop")
    clip = demo_data.clip_path("COF-001")
    assert clip is not None
    ids = shop.db.call(product_ids_by_sku, report.merchant.id, SKUS)
    for sku, product_id in ids.items():
        if sku != "P2":  # P2 has no clip: it is shown with a placeholder picture
            shop.attach_clip(Clip(product_id, str(clip), duration=3, width=240, height=426))
    return shop


async def _pump(application: ReelcartApplication, server: SandboxServer) -> None:
    """Fetch updates from the sandbox and hand each to ``application.process_update``."""
    offset = 0
    while True:
        updates = await application.bot.get_updates(offset=offset, timeout=1)
        for update in updates:
            offset = update.update_id + 1
            await application.process_update(update)


@pytest_asyncio.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with SandboxServer(limits=None) as server:
        shop = await asyncio.to_thread(open_test_shop, tmp_path / "shop.db")
        settings = Settings(
            bot_token=server.token, api_root=server.root_url, db_path=tmp_path / "shop.db"
        )
        application = build_application(settings)
        application.bot_data.shop = shop
        async with application:
            pump = asyncio.create_task(_pump(application, server))
            try:
                yield Harness(server, application, shop)
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
        await asyncio.to_thread(shop.close)


async def fence(shopper: SimulatedUser) -> None:
    """Wait until every update this shopper sent before has been handled to the end."""
    await shopper.send_command("/help")
    await shopper.wait_for(lambda m: m.media_kind is None and not m.edited and "/feed" in m.text)


def on_screen(shopper: SimulatedUser, message: BotMessage) -> BotMessage:
    """The message as the shopper sees it now."""
    stored = shopper.chat.find(message.message_id)
    assert stored is not None
    return BotMessage(stored.data)
