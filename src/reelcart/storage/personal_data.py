"""A person's own data: everything reelcart holds that names them (/mydata), and erasing it
(/forget).
"""

from __future__ import annotations

from reelcart.storage.store import Store, has_table, rows, scalar

#: Columns that name a person, in any table: /mydata exports rows where one is the user.
PERSON_COLUMNS = ("user_id", "visitor_id", "creator_id", "buyer_id", "owner_user_id", "admin_id")

# What /forget deletes, table by table: (table, condition, what it is called).
_ERASE = (
    ("events", "user_id = :u", "reactions"),
    ("cards", "user_id = :u", "cards"),
    ("referral_clicks", "visitor_id = :u OR creator_id = :u", "referrals"),
    ("referral_codes", "user_id = :u", "referral_code"),
    ("restock_alerts", "user_id = :u", "alerts"),
    ("broadcast_recipients", "user_id = :u", "broadcasts"),
    ("baskets", "user_id = :u", "basket"),
    ("order_drafts", "user_id = :u AND paid_order_id IS NULL", "checkouts"),
    ("users", "id = :u", "profile"),
)


def _tables(store: Store) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for (name,) in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall():
        tables[name] = [row[1] for row in store.db.execute(f"PRAGMA table_info('{name}')")]
    return tables


def _plain(value: object) -> object:
    return value.hex() if isinstance(value, bytes) else value


def export_user_data(store: Store, user_id: int) -> dict[str, list[dict[str, object]]]:
    """Every row reelcart holds that names this user, by table (the ``users`` row too)."""
    data: dict[str, list[dict[str, object]]] = {}
    for table, columns in _tables(store).items():
        wanted = [c for c in PERSON_COLUMNS if c in columns]
        if table == "users":
            wanted = ["id"]
        if not wanted:
            continue
        where = " OR ".join(f"{c} = ?" for c in wanted)
        found = rows(store, f"SELECT * FROM {table} WHERE {where}", [user_id] * len(wanted))
        if found:
            data[table] = [{k: _plain(v) for k, v in row.items()} for row in found]
    return data


def erase_user_data(store: Store, user_id: int) -> dict[str, int]:
    """Delete what reelcart holds about this user, in one transaction; counts by kind.

    Kept: a ban (``user_flags.banned_at``: erasing must not lift it), the audit log, and
    paid orders (the commerce service anonymizes those). A shop the user ran stays, without
    its owner and suspended, so nobody runs it in their name.
    """
    tables = _tables(store)
    erased: dict[str, int] = {}
    with store.db.atomic():
        for table, condition, label in _ERASE:
            if table not in tables:
                continue
            cursor = store.db.execute(f"DELETE FROM {table} WHERE {condition}", {"u": user_id})
            if cursor.rowcount > 0:
                erased[label] = erased.get(label, 0) + cursor.rowcount
        store.db.execute("UPDATE user_flags SET blocked_at = NULL WHERE user_id = ?", [user_id])
        store.db.execute(
            "DELETE FROM user_flags WHERE user_id = ? AND banned_at IS NULL", [user_id]
        )
        cursor = store.db.execute(
            "UPDATE merchants SET owner_user_id = NULL, suspended = 1 WHERE owner_user_id = ?",
            [user_id],
        )
        if cursor.rowcount > 0:
            erased["shops"] = cursor.rowcount
    return erased


def kept_orders(store: Store, user_id: int) -> int:
    """Paid orders of this user (a merchant must keep them for accounting)."""
    if not has_table(store, "orders"):
        return 0
    return int(scalar(store, "SELECT count(*) FROM orders WHERE user_id = ?", [user_id]) or 0)
