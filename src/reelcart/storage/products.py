"""Products and their clips: what a catalog import writes, what the feed reads, and what a
merchant changes on their own products. Every function that acts for a merchant takes the
merchant's id and filters by it in SQL, so no id a merchant types or forges reaches another
merchant's rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from reelcart.domain import (
    Clip,
    ModerationState,
    Money,
    Product,
    ProductKind,
    ProductNotFound,
    ProductStatus,
)
from reelcart.domain.catalog import CatalogRow, RowOutcome
from reelcart.storage.store import Store, rows, scalar

_PRODUCT_SELECT = (
    "SELECT p.*, m.name AS merchant_name, m.suspended AS merchant_suspended "
    "FROM products p JOIN merchants m ON m.id = p.merchant_id"
)


def _product(row: dict) -> Product:
    return Product(
        id=row["id"],
        merchant_id=row["merchant_id"],
        sku=row["sku"],
        title=row["title"],
        description=row["description"] or "",
        price=Money(row["price_minor"], row["currency"]),
        stock=row["stock"],
        hashtags=tuple(tag for tag in (row["hashtags"] or "").split() if tag),
        category=row["category"] or "",
        kind=ProductKind(row["kind"]),
        shop_url=row["shop_url"] or None,
        video_url=row["video_url"] or None,
        status=ProductStatus(row["status"]),
        merchant_name=row.get("merchant_name") or "",
        # A suspended merchant's products read as suspended, whatever their own state.
        moderation=ModerationState.SUSPENDED
        if row.get("merchant_suspended")
        else ModerationState(row.get("moderation") or ModerationState.APPROVED.value),
    )


def upsert_rows(
    store: Store, merchant_id: int, catalog_rows: Sequence[CatalogRow]
) -> list[RowOutcome]:
    """Insert or update products by (merchant, sku), atomically; one outcome per row."""
    now = time.time()
    outcomes: list[RowOutcome] = []
    with store.db.atomic():
        for row in catalog_rows:
            digest = row.content_hash()
            found = store.db.execute(
                "SELECT id, content_hash FROM products WHERE merchant_id = ? AND sku = ?",
                [merchant_id, row.sku],
            ).fetchone()
            values = {
                "merchant_id": merchant_id,
                "sku": row.sku,
                "title": row.title,
                "description": row.description,
                "price_minor": row.price.minor,
                "currency": row.price.currency,
                "stock": row.stock,
                "hashtags": " ".join(row.hashtags),
                "category": row.category,
                "kind": row.kind.value,
                "video_url": row.video_url,
                "shop_url": row.shop_url,
                "content_hash": digest,
                "updated_at": now,
            }
            if found is None:
                store.db.table("products").insert(
                    {**values, "status": ProductStatus.ACTIVE.value, "created_at": now}
                )
                outcomes.append(RowOutcome.CREATED)
            elif found[1] == digest:
                outcomes.append(RowOutcome.UNCHANGED)
            else:
                store.db.table("products").update(found[0], values)
                outcomes.append(RowOutcome.UPDATED)
    return outcomes


def product_ids_by_sku(store: Store, merchant_id: int, skus: Iterable[str]) -> dict[str, int]:
    wanted = list(skus)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT sku, id FROM products WHERE merchant_id = ? AND sku IN ({marks})"
        found.update(dict(store.db.execute(sql, [merchant_id, *chunk]).fetchall()))
    return found


def get_product(store: Store, product_id: int) -> Product:
    """Raise ProductNotFound for an unknown or deleted product."""
    found = rows(store, _PRODUCT_SELECT + " WHERE p.id = ?", [product_id])
    if not found or found[0]["status"] == ProductStatus.DELETED.value:
        raise ProductNotFound(product_id)
    return _product(found[0])


def get_products(store: Store, product_ids: Sequence[int]) -> dict[int, Product]:
    found: dict[int, Product] = {}
    ids = list(product_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in rows(store, _PRODUCT_SELECT + f" WHERE p.id IN ({marks})", chunk):
            found[row["id"]] = _product(row)
    return found


def all_products(store: Store, include_deleted: bool = False) -> list[Product]:
    where = "" if include_deleted else " WHERE p.status != 'deleted'"
    return [_product(row) for row in rows(store, _PRODUCT_SELECT + where + " ORDER BY p.id")]


def set_stock(store: Store, product_id: int, stock: int) -> None:
    store.db.table("products").update(product_id, {"stock": stock, "updated_at": time.time()})


def set_product_status(store: Store, product_id: int, status: ProductStatus) -> None:
    store.db.table("products").update(
        product_id, {"status": status.value, "updated_at": time.time()}
    )


def interest_options(store: Store, limit: int = 12) -> list[str]:
    """Categories of active products, most stocked first: the onboarding choices."""
    sql = (
        "SELECT category FROM products WHERE status = 'active' AND category != '' "
        "AND moderation = 'approved' "
        "GROUP BY category ORDER BY count(*) DESC, category LIMIT ?"
    )
    return [row[0] for row in store.db.execute(sql, [limit]).fetchall()]


# -- clips --------------------------------------------------------------------------------


def get_clip(store: Store, product_id: int) -> Clip | None:
    found = rows(store, "SELECT * FROM clips WHERE product_id = ?", [product_id])
    if not found:
        return None
    row = found[0]
    return Clip(
        product_id=row["product_id"],
        source=row["source"],
        mime_type=row["mime_type"] or "video/mp4",
        duration=row["duration"],
        width=row["width"],
        height=row["height"],
        file_id=row["file_id"],
    )


def set_clip(store: Store, clip: Clip) -> None:
    """Attach or replace a product's clip; a new source forgets the cached file_id."""
    current = get_clip(store, clip.product_id)
    file_id = clip.file_id
    if current is not None and current.source == clip.source and file_id is None:
        file_id = current.file_id
    store.db.table("clips").upsert(
        {
            "product_id": clip.product_id,
            "source": clip.source,
            "mime_type": clip.mime_type,
            "duration": clip.duration,
            "width": clip.width,
            "height": clip.height,
            "file_id": file_id,
            "updated_at": time.time(),
        },
        pk="product_id",
    )


