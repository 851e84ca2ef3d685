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
from dataclasses import dataclass, field
from pathlib import Path

from reelcart.catalog.importer import CatalogImporter, ImportReport, ProgressFn
from reelcart.config import Settings
from reelcart.domain import Clip, Product
from reelcart.embeddings.encoder import Encoder, load_encoder
from reelcart.embeddings.pipeline import ProductEmbedder
from reelcart.embeddings.saver import IndexSaver
from reelcart.media.clip_links import ClipLinkCheck
from reelcart.ranking import HybridRecommender
from reelcart.services.admin import AdminService
from reelcart.services.broadcast import BroadcastService
from reelcart.services.feed import FeedService, RankingThread
from reelcart.services.fulfilment import Crash, never_crash
from reelcart.services.links import ShopLinks
from reelcart.services.merchants import MerchantService, attach_url_clips
from reelcart.services.messenger import Messenger
from reelcart.services.orders import OrderService
from reelcart.services.outbox import Outbox
from reelcart.services.privacy import PrivacyService
from reelcart.services.signing import root_secret
from reelcart.services.stats import StatsService
from reelcart.storage.events import iter_events
from reelcart.storage.moderation import approve_products
from reelcart.storage.products import all_products, get_clip, get_products, set_clip
from reelcart.storage.users import all_users
from reelcart.storage.worker import DatabaseWorker

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
    orders: OrderService = field(init=False)
    links: ShopLinks = field(init=False)
    merchants: MerchantService = field(init=False)
    admin: AdminService = field(init=False)
    broadcasts: BroadcastService = field(init=False)
    stats: StatsService = field(init=False)
    privacy: PrivacyService = field(init=False)
    index_saver: IndexSaver = field(init=False)
    #: The workers that send (set by ``connect`` once the bot exists).
    outbox: Outbox | None = field(init=False, default=None)

    @classmethod
    def open(
        cls, settings: Settings, encoder: Encoder | None = None, seed: int | None = None
    ) -> Shop:
        """Open the database, load the model, sync the index and replay the event log."""
        db = DatabaseWorker(settings.db_path)
        encoder = encoder or load_encoder(settings.model)
        embedder = ProductEmbedder(encoder, db)
        index = embedder.sync_index(settings.index_path)
        recommender = HybridRecommender(index, discovery_rate=settings.discovery_rate, seed=seed)
        products = db.call(all_products)
        recommender.load_products(products)
        for user in db.call(all_users):
            if user.interests:
                recommender.set_interests(user.id, list(user.interests))
        # One pass over the log; the collaborative model is built once at its end.
        replayed = recommender.replay(db.call(lambda store: list(iter_events(store))))
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
        secret = root_secret(settings)
        shop.orders = OrderService(db, ranking, settings, secret)
        shop.links = ShopLinks(feed, settings.public_url, secret)
        # Clips merchants send are kept beside the database (not named after its file:
        # tools treat ``<db>*`` as the database's own files).
        clips_dir = settings.db_path.with_name(settings.db_path.stem + "-clips")
        shop.merchants = MerchantService(db, ranking, shop.refresh_products, clips_dir)
        shop.admin = AdminService(
            db,
            ranking,
            settings.admin_ids,
            settings.discovery_rate,
            clip_links=ClipLinkCheck(allow_private=settings.allow_private_urls),
        )
        shop.admin.load()  # bans, and the settings saved from the admin panel
        shop.broadcasts = BroadcastService(db)
        shop.stats = StatsService(db)
        shop.privacy = PrivacyService(
            db, ranking, anonymize_orders=shop.orders.anonymize, forget_cached=feed.forget_user
        )
        shop.index_saver = IndexSaver(embedder.save)
        return shop

    def connect(self, messenger: Messenger, crash: Crash = never_crash) -> Outbox:
        """Give the workers that send (fulfilment, restock alerts, broadcasts, notices) their
        way to Telegram; returns them, kept as ``outbox``. ``crash`` arms the payment's
        crash points (tests of crash recovery only)."""
        self.outbox = Outbox.build(
            messenger,
            orders=self.orders,
            feed=self.feed,
            merchants=self.merchants,
            broadcasts=self.broadcasts,
            admin_ids=self.settings.admin_ids,
            crash=crash,
        )
        return self.outbox

    def close(self) -> None:
        """Finish queued work, persist the index if it changed, close the database."""
        self.feed.close()
        if self.index_saver.close():
            self.embedder.save()
        self.ranking.call(HybridRecommender.close)
        self.ranking.close()
        self.db.close()

    # -- catalog -----------------------------------------------------------------------

    def import_file(
        self, path: Path, merchant: str, progress: ProgressFn | None = None
    ) -> ImportReport:
        """Import a catalog file as the operator (blocking: the CLI).

        The operator is trusted: what the file creates or changes is approved at once,
        even for a merchant whose own uploads wait for moderation.
        """
        report = self.importer.import_path(path, merchant, progress)
        self.db.call(attach_url_clips, report.changed_ids)
        if self.db.call(approve_products, report.changed_ids, None):
            changed = self.db.call(get_products, report.changed_ids)
            self.refresh_products(list(changed.values()))
        return report

    def import_bytes(
        self, data: bytes, filename: str, merchant: str, progress: ProgressFn | None = None
    ) -> ImportReport:
        """Import a catalog file's bytes (blocking: a thread in the bot, the demo).

        Products of an untrusted merchant wait for moderation; ``video_url`` links become
        clips.
        """
        report = self.importer.import_bytes(data, filename, merchant, progress)
        self.db.call(attach_url_clips, report.changed_ids)
        return report

    def refresh_products(self, products: list[Product]) -> None:
        """Bring the index and the ranking in line with changed products (blocking)."""
        self._products_changed(products, lambda stage, done, total: None)

    def _products_changed(self, products: list[Product], progress: ProgressFn) -> None:
        """Embed changed products (this thread), then index them (the ranking thread)."""
        vectors = self.embedder.vectors_for(
            products, progress=lambda done, total: progress("embedded", done, total)
        )
        total = len(products)

        def apply(rec: HybridRecommender) -> bool:
            before = rec.index.version
            self.embedder.apply(rec.index, vectors)
            for product in products:
                rec.update_product(product)
            return rec.index.version != before

        if self.ranking.call(apply):
            # Written behind, on the saver's thread: a price or stock edit changes no
            # vector, and a burst of edits is one write of the file, not one each.
            self.index_saver.changed()
        progress("indexed", total, total)

    def attach_clip(self, clip: Clip) -> None:
        """Attach a clip to a product (blocking)."""
        self.db.call(set_clip, clip)

    def product_count(self) -> int:
        return len(self.ranking.recommender.index)

    # -- helpers for the handlers ------------------------------------------------------

    async def clip(self, product_id: int) -> Clip | None:
        return await self.db.run(get_clip, product_id)

    async def placeholder_image(self, product: Product) -> bytes:
        """A plain PNG card for a product that has no clip yet."""
        return await asyncio.to_thread(_placeholder_png, product.title)

    async def products(self, ids: Sequence[int]) -> dict[int, Product]:
        return await self.db.run(get_products, list(ids))


def _placeholder_png(title: str) -> bytes:
    from PIL import Image, ImageDraw  # Pillow comes with matplotlib

    image = Image.new("RGB", (480, 480), (32, 32, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle((24, 24, 456, 456), outline=(240, 90, 120), width=6)
    draw.text((48, 220), title[:40], fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
