"""Creators' referrals: each user's creator code, and the visits made through it."""

from __future__ import annotations

import secrets
import time

from reelcart.storage.store import Store, scalar

_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def referral_code(store: Store, user_id: int) -> str:
    """The user's creator code (made on first use): 8 characters of ``[a-z2-9]``."""
    found = scalar(store, "SELECT code FROM referral_codes WHERE user_id = ?", [user_id])
    if found is not None:
        return str(found)
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        cursor = store.db.execute(
            "INSERT OR IGNORE INTO referral_codes (user_id, code, created_at) VALUES (?, ?, ?)",
            [user_id, code, time.time()],
        )
        if cursor.rowcount == 1:
            return code
        again = scalar(store, "SELECT code FROM referral_codes WHERE user_id = ?", [user_id])
        if again is not None:
            return str(again)


def record_referral_click(store: Store, code: str, visitor_id: int, product_id: int) -> bool:
    """A visitor opened a product through a creator's link; False if it does not count
    (unknown code, the creator's own click, an unknown product)."""
    creator = scalar(store, "SELECT user_id FROM referral_codes WHERE code = ?", [code])
    merchant = scalar(store, "SELECT merchant_id FROM products WHERE id = ?", [product_id])
    if creator is None or merchant is None or int(creator) == visitor_id:
        return False
    store.db.execute(
        "INSERT INTO referral_clicks (creator_id, visitor_id, product_id, merchant_id, at) "
        "VALUES (?, ?, ?, ?, ?)",
        [creator, visitor_id, product_id, merchant, time.time()],
    )
    return True
