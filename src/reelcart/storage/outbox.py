"""Messages reelcart sends on its own: admin broadcasts and restock alerts.

Each recipient's delivery state is kept in SQLite and moves ``pending -> sending ->
sent | blocked | failed``. ``sending`` is written *before* the message goes out, so after a
crash a recipient left in ``sending`` may or may not have received it; such recipients
become ``unknown`` and are never sent to again. That is the price of the promise that
nobody gets the same message twice (the Bot API has no idempotency key); sending one
message at a time keeps it to at most one recipient per crash.

Functions take the ``Store`` first and run on the database thread.
"""

from __future__ import annotations

import time

from reelcart.domain import (
    Broadcast,
    BroadcastStatus,
    Delivery,
    ProductNotFound,
    RestockAlert,
)
from reelcart.storage.audit import record_audit
from reelcart.storage.products import get_product
from reelcart.storage.store import Store, rows, scalar
from reelcart.storage.users import set_blocked

# Who may receive a message from reelcart: known users not banned, not blocking the bot.
_REACHABLE = (
    "NOT EXISTS (SELECT 1 FROM user_flags f WHERE f.user_id = {col} "
    "AND (f.banned_at IS NOT NULL OR f.blocked_at IS NOT NULL))"
)


def reachable_users(store: Store) -> int:
    """How many users a broadcast would go to now."""
    return int(
        scalar(store, "SELECT count(*) FROM users u WHERE " + _REACHABLE.format(col="u.id")) or 0
    )


def create_broadcast(store: Store, admin_id: int, text: str, language: str) -> int:
    """A draft: nothing is sent until ``start_broadcast``."""
    cursor = store.db.execute(
        "INSERT INTO broadcasts (admin_id, text, status, language, created_at) "
        "VALUES (?, ?, 'draft', ?, ?)",
        [admin_id, text, language, time.time()],
    )
    return int(cursor.lastrowid or 0)


def start_broadcast(
    store: Store, broadcast_id: int, chat_id: int, message_id: int, admin_id: int
) -> int | None:
    """Turn a draft into a running broadcast and fix its recipients (every reachable user,
    now). Returns how many; None if it is not a draft (already started or cancelled)."""
    now = time.time()
    with store.db.atomic():
        cursor = store.db.execute(
            "UPDATE broadcasts SET status = 'running', started_at = ?, chat_id = ?, "
            "message_id = ? WHERE id = ? AND status = 'draft'",
            [now, chat_id, message_id, broadcast_id],
        )
        if cursor.rowcount != 1:
            return None
        store.db.execute(
            "INSERT INTO broadcast_recipients (broadcast_id, user_id, state, updated_at) "
            "SELECT ?, u.id, 'pending', ? FROM users u WHERE " + _REACHABLE.format(col="u.id"),
            [broadcast_id, now],
        )
        count = int(
            scalar(
                store,
                "SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = ?",
                [broadcast_id],
            )
            or 0
        )
        text = str(scalar(store, "SELECT text FROM broadcasts WHERE id = ?", [broadcast_id]))
        record_audit(
            store,
            admin_id,
            "broadcast.start",
            "broadcast",
            broadcast_id,
            f"{count} recipients: {text[:200]}",
        )
    return count


def cancel_broadcast(store: Store, broadcast_id: int, admin_id: int) -> bool:
    """Stop a draft or running broadcast; recipients not reached yet are skipped."""
    with store.db.atomic():
        cursor = store.db.execute(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = ? "
            "WHERE id = ? AND status IN ('draft', 'running')",
            [time.time(), broadcast_id],
        )
        if cursor.rowcount != 1:
            return False
        store.db.execute(
            "UPDATE broadcast_recipients SET state = 'skipped', updated_at = ? "
            "WHERE broadcast_id = ? AND state = 'pending'",
            [time.time(), broadcast_id],
        )
        record_audit(store, admin_id, "broadcast.stop", "broadcast", broadcast_id)
    return True


def get_broadcast(store: Store, broadcast_id: int) -> Broadcast | None:
    found = rows(store, "SELECT * FROM broadcasts WHERE id = ?", [broadcast_id])
    if not found:
        return None
    row = found[0]
    counts = dict.fromkeys(Delivery, 0)
    for state, count in store.db.execute(
        "SELECT state, count(*) FROM broadcast_recipients WHERE broadcast_id = ? GROUP BY state",
        [broadcast_id],
    ).fetchall():
        counts[Delivery(state)] = int(count)
    return Broadcast(
        id=row["id"],
        admin_id=row["admin_id"],
        text=row["text"],
        status=BroadcastStatus(row["status"]),
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        language=row["language"] or "en",
        counts=counts,
    )


def running_broadcasts(store: Store) -> list[int]:
    return [
        int(row[0])
        for row in store.db.execute(
            "SELECT id FROM broadcasts WHERE status = 'running' ORDER BY id"
        ).fetchall()
    ]


def settle_interrupted(store: Store, broadcast_id: int) -> int:
    """After a restart: recipients caught mid-send become ``unknown`` (never re-sent)."""
    cursor = store.db.execute(
        "UPDATE broadcast_recipients SET state = 'unknown', updated_at = ? "
        "WHERE broadcast_id = ? AND state = 'sending'",
        [time.time(), broadcast_id],
    )
    return cursor.rowcount


