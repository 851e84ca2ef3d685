"""Settings changed from the admin panel, each change audited."""

from __future__ import annotations

import time

from reelcart.storage.audit import record_audit
from reelcart.storage.store import Store, scalar


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
