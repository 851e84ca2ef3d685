"""Reading and writing orders, drafts, baskets, shipping rates, the payment inbox and clips.

Every function takes the ``Store`` first and runs on the database thread. The schema is in
``schema_orders``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from reelcart.domain import (
    Delivery,
    Draft,
    DraftItem,
    Money,
    NewOrder,
    Order,
    OrderLine,
    OrderStatus,
    ProductKind,
    ShippingAddress,
    ShippingRate,
    SocialClip,
)
from reelcart.storage.store import Store, rows

# -- drafts ----------------------------------------------------------------------------


def create_draft(
    store: Store,
    user_id: int,
    merchant_id: int,
    kind: ProductKind,
    currency: str,
    items: Sequence[DraftItem],
    total_minor: int,
    source: str,
) -> int:
    """Keep what an invoice asks for; returns the draft's id."""
    table = store.db.table("order_drafts")
    table.insert(
        {
            "user_id": user_id,
            "merchant_id": merchant_id,
            "kind": kind.value,
            "currency": currency,
            "total_minor": total_minor,
            "items": json.dumps([[i.product_id, i.quantity, i.unit_minor] for i in items]),
            "source": source,
            "created_at": time.time(),
        }
    )
    assert table.last_pk is not None
    return int(table.last_pk)


def get_draft(store: Store, draft_id: int) -> Draft | None:
    """The draft, or None."""
    found = rows(store, "SELECT * FROM order_drafts WHERE id = ?", [draft_id])
    if not found:
        return None
    row = found[0]
    items = tuple(DraftItem(int(p), int(q), int(u)) for p, q, u in json.loads(row["items"]))
    return Draft(
        id=row["id"],
        user_id=row["user_id"],
        merchant_id=row["merchant_id"],
        kind=ProductKind(row["kind"]),
        currency=row["currency"],
        total_minor=row["total_minor"],
        items=items,
        source=row["source"],
        paid_order_id=row["paid_order_id"],
    )


def mark_draft_paid(store: Store, draft_id: int, order_id: int) -> None:
    """Link a draft to the order its payment made (first payment only)."""
    store.db.execute(
        "UPDATE order_drafts SET paid_order_id = ? WHERE id = ? AND paid_order_id IS NULL",
        [order_id, draft_id],
    )


# -- shipping --------------------------------------------------------------------------


def shipping_rates(store: Store, merchant_id: int, currency: str) -> list[ShippingRate]:
    """The merchant's own options for ``currency`` if it has any, else the defaults."""
    sql = (
        "SELECT option_id, title, amount_minor FROM shipping_rates "
        "WHERE merchant_id IS ? AND currency = ? ORDER BY position, id"
    )
    for owner in (merchant_id, None):
        found = store.db.execute(sql, [owner, currency]).fetchall()
        if found:
            return [ShippingRate(str(o), str(t), int(a)) for o, t, a in found]
    return []


def set_shipping_rates(
    store: Store, merchant_id: int, currency: str, rates: Sequence[ShippingRate]
) -> None:
    """Replace a merchant's own shipping options for one currency (empty: use defaults)."""
    with store.db.atomic():
        store.db.execute(
            "DELETE FROM shipping_rates WHERE merchant_id = ? AND currency = ?",
            [merchant_id, currency],
        )
        for position, rate in enumerate(rates):
            store.db.execute(
                "INSERT INTO shipping_rates (merchant_id, currency, option_id, title, "
                "amount_minor, position) VALUES (?, ?, ?, ?, ?, ?)",
                [merchant_id, currency, rate.option_id, rate.title, rate.amount_minor, position],
            )


# -- baskets ---------------------------------------------------------------------------


def basket(store: Store, user_id: int) -> list[tuple[int, int]]:
    """(product id, quantity) in the order they were added."""
    found = store.db.execute(
        "SELECT product_id, quantity FROM baskets WHERE user_id = ? ORDER BY added_at, product_id",
        [user_id],
    ).fetchall()
    return [(int(p), int(q)) for p, q in found]


