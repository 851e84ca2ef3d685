"""Merchants: the shops and who runs them, applications and an admin's decision on each,
and the flags admins set (trusted, suspended), each decision audited in its transaction.
"""

from __future__ import annotations

import time

from reelcart.domain import (
    AlreadyMerchant,
    Application,
    Merchant,
    MerchantState,
    MerchantSummary,
    NameTaken,
)
from reelcart.storage.audit import audit_detail, record_audit
from reelcart.storage.store import Store, rows, scalar


def merchant_from_row(row: dict) -> Merchant:
    """A ``merchants`` row as a Merchant."""
    return Merchant(
        id=row["id"],
        name=row["name"],
        shop_url=row["shop_url"] or None,
        owner_user_id=row["owner_user_id"],
        state=MerchantState(row.get("state") or MerchantState.APPROVED.value),
        trusted=bool(row.get("trusted", 1)),
        suspended=bool(row.get("suspended", 0)),
    )


def merchant_by_name(store: Store, name: str, create: bool = True) -> Merchant | None:
    found = rows(store, "SELECT * FROM merchants WHERE name = ?", [name])
    if not found:
        if not create:
            return None
        store.db.table("merchants").insert({"name": name, "created_at": time.time()})
        found = rows(store, "SELECT * FROM merchants WHERE name = ?", [name])
    return merchant_from_row(found[0])


def merchant_of_user(store: Store, user_id: int) -> Merchant | None:
    """The approved, non-suspended merchant this Telegram user runs, if any.

    Merchant commands are gated on it: an applicant, a rejected or a suspended merchant
    gets None.
    """
    found = rows(
        store,
        "SELECT * FROM merchants WHERE owner_user_id = ? AND state = 'approved' "
        "AND suspended = 0 ORDER BY id LIMIT 1",
        [user_id],
    )
    return merchant_from_row(found[0]) if found else None


def set_merchant_owner(store: Store, merchant_id: int, user_id: int | None) -> None:
    store.db.table("merchants").update(merchant_id, {"owner_user_id": user_id})


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


# -- applications -------------------------------------------------------------------------


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
        detail = audit_detail(merchant.name, reason)
        record_audit(store, admin_id, action, "merchant", merchant_id, detail)
    return merchant


# -- the admin panel's list and flags -----------------------------------------------------


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
