"""Moderation: the products waiting for a moderator (oldest first) with what the flags are
computed from, and the moderators' decisions, each audited in its transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from reelcart.domain import ModerationItem, ModerationState, Product
from reelcart.storage.audit import audit_detail, record_audit
from reelcart.storage.merchants import merchant_by_id
from reelcart.storage.products import get_clip, get_product, get_products
from reelcart.storage.store import Store, rows, scalar

_PENDING_SQL = (
    "SELECT {what} FROM products p JOIN merchants m ON m.id = p.merchant_id "
    "WHERE p.moderation = 'pending' AND p.status != 'deleted' AND m.suspended = 0 "
    "AND m.state = 'approved'{tail}"
)


def _only(merchant_id: int | None) -> tuple[str, list[object]]:
    return (" AND p.merchant_id = ?", [merchant_id]) if merchant_id else ("", [])


def pending_count(store: Store, merchant_id: int | None = None) -> int:
    """Products waiting for a moderator (of one merchant, or all)."""
    tail, params = _only(merchant_id)
    return int(scalar(store, _PENDING_SQL.format(what="count(*)", tail=tail), params) or 0)


def moderation_item(
    store: Store, offset: int, merchant_id: int | None = None
) -> tuple[ModerationItem | None, int]:
    """The pending product at ``offset`` (oldest first) and how many are pending, among one
    merchant's products or all."""
    total = pending_count(store, merchant_id)
    tail, params = _only(merchant_id)
    found = rows(
        store,
        _PENDING_SQL.format(
            what="p.id, coalesce(p.submitted_at, p.created_at) AS submitted",
            tail=tail + " ORDER BY submitted, p.id LIMIT 1 OFFSET ?",
        ),
        [*params, max(0, offset)],
    )
    if not found:
        return None, total
    product = get_product(store, found[0]["id"])
    merchant = merchant_by_id(store, product.merchant_id)
    assert merchant is not None
    return (
        ModerationItem(
            product=product,
            merchant=merchant,
            clip=get_clip(store, product.id),
            category_prices=category_prices(store, product),
            submitted_at=found[0]["submitted"] or 0.0,
        ),
        total,
    )


def category_prices(store: Store, product: Product) -> list[int]:
    """Prices of the other approved products of the same category and currency."""
    return [
        int(row[0])
        for row in store.db.execute(
            "SELECT price_minor FROM products WHERE category = ? AND currency = ? AND id != ? "
            "AND moderation = 'approved' AND status != 'deleted'",
            [product.category, product.price.currency, product.id],
        ).fetchall()
    ]


def decide_product(
    store: Store, product_id: int, approve: bool, admin_id: int, reason: str = ""
) -> Product | None:
    """Approve or reject a pending product; None if it is not pending any more."""
    state = ModerationState.APPROVED if approve else ModerationState.REJECTED
    with store.db.atomic():
        cursor = store.db.execute(
            "UPDATE products SET moderation = ?, moderation_note = ?, moderated_at = ?, "
            "moderated_by = ? WHERE id = ? AND moderation = 'pending' AND status != 'deleted'",
            [state.value, reason or None, time.time(), admin_id, product_id],
        )
        if cursor.rowcount != 1:
            return None
        product = get_product(store, product_id)
        action = "product.approve" if approve else "product.reject"
        record_audit(
            store, admin_id, action, "product", product_id, audit_detail(product.title, reason)
        )
    return product


def approve_products(store: Store, product_ids: Sequence[int], admin_id: int | None) -> int:
    """Approve these products whatever their state (an operator's import); returns how many
    changed. ``admin_id`` None means the operator's command line (no audit entry)."""
    changed = 0
    with store.db.atomic():
        for start in range(0, len(product_ids), 500):
            chunk = list(product_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            cursor = store.db.execute(
                f"UPDATE products SET moderation = 'approved', moderation_note = NULL, "
                f"moderated_at = ?, moderated_by = ? WHERE moderation != 'approved' "
                f"AND id IN ({marks})",
                [time.time(), admin_id, *chunk],
            )
            changed += cursor.rowcount
    return changed


def moderation_note(store: Store, product_id: int) -> str | None:
    value = scalar(store, "SELECT moderation_note FROM products WHERE id = ?", [product_id])
    return str(value) if value else None


def moderation_counts(store: Store, product_ids: Sequence[int]) -> dict[ModerationState, int]:
    """How many of these products are in each moderation state."""
    counts = dict.fromkeys(ModerationState, 0)
    found = get_products(store, list(product_ids))
    for product in found.values():
        counts[product.moderation] += 1
    return counts