def set_basket_quantity(store: Store, user_id: int, product_id: int, quantity: int) -> None:
    """Set how many of a product the basket holds (0 removes it)."""
    if quantity <= 0:
        store.db.execute(
            "DELETE FROM baskets WHERE user_id = ? AND product_id = ?", [user_id, product_id]
        )
        return
    store.db.execute(
        "INSERT INTO baskets (user_id, product_id, quantity, added_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity",
        [user_id, product_id, quantity, time.time()],
    )


def clear_basket(store: Store, user_id: int, product_ids: Sequence[int] | None = None) -> None:
    """Empty the basket, or take only ``product_ids`` out."""
    if product_ids is None:
        store.db.execute("DELETE FROM baskets WHERE user_id = ?", [user_id])
        return
    for product_id in product_ids:
        set_basket_quantity(store, user_id, product_id, 0)


# -- stock -----------------------------------------------------------------------------


def take_stock(store: Store, product_id: int, quantity: int) -> bool:
    """Decrement stock by ``quantity`` if that much is left; False (nothing changed) if not."""
    cursor = store.db.execute(
        "UPDATE products SET stock = stock - ?, updated_at = ? WHERE id = ? AND stock >= ?",
        [quantity, time.time(), product_id, quantity],
    )
    return cursor.rowcount == 1


# -- payment inbox ---------------------------------------------------------------------


def journal_payment(store: Store, charge_id: str, user_id: int, raw: str) -> bool:
    """Keep a successful payment as it arrived; False if it was already there."""
    cursor = store.db.execute(
        "INSERT OR IGNORE INTO payment_inbox (charge_id, user_id, raw, received_at) "
        "VALUES (?, ?, ?, ?)",
        [charge_id, user_id, raw, time.time()],
    )
    return cursor.rowcount == 1


def mark_payment_processed(store: Store, charge_id: str) -> None:
    """The journaled payment has its order now."""
    store.db.execute(
        "UPDATE payment_inbox SET processed_at = ? WHERE charge_id = ? AND processed_at IS NULL",
        [time.time(), charge_id],
    )


def unprocessed_payments(store: Store, older_than: float) -> list[str]:
    """Raw JSON of journaled payments with no order yet, received before ``older_than``."""
    found = store.db.execute(
        "SELECT raw FROM payment_inbox WHERE processed_at IS NULL AND received_at <= ? "
        "ORDER BY received_at",
        [older_than],
    ).fetchall()
    return [str(row[0]) for row in found]


# -- orders ----------------------------------------------------------------------------

# Merchant 0 stands for "no merchant": a payment no invoice of ours explains.
_ORDER_SELECT = (
    "SELECT o.*, m.name AS merchant_name FROM orders o LEFT JOIN merchants m "
    "ON m.id = o.merchant_id"
)


def insert_order(store: Store, new: NewOrder) -> int:
    """Insert the order and its lines (call inside a transaction)."""
    table = store.db.table("orders")
    address = None
    if new.address is not None:
        address = json.dumps(new.address.__dict__, ensure_ascii=False)
    table.insert(
        {
            "charge_id": new.charge_id,
            "provider_charge_id": new.provider_charge_id,
            "draft_id": new.draft_id,
            "user_id": new.user_id,
            "merchant_id": new.merchant_id,
            "kind": new.kind.value,
            "status": new.status.value,
            "currency": new.currency,
            "goods_minor": new.goods_minor,
            "shipping_minor": new.shipping_minor,
            "total_minor": new.total_minor,
            "shipping_option": new.shipping_option,
            "recipient": new.recipient,
            "address": address,
            "problem": new.problem,
            "created_at": time.time(),
        }
    )
    assert table.last_pk is not None
    order_id = int(table.last_pk)
    for line in new.lines:
        store.db.execute(
            "INSERT INTO order_lines (order_id, product_id, sku, title, quantity, unit_minor, "
            "currency) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                order_id,
                line.product_id,
                line.sku,
                line.title,
                line.quantity,
                line.unit_price.minor,
                line.unit_price.currency,
            ],
        )
    return order_id


