"""The back office's data: merchant applications, moderation, a merchant's own products,
the admin audit log, panel settings, and banned or blocked users.

Every function takes the ``Store`` first and is plain blocking SQLite work: async code runs
it on the database thread with ``DatabaseWorker.run(fn, ...)``. Every function that acts
for a merchant takes the merchant's id and filters by it in SQL, so no id a merchant types
or forges reaches another merchant's rows. Admin actions write their audit entry in the
same transaction as the change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from reelcart.domain import (
    AlreadyMerchant,
    Application,
    AuditEntry,
    Merchant,
    MerchantState,
    MerchantSummary,
    ModerationItem,
    ModerationState,
    NameTaken,
    Product,
    ProductNotFound,
    ProductStatus,
    UserSummary,
)
from reelcart.storage.store import Store, merchant_from_row


def rows(store: Store, sql: str, params: Sequence[object] = ()) -> list[dict]:
    """The rows of a query as dicts."""
    cursor = store.db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def scalar(store: Store, sql: str, params: Sequence[object] = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = store.db.execute(sql, list(params)).fetchone()
    return row[0] if row else None


# -- audit log -------------------------------------------------------------------------


def record_audit(
    store: Store,
    admin_id: int,
    action: str,
    target_kind: str,
    target_id: int | None,
    detail: str = "",
) -> None:
    """Append an entry to the audit log (never updated or deleted)."""
    store.db.execute(
        "INSERT INTO audit_log (admin_id, action, target_kind, target_id, detail, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [admin_id, action, target_kind, target_id, detail[:500], time.time()],
    )


def audit_entries(store: Store, offset: int, limit: int) -> tuple[list[AuditEntry], int]:
    """Newest entries first, and how many there are in all."""
    total = int(scalar(store, "SELECT count(*) FROM audit_log") or 0)
    found = rows(
        store,
        "SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
        [limit, max(0, offset)],
    )
    return [AuditEntry(**row) for row in found], total


# -- merchants and applications ----------------------------------------------------------


def merchant_by_id(store: Store, merchant_id: int) -> Merchant | None:
    found = rows(store, "SELECT * FROM merchants WHERE id = ?", [merchant_id])
    return merchant_from_row(found[0]) if found else None


def merchant_of_owner(store: Store, user_id: int) -> Merchant | None:
    """The shop this user runs or applied for, in whatever state (newest first)."""
    found = rows(
        store,
        "SELECT * FROM merchants WHERE owner_user_id = ? ORDER BY id DESC LIMIT 1",
        [user_id],
    )
    return merchant_from_row(found[0]) if found else None


def submit_application(store: Store, user_id: int, name: str, shop_url: str | None) -> Merchant:
    """Record an application (a rejected applicant may apply again).

    Raises:
        AlreadyMerchant: the user already runs a shop or has an application waiting.
        NameTaken: another shop has this name (compared without case).
    """
    now = time.time()
    with store.db.atomic():
        mine = merchant_of_owner(store, user_id)
        if mine is not None and mine.state is not MerchantState.REJECTED:
            raise AlreadyMerchant(mine.name)
        taken = scalar(
            store,
            "SELECT id FROM merchants WHERE lower(name) = lower(?) AND id != ?",
            [name, mine.id if mine else 0],
        )
        if taken is not None:
            raise NameTaken(name)
        if mine is not None:
            store.db.execute(
                "UPDATE merchants SET name = ?, shop_url = ?, state = 'applied', applied_at = ?, "
                "decided_at = NULL, decided_by = NULL, note = NULL WHERE id = ?",
                [name, shop_url, now, mine.id],
            )
            merchant_id = mine.id
        else:
            cursor = store.db.execute(
                "INSERT INTO merchants (name, shop_url, owner_user_id, created_at, state, "
                "trusted, suspended, applied_at) VALUES (?, ?, ?, ?, 'applied', 0, 0, ?)",
                [name, shop_url, user_id, now, now],
            )
            merchant_id = int(cursor.lastrowid or 0)
    merchant = merchant_by_id(store, merchant_id)
    assert merchant is not None
    return merchant


def pending_applications(store: Store, offset: int, limit: int) -> tuple[list[Application], int]:
    """Applications waiting for a decision, oldest first."""
    total = int(scalar(store, "SELECT count(*) FROM merchants WHERE state = 'applied'") or 0)
    found = rows(
        store,
        "SELECT m.*, u.first_name AS applicant_name, u.username AS applicant_username "
        "FROM merchants m LEFT JOIN users u ON u.id = m.owner_user_id "
        "WHERE m.state = 'applied' ORDER BY m.applied_at, m.id LIMIT ? OFFSET ?",
        [limit, max(0, offset)],
    )
    return [
        Application(
            merchant_from_row(row),
            row["applicant_name"] or "",
            row["applicant_username"],
            row["applied_at"] or 0.0,
        )
        for row in found
    ], total


def decide_application(
    store: Store, merchant_id: int, approve: bool, admin_id: int, reason: str = ""
) -> Merchant | None:
    """Approve or reject an application; None if it is not waiting any more (decided)."""
    state = MerchantState.APPROVED if approve else MerchantState.REJECTED
    with store.db.atomic():
        cursor = store.db.execute(
            "UPDATE merchants SET state = ?, decided_at = ?, decided_by = ?, note = ? "
            "WHERE id = ? AND state = 'applied'",
            [state.value, time.time(), admin_id, reason or None, merchant_id],
        )
        if cursor.rowcount != 1:
            return None
        merchant = merchant_by_id(store, merchant_id)
        assert merchant is not None
        action = "merchant.approve" if approve else "merchant.reject"
        detail = _detail(merchant.name, reason)
        record_audit(store, admin_id, action, "merchant", merchant_id, detail)
    return merchant


def list_merchants(store: Store, offset: int, limit: int) -> tuple[list[MerchantSummary], int]:
    """Approved merchants (suspended ones too), by name."""
    total = int(scalar(store, "SELECT count(*) FROM merchants WHERE state = 'approved'") or 0)
    found = rows(
        store,
        "SELECT m.*, "
        "(SELECT count(*) FROM products p WHERE p.merchant_id = m.id AND p.status != 'deleted') "
        "AS product_count, "
        "(SELECT count(*) FROM products p WHERE p.merchant_id = m.id AND p.status != 'deleted' "
        "AND p.moderation = 'pending') AS pending_count "
        "FROM merchants m WHERE m.state = 'approved' ORDER BY lower(m.name), m.id "
        "LIMIT ? OFFSET ?",
        [limit, max(0, offset)],
    )
    return [
        MerchantSummary(merchant_from_row(row), row["product_count"], row["pending_count"])
        for row in found
    ], total


def merchant_summary(store: Store, merchant_id: int) -> MerchantSummary | None:
    merchant = merchant_by_id(store, merchant_id)
    if merchant is None:
        return None
    counts = store.db.execute(
        "SELECT count(*), coalesce(sum(moderation = 'pending'), 0) FROM products "
        "WHERE merchant_id = ? AND status != 'deleted'",
        [merchant_id],
    ).fetchone()
    return MerchantSummary(merchant, int(counts[0]), int(counts[1]))


def set_merchant_flag(
    store: Store, merchant_id: int, flag: str, value: bool, admin_id: int
) -> Merchant | None:
    """Trust/untrust or suspend/reinstate an approved merchant; None if there is none.

    Setting a flag to the value it has changes nothing and writes no audit entry.
    """
    if flag not in ("trusted", "suspended"):
        raise ValueError(flag)
    with store.db.atomic():
        merchant = merchant_by_id(store, merchant_id)
        if merchant is None or merchant.state is not MerchantState.APPROVED:
            return None
        if getattr(merchant, flag) == value:
            return merchant
        store.db.execute(f"UPDATE merchants SET {flag} = ? WHERE id = ?", [int(value), merchant_id])
        action = {
            ("trusted", True): "merchant.trust",
            ("trusted", False): "merchant.untrust",
            ("suspended", True): "merchant.suspend",
            ("suspended", False): "merchant.reinstate",
        }[(flag, value)]
        record_audit(store, admin_id, action, "merchant", merchant_id, merchant.name)
    return merchant_by_id(store, merchant_id)


def merchant_product_ids(store: Store, merchant_id: int) -> list[int]:
    """Ids of a merchant's products that are not deleted."""
    return [
        int(row[0])
        for row in store.db.execute(
            "SELECT id FROM products WHERE merchant_id = ? AND status != 'deleted'", [merchant_id]
        ).fetchall()
    ]