def claim_recipient(store: Store, broadcast_id: int) -> int | None:
    """The next pending recipient, marked ``sending`` before anything is sent; None when
    none is left or the broadcast is not running any more."""
    with store.db.atomic():
        status = scalar(store, "SELECT status FROM broadcasts WHERE id = ?", [broadcast_id])
        if status != BroadcastStatus.RUNNING.value:
            return None
        found = scalar(
            store,
            "SELECT user_id FROM broadcast_recipients WHERE broadcast_id = ? AND state = 'pending' "
            "ORDER BY user_id LIMIT 1",
            [broadcast_id],
        )
        if found is None:
            return None
        user_id = int(found)
        store.db.execute(
            "UPDATE broadcast_recipients SET state = 'sending', attempts = attempts + 1, "
            "updated_at = ? WHERE broadcast_id = ? AND user_id = ?",
            [time.time(), broadcast_id, user_id],
        )
    return user_id


def mark_recipient(store: Store, broadcast_id: int, user_id: int, state: Delivery) -> None:
    """Record how sending to one recipient ended; a block also marks the user blocked."""
    with store.db.atomic():
        store.db.execute(
            "UPDATE broadcast_recipients SET state = ?, updated_at = ? "
            "WHERE broadcast_id = ? AND user_id = ?",
            [state.value, time.time(), broadcast_id, user_id],
        )
        if state is Delivery.BLOCKED:
            set_blocked(store, user_id, True)


def finish_broadcast(store: Store, broadcast_id: int) -> None:
    store.db.execute(
        "UPDATE broadcasts SET status = 'done', finished_at = ? "
        "WHERE id = ? AND status = 'running'",
        [time.time(), broadcast_id],
    )


# -- restock alerts ----------------------------------------------------------------------


def plan_restock_alerts(store: Store, limit: int = 50) -> int:
    """Turn recorded restocks into one pending alert per shopper who likes the product.

    A restock is handled once: several restocks of one product waiting together make one
    round of alerts, and a product that is not available by now (sold out again, paused,
    not approved) alerts nobody. Returns how many alerts were planned.
    """
    planned = 0
    open_rows = rows(
        store,
        "SELECT id, product_id FROM restocks WHERE handled_at IS NULL ORDER BY id LIMIT ?",
        [limit],
    )
    latest: dict[int, int] = {}
    for row in open_rows:
        latest[row["product_id"]] = row["id"]
    now = time.time()
    with store.db.atomic():
        for product_id, restock_id in latest.items():
            try:
                product = get_product(store, product_id)
            except ProductNotFound:
                product = None
            if product is not None and product.available:
                cursor = store.db.execute(
                    "INSERT OR IGNORE INTO restock_alerts (restock_id, user_id, product_id, state, "
                    "updated_at) SELECT ?, l.user_id, ?, 'pending', ? FROM ("
                    "SELECT e.user_id, e.kind FROM events e WHERE e.product_id = ? "
                    "AND e.kind IN ('like', 'unlike') AND e.id = (SELECT max(e2.id) FROM events e2 "
                    "WHERE e2.user_id = e.user_id AND e2.product_id = e.product_id "
                    "AND e2.kind IN ('like', 'unlike'))) l "
                    "WHERE l.kind = 'like' "
                    "AND EXISTS (SELECT 1 FROM users u WHERE u.id = l.user_id) "
                    "AND " + _REACHABLE.format(col="l.user_id"),
                    [restock_id, product_id, now, product_id],
                )
                planned += cursor.rowcount
        ids = [row["id"] for row in open_rows]
        if ids:
            marks = ",".join("?" * len(ids))
            store.db.execute(
                f"UPDATE restocks SET handled_at = ? WHERE id IN ({marks})", [now, *ids]
            )
    return planned


def claim_restock_alerts(store: Store, limit: int) -> list[RestockAlert]:
    """Pending alerts, marked ``sending`` before anything is sent."""
    found = rows(
        store,
        "SELECT a.restock_id, a.user_id, a.product_id, coalesce(u.language, 'en') AS language "
        "FROM restock_alerts a LEFT JOIN users u ON u.id = a.user_id "
        "WHERE a.state = 'pending' ORDER BY a.restock_id, a.user_id LIMIT ?",
        [limit],
    )
    alerts: list[RestockAlert] = []
    now = time.time()
    with store.db.atomic():
        for row in found:
            store.db.execute(
                "UPDATE restock_alerts SET state = 'sending', updated_at = ? "
                "WHERE restock_id = ? AND user_id = ?",
                [now, row["restock_id"], row["user_id"]],
            )
            try:
                product = get_product(store, row["product_id"])
            except ProductNotFound:
                store.db.execute(
                    "UPDATE restock_alerts SET state = 'skipped' WHERE restock_id = ? "
                    "AND user_id = ?",
                    [row["restock_id"], row["user_id"]],
                )
                continue
            alerts.append(RestockAlert(row["restock_id"], row["user_id"], product, row["language"]))
    return alerts


def mark_restock_alert(store: Store, restock_id: int, user_id: int, state: Delivery) -> None:
    with store.db.atomic():
        store.db.execute(
            "UPDATE restock_alerts SET state = ?, updated_at = ? WHERE restock_id = ? "
            "AND user_id = ?",
            [state.value, time.time(), restock_id, user_id],
        )
        if state is Delivery.BLOCKED:
            set_blocked(store, user_id, True)


def settle_interrupted_alerts(store: Store) -> int:
    """After a restart: alerts caught mid-send become ``unknown`` (never re-sent)."""
    cursor = store.db.execute(
        "UPDATE restock_alerts SET state = 'unknown', updated_at = ? WHERE state = 'sending'",
        [time.time()],
    )
    return cursor.rowcount