def order_id_by_charge(store: Store, charge_id: str) -> int | None:
    """The order made by a Telegram charge, if any."""
    row = store.db.execute("SELECT id FROM orders WHERE charge_id = ?", [charge_id]).fetchone()
    return int(row[0]) if row else None


def _order(store: Store, row: dict) -> Order:
    lines = tuple(
        OrderLine(
            product_id=line["product_id"],
            sku=line["sku"],
            title=line["title"],
            quantity=line["quantity"],
            unit_price=Money(line["unit_minor"], line["currency"]),
        )
        for line in rows(
            store,
            "SELECT * FROM order_lines WHERE order_id = ? ORDER BY rowid",
            [row["id"]],
        )
    )
    address = None
    if row["address"]:
        address = ShippingAddress(**json.loads(row["address"]))
    currency = row["currency"]
    consent = row["clip_consent"]
    return Order(
        id=row["id"],
        user_id=row["user_id"],
        merchant_id=row["merchant_id"],
        merchant_name=row.get("merchant_name") or "",
        kind=ProductKind(row["kind"]),
        status=OrderStatus(row["status"]),
        lines=lines,
        goods=Money(row["goods_minor"], currency),
        shipping=Money(row["shipping_minor"], currency),
        total=Money(row["total_minor"], currency),
        charge_id=row["charge_id"],
        provider_charge_id=row["provider_charge_id"] or "",
        created_at=row["created_at"],
        shipping_option=row["shipping_option"],
        recipient=row["recipient"],
        address=address,
        tracking=row["tracking"],
        problem=row["problem"],
        clip_consent=None if consent is None else bool(consent),
        receipt_sent=row["receipt_sent_at"] is not None,
        merchant_notified=row["merchant_notified_at"] is not None,
    )


def get_order(store: Store, order_id: int) -> Order | None:
    """An order with its lines, or None."""
    found = rows(store, _ORDER_SELECT + " WHERE o.id = ?", [order_id])
    return _order(store, found[0]) if found else None


def orders_of_user(store: Store, user_id: int, limit: int = 10) -> list[Order]:
    """A shopper's newest orders."""
    found = rows(
        store, _ORDER_SELECT + " WHERE o.user_id = ? ORDER BY o.id DESC LIMIT ?", [user_id, limit]
    )
    return [_order(store, row) for row in found]


def orders_of_merchant(store: Store, merchant_id: int, limit: int = 10) -> list[Order]:
    """A merchant's newest orders."""
    found = rows(
        store,
        _ORDER_SELECT + " WHERE o.merchant_id = ? ORDER BY o.id DESC LIMIT ?",
        [merchant_id, limit],
    )
    return [_order(store, row) for row in found]


def refundable_star_orders(store: Store, limit: int = 20) -> list[Order]:
    """Stars orders that still hold the shopper's money, newest first."""
    found = rows(
        store,
        _ORDER_SELECT + " WHERE o.currency = 'XTR' AND o.status != ? ORDER BY o.id DESC LIMIT ?",
        [OrderStatus.REFUNDED.value, limit],
    )
    return [_order(store, row) for row in found]


def undelivered_orders(store: Store, older_than: float) -> list[Order]:
    """Orders whose receipt, merchant notice or automatic refund is still outstanding."""
    found = rows(
        store,
        _ORDER_SELECT + " WHERE (o.receipt_sent_at IS NULL OR o.merchant_notified_at IS NULL "
        "OR o.status = ?) AND o.created_at <= ? ORDER BY o.id",
        [OrderStatus.REFUND_PENDING.value, older_than],
    )
    return [_order(store, row) for row in found]


def set_order_status(store: Store, order_id: int, status: OrderStatus, **fields: object) -> None:
    """Change an order's status (and other columns with it)."""
    changes: dict[str, object] = {"status": status.value, **fields}
    store.db.table("orders").update(order_id, changes)


