"""The audit log: which admin did what to which target, and when.

An entry is written in the same transaction as the change it records, and is never
updated or deleted.
"""

from __future__ import annotations

import time

from reelcart.domain import AuditEntry
from reelcart.storage.store import Store, rows, scalar


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


def audit_detail(title: str, reason: str) -> str:
    """An audit entry's detail: what was acted on, and why if a reason was given."""
    return f"{title}: {reason}" if reason else title