# -- a merchant's own products -----------------------------------------------------------


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
    found = store.get_products(ids)
    return [found[i] for i in ids if i in found], total


def merchant_product(store: Store, merchant_id: int, product_id: int) -> Product:
    """One of the merchant's products. Raises ProductNotFound for anyone else's."""
    product = store.get_product(product_id)
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
    return store.get_product(int(found))


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
    return store.get_product(product_id)


def delete_product(store: Store, merchant_id: int, product_id: int) -> Product:
    """Delete (softly) the merchant's product. Raises ProductNotFound."""
    product = merchant_product(store, merchant_id, product_id)
    store.db.execute(
        "UPDATE products SET status = ?, updated_at = ? WHERE id = ? AND merchant_id = ?",
        [ProductStatus.DELETED.value, time.time(), product_id, merchant_id],
    )
    return product


def moderation_counts(store: Store, product_ids: Sequence[int]) -> dict[ModerationState, int]:
    """How many of these products are in each moderation state."""
    counts = dict.fromkeys(ModerationState, 0)
    found = store.get_products(list(product_ids))
    for product in found.values():
        counts[product.moderation] += 1
    return counts


# -- moderation --------------------------------------------------------------------------


def pending_count(store: Store, merchant_id: int | None = None) -> int:
    """Products waiting for a moderator (of one merchant, or all)."""
    tail, params = _only(merchant_id)
    return int(scalar(store, _PENDING_SQL.format(what="count(*)", tail=tail), params) or 0)