def begin_receipt(store: Store, order_id: int) -> Delivery | None:
    """Written just before the receipt is sent: ``pending`` becomes ``sending``.

    A receipt found ``sending`` was cut short by a stop (one process sends an order's
    receipt at a time, see ``OrderService.claim``): it may have arrived, so it becomes
    ``unknown``, final, and is never sent again. Returns the state found; None if there
    is no such order.
    """
    with store.db.atomic():
        row = store.db.execute("SELECT receipt_state FROM orders WHERE id = ?", [order_id])
        found = row.fetchone()
        if found is None:
            return None
        state = Delivery(found[0])
        if state is Delivery.PENDING:
            store.db.execute("UPDATE orders SET receipt_state = 'sending' WHERE id = ?", [order_id])
        elif state is Delivery.SENDING:
            end_receipt(store, order_id, Delivery.UNKNOWN)
    return state


def end_receipt(store: Store, order_id: int, outcome: Delivery) -> None:
    """Written just after the send: PENDING (it certainly did not arrive) makes the receipt
    due again; SENT, BLOCKED, FAILED or UNKNOWN is final."""
    if outcome is Delivery.PENDING:
        store.db.execute(
            "UPDATE orders SET receipt_state = 'pending' "
            "WHERE id = ? AND receipt_state = 'sending'",
            [order_id],
        )
        return
    store.db.execute(
        "UPDATE orders SET receipt_state = ?, receipt_sent_at = coalesce(receipt_sent_at, ?) "
        "WHERE id = ?",
        [outcome.value, time.time(), order_id],
    )


def mark_merchant_notified(store: Store, order_id: int) -> None:
    """Record that the merchant was told (once)."""
    store.db.execute(
        "UPDATE orders SET merchant_notified_at = ? WHERE id = ? AND merchant_notified_at IS NULL",
        [time.time(), order_id],
    )


def set_clip_consent(store: Store, order_id: int, consent: bool) -> None:
    """Whether the shopper lets the preparation clip appear in others' feeds."""
    store.db.execute("UPDATE orders SET clip_consent = ? WHERE id = ?", [int(consent), order_id])


# -- order-preparation clips ------------------------------------------------------------


def save_social_clip(store: Store, clip: SocialClip) -> None:
    """Keep the order's preparation clip (a newer clip for the same order replaces it)."""
    store.db.execute(
        "INSERT INTO social_clips (order_id, product_id, buyer_id, file_id, duration, width, "
        "height, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE "
        "SET file_id = excluded.file_id, duration = excluded.duration, width = excluded.width, "
        "height = excluded.height, created_at = excluded.created_at",
        [
            clip.order_id,
            clip.product_id,
            clip.buyer_id,
            clip.file_id,
            clip.duration,
            clip.width,
            clip.height,
            time.time(),
        ],
    )


def shared_social_clips(store: Store) -> list[SocialClip]:
    """Clips whose shopper agreed to share them, oldest first."""
    found = store.db.execute(
        "SELECT c.order_id, c.product_id, c.buyer_id, c.file_id, c.duration, c.width, c.height "
        "FROM social_clips c JOIN orders o ON o.id = c.order_id "
        "WHERE o.clip_consent = 1 AND o.status != ? ORDER BY c.created_at, c.id",
        [OrderStatus.REFUNDED.value],
    ).fetchall()
    return [SocialClip(*row) for row in found]


# -- privacy -----------------------------------------------------------------------------


def anonymize_orders(store: Store, user_id: int) -> int:
    """Strip a person from their orders (name, address, shared clips, the raw payment),
    keeping what accounting and refunds need; returns how many orders were kept."""
    with store.db.atomic():
        order_ids = [
            int(row[0])
            for row in store.db.execute("SELECT id FROM orders WHERE user_id = ?", [user_id])
        ]
        store.db.execute(
            "UPDATE orders SET recipient = NULL, address = NULL, clip_consent = 0 "
            "WHERE user_id = ?",
            [user_id],
        )
        store.db.execute("DELETE FROM social_clips WHERE buyer_id = ?", [user_id])
        # A processed payment's raw JSON holds the shipping address: keep only the charge.
        store.db.execute(
            "UPDATE payment_inbox SET raw = json_remove(raw, '$.successful_payment.order_info') "
            "WHERE user_id = ? AND processed_at IS NOT NULL",
            [user_id],
        )
    return len(order_ids)
