"""The demo catalog: imported with the real model, one merchant per shop host."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from reelcart import demo_data
from reelcart.config import Settings
from reelcart.domain import Clip
from reelcart.services.shop import Shop
from reelcart.storage.products import product_ids_by_sku


@dataclass
class DemoCatalog:
    """What the scripted shopper knows about the demo products: title -> category."""

    categories: dict[str, str] = field(default_factory=dict)
    in_stock: set[str] = field(default_factory=set)
    merchants: int = 0
    clips: int = 0

    @property
    def products(self) -> int:
        return len(self.categories)


def load_demo_catalog(settings: Settings, shop: Shop | None = None) -> DemoCatalog:
    """Import the demo catalog into ``settings.db_path`` (blocking; loads the model).

    Products are grouped into one merchant per shop host, as real shops would upload them.
    """
    text = demo_data.catalog_path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    by_host: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        host = urlsplit(row["shop_url"]).hostname or "reelcart-demo"
        by_host[host.removesuffix(".example")].append(row)
    own_shop = shop is None
    shop = shop or Shop.open(settings)
    catalog = DemoCatalog(merchants=len(by_host))
    try:
        for merchant, merchant_rows in sorted(by_host.items()):
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(merchant_rows)
            report = shop.import_bytes(out.getvalue().encode(), "catalog.csv", merchant)
            skus = {row["sku"]: row for row in merchant_rows}
            for sku, product_id in _ids(shop, report.merchant.id, list(skus)).items():
                path = demo_data.clip_path(sku)
                info = demo_data.clip_info(sku) or {}
                if path is not None:
                    shop.attach_clip(
                        Clip(
                            product_id=product_id,
                            source=str(path),
                            mime_type=str(info.get("mime_type", "video/mp4")),
                            duration=info.get("duration"),
                            width=info.get("width"),
                            height=info.get("height"),
                        )
                    )
                    catalog.clips += 1
                catalog.categories[skus[sku]["title"]] = skus[sku]["category"]
                if int(skus[sku]["stock"] or 0) > 0:
                    catalog.in_stock.add(skus[sku]["title"])
    finally:
        if own_shop:
            shop.close()
    return catalog


def _ids(shop: Shop, merchant_id: int, skus: list[str]) -> dict[str, int]:

    return shop.db.call(product_ids_by_sku, merchant_id, skus)