def cache_file_id(store: Store, product_id: int, source: str, file_id: str) -> None:
    """Remember Telegram's file_id so the clip is uploaded only once."""
    store.db.execute(
        "UPDATE clips SET file_id = ? WHERE product_id = ? AND source = ?",
        [file_id, product_id, source],
    )


# -- a merchant's own products ------------------------------------------------------------


def merchant_products(
    store: Store, merchant_id: int, offset: int, limit: int
) -> tuple[list[Product], int]:
    """One page of the merchant's products (not deleted), oldest first, and the total."""
    total = int(
        scalar(
            store,
            "SELECT count(*) FROM products WHERE merchant_id = ? AND status != 'deleted'",
            [merchant_id],
        )
        or 0
    )
    ids = [
        int(row[0])
        for row in store.db.execute(
            "SELECT id FROM products WHERE merchant_id = ? AND status != 'deleted' "
            "ORDER BY id LIMIT ? OFFSET ?",
            [merchant_id, limit, max(0, offset)],
        ).fetchall()
    ]
    found = get_products(store, ids)
    return [found[i] for i in ids if i in found], total


def merchant_product(store: Store, merchant_id: int, product_id: int) -> Product:
    """One of the merchant's products. Raises ProductNotFound for anyone else's."""
    product = get_product(store, product_id)
    if product.merchant_id != merchant_id:
        raise ProductNotFound(product_id)
    return product


def product_by_sku(store: Store, merchant_id: int, sku: str) -> Product:
    """The merchant's product with this SKU. Raises ProductNotFound."""
    found = scalar(
        store,
        "SELECT id FROM products WHERE merchant_id = ? AND sku = ? AND status != 'deleted'",
        [merchant_id, sku],
    )
    if found is None:
        raise ProductNotFound(sku)
    return get_product(store, int(found))


def update_product(
    store: Store, merchant_id: int, product_id: int, changes: dict[str, object]
) -> Product:
    """Change the merchant's product (status, price_minor, stock). Raises ProductNotFound.

    The content hash is cleared, so importing the catalog file again restores what the file
    says instead of calling the row unchanged.
    """
    allowed = {"status", "price_minor", "stock"}
    if not set(changes) <= allowed:
        raise ValueError(f"not a merchant-editable field: {set(changes) - allowed}")
    with store.db.atomic():
        merchant_product(store, merchant_id, product_id)
        assignments = ", ".join(f"{name} = ?" for name in changes)
        store.db.execute(
            f"UPDATE products SET {assignments}, content_hash = '', updated_at = ? "
            "WHERE id = ? AND merchant_id = ?",
            [*changes.values(), time.time(), product_id, merchant_id],
        )
    return get_product(store, product_id)


def delete_product(store: Store, merchant_id: int, product_id: int) -> Product:
    """Delete (softly) the merchant's product. Raises ProductNotFound."""
    product = merchant_product(store, merchant_id, product_id)
    store.db.execute(
        "UPDATE products SET status = ?, updated_at = ? WHERE id = ? AND merchant_id = ?",
        [ProductStatus.DELETED.value, time.time(), product_id, merchant_id],
    )
    return product


def merchant_product_ids(store: Store, merchant_id: int) -> list[int]:
    """Ids of a merchant's products that are not deleted."""
    return [
        int(row[0])
        for row in store.db.execute(
            "SELECT id FROM products WHERE merchant_id = ? AND status != 'deleted'", [merchant_id]
        ).fetchall()
    ]