_PENDING_SQL = (
    "SELECT {what} FROM products p JOIN merchants m ON m.id = p.merchant_id "
    "WHERE p.moderation = 'pending' AND p.status != 'deleted' AND m.suspended = 0 "
    "AND m.state = 'approved'{tail}"
)


def _only(merchant_id: int | None) -> tuple[str, list[object]]:
    return (" AND p.merchant_id = ?", [merchant_id]) if merchant_id else ("", [])


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
    product = store.get_product(found[0]["id"])
    merchant = merchant_by_id(store, product.merchant_id)
    assert merchant is not None
    return (
        ModerationItem(
            product=product,
            merchant=merchant,
            clip=store.get_clip(product.id),
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
        product = store.get_product(product_id)
        action = "product.approve" if approve else "product.reject"
        record_audit(store, admin_id, action, "product", product_id, _detail(product.title, reason))
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


def _detail(title: str, reason: str) -> str:
    return f"{title}: {reason}" if reason else title


# -- settings ----------------------------------------------------------------------------


def get_settings(store: Store) -> dict[str, str]:
    """Every setting changed from the admin panel."""
    return {
        str(key): str(value)
        for key, value in store.db.execute("SELECT key, value FROM shop_settings").fetchall()
    }


def put_setting(store: Store, key: str, value: str, admin_id: int) -> bool:
    """Store a setting and audit it; False if it already had this value."""
    with store.db.atomic():
        old = scalar(store, "SELECT value FROM shop_settings WHERE key = ?", [key])
        if old == value:
            return False
        store.db.execute(
            "INSERT INTO shop_settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [key, value, time.time(), admin_id],
        )
        change = value if old is None else f"{old} -> {value}"  # a first setting: its value
        record_audit(store, admin_id, "settings." + key, "setting", None, change)
    return True


# -- banned and blocked users ------------------------------------------------------------


def banned_ids(store: Store) -> set[int]:
    return {
        int(row[0])
        for row in store.db.execute(
            "SELECT user_id FROM user_flags WHERE banned_at IS NOT NULL"
        ).fetchall()
    }


def set_banned(store: Store, user_id: int, banned: bool, admin_id: int) -> bool:
    """Ban or unban a user and audit it; False if nothing changed."""
    with store.db.atomic():
        current = scalar(store, "SELECT banned_at FROM user_flags WHERE user_id = ?", [user_id])
        if (current is not None) == banned:
            return False
        store.db.execute(
            "INSERT INTO user_flags (user_id, banned_at, banned_by) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET banned_at = excluded.banned_at, "
            "banned_by = excluded.banned_by",
            [user_id, time.time() if banned else None, admin_id if banned else None],
        )
        record_audit(store, admin_id, "user.ban" if banned else "user.unban", "user", user_id)
    return True


def set_blocked(store: Store, user_id: int, blocked: bool) -> None:
    """Remember that the user blocked (or unblocked) the bot: broadcasts skip them."""
    store.db.execute(
        "INSERT INTO user_flags (user_id, blocked_at) VALUES (?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET blocked_at = excluded.blocked_at",
        [user_id, time.time() if blocked else None],
    )


def user_summary(store: Store, user_id: int) -> UserSummary:
    user = rows(store, "SELECT first_name, username FROM users WHERE id = ?", [user_id])
    flags = rows(store, "SELECT banned_at, blocked_at FROM user_flags WHERE user_id = ?", [user_id])
    events = int(scalar(store, "SELECT count(*) FROM events WHERE user_id = ?", [user_id]) or 0)
    return UserSummary(
        id=user_id,
        first_name=(user[0]["first_name"] or "") if user else "",
        username=user[0]["username"] if user else None,
        known=bool(user),
        banned=bool(flags and flags[0]["banned_at"] is not None),
        blocked=bool(flags and flags[0]["blocked_at"] is not None),
        events=events,
    )


def banned_users(store: Store, limit: int) -> list[UserSummary]:
    ids = [
        int(row[0])
        for row in store.db.execute(
            "SELECT user_id FROM user_flags WHERE banned_at IS NOT NULL "
            "ORDER BY banned_at DESC LIMIT ?",
            [limit],
        ).fetchall()
    ]
    return [user_summary(store, user_id) for user_id in ids]


def find_user(store: Store, handle: str) -> int | None:
    """A user id from ``123`` or ``@username`` (as reelcart knows them)."""
    handle = handle.strip()
    if handle.lstrip("-").isdigit():
        return int(handle)
    if handle.startswith("@") and len(handle) > 1:
        found = scalar(store, "SELECT id FROM users WHERE lower(username) = lower(?)", [handle[1:]])
        return int(found) if found is not None else None
    return None


def user_languages(store: Store, user_ids: Sequence[int]) -> dict[int, str]:
    """The language code of each of these users that reelcart knows."""
    found: dict[int, str] = {}
    ids = list(user_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for user_id, language in store.db.execute(
            f"SELECT id, language FROM users WHERE id IN ({marks})", chunk
        ).fetchall():
            found[int(user_id)] = str(language)
    return found
