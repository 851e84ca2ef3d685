"""The shop: every service wired together once, from the settings.

``Shop.open`` is blocking (it loads the model and checks the index against the database);
the bot calls it from a thread at start-up. Afterwards everything is reached through the
async services, which keep the event loop free.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reelcart.catalog.importer import CatalogImporter, ImportReport, ProgressFn
from reelcart.catalog.store import Store
from reelcart.catalog.worker import DatabaseWorker
from reelcart.config import Settings
from reelcart.domain import Clip, Product
from reelcart.embeddings.encoder import Encoder, load_encoder
from reelcart.embeddings.pipeline import ProductEmbedder
from reelcart.ranking.recommender import Recommender
from reelcart.services.feed import FeedService, RankingThread

log = logging.getLogger(__name__)


@dataclass
class Shop:
    """All of reelcart below the handlers, for one database."""

    settings: Settings
    db: DatabaseWorker
    encoder: Encoder
    embedder: ProductEmbedder
    ranking: RankingThread
    feed: FeedService
    importer: CatalogImporter

    @classmethod
    def open(
        cls, settings: Settings, encoder: Encoder | None = None, seed: int | None = None
    ) -> Shop:
        """Open the database, load the model, sync the index and replay the event log."""
        db = DatabaseWorker(settings.db_path)
        encoder = encoder or load_encoder(settings.model)
        embedder = ProductEmbedder(encoder, db)
        index = embedder.sync_index(settings.index_path)
        recommender = Recommender(index, discovery_rate=settings.discovery_rate, seed=seed)
        products = db.call(Store.all_products)
        recommender.load_products(products)
        for user in db.call(Store.all_users):
            if user.interests:
                recommender.set_interests(user.id, list(user.interests))
        replayed = 0
        for reaction in db.call(lambda store: list(store.iter_events())):
            recommender.observe(reaction)
            replayed += 1
        log.info(
            "shop open: %d products, %d vectors, %d events replayed",
            len(products),
            len(index),
            replayed,
        )
        ranking = RankingThread(recommender)
        feed = FeedService(db, ranking, encoder)
        shop = cls(settings, db, encoder, embedder, ranking, feed, None)  # type: ignore[arg-type]
        shop.importer = CatalogImporter(db, on_changed=shop._products_changed)
        return shop

    def close(self) -> None:
        """Finish queued work, persist the index, close the database."""
        self.feed.close()
        self.ranking.call(lambda rec: rec.index.save(self.settings.index_path))
        self.ranking.close()
        self.db.close()

    # -- catalog -----------------------------------------------------------------------

    def import_file(
        self, path: Path, merchant: str, progress: ProgressFn | None = None
    ) -> ImportReport:
        """Import a catalog file (blocking: the CLI, or a thread in the bot)."""
        return self.importer.import_path(path, merchant, progress)

    def import_bytes(
        self, data: bytes, filename: str, merchant: str, progress: ProgressFn | None = None
    ) -> ImportReport:
        return self.importer.import_bytes(data, filename, merchant, progress)

    def _products_changed(self, products: list[Product], progress: ProgressFn) -> None:
        """Embed changed products (this thread), then index them (the ranking thread)."""
        vectors = self.embedder.vectors_for(
            products, progress=lambda done, total: progress("embedded", done, total)
        )
        total = len(products)

        def apply(rec: Recommender) -> None:
            self.embedder.apply(rec.index, vectors)
            for product in products:
                rec.update_product(product)
            rec.index.save(self.settings.index_path)

        self.ranking.call(apply)
        progress("indexed", total, total)

    def attach_clip(self, clip: Clip) -> None:
        """Attach a clip to a product (blocking)."""
        self.db.call(Store.set_clip, clip)

    def product_count(self) -> int:
        return len(self.ranking.recommender.index)

    # -- helpers for the handlers ------------------------------------------------------

    async def clip(self, product_id: int) -> Clip | None:
        return await self.db.run(Store.get_clip, product_id)

    async def placeholder_image(self, product: Product) -> bytes:
        """A plain PNG card for a product that has no clip yet."""
        return await asyncio.to_thread(_placeholder_png, product.title)

    async def products(self, ids: Sequence[int]) -> dict[int, Product]:
        return await self.db.run(Store.get_products, list(ids))


def _placeholder_png(title: str) -> bytes:
    from PIL import Image, ImageDraw  # Pillow comes with matplotlib

    image = Image.new("RGB", (480, 480), (32, 32, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle((24, 24, 456, 456), outline=(240, 90, 120), width=6)
    draw.text((48, 220), title[:40], fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
