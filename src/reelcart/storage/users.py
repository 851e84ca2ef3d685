"""Users: who reelcart knows (name, language, interests), and the flags the back office
keeps on them (banned by an admin, blocking the bot).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence

from reelcart.domain import Language, User, UserSummary
from reelcart.storage.audit import record_audit
from reelcart.storage.store import Store, rows, scalar


def _user(row: dict) -> User:
    return User(
        id=row["id"],
        first_name=row["first_name"] or "",
        language=Language(row["language"]),
        interests=tuple(json.loads(row["interests"] or "[]")),
        onboarded=bool(row["onboarded"]),
    )


def get_user(store: Store, user_id: int) -> User | None:
    found = rows(store, "SELECT * FROM users WHERE id = ?", [user_id])
    return _user(found[0]) if found else None


def touch_user(
    store: Store, user_id: int, first_name: str, username: str | None, language_code: str | None
) -> tuple[User, bool]:
    """Create the user on first contact; return it and whether it is new.

    The language follows Telegram's until the user picks one with /lang.
    """
    existing = rows(store, "SELECT * FROM users WHERE id = ?", [user_id])
    if existing:
        row = existing[0]
        changes: dict[str, object] = {}
        if row["first_name"] != first_name or row["username"] != username:
            changes.update(first_name=first_name, username=username)
        if not row["language_chosen"]:
            language = Language.from_code(language_code).value
            if language != row["language"]:
                changes["language"] = language
        if changes:
            store.db.table("users").update(user_id, changes)
            row = {**row, **changes}
        return _user(row), False
    row = {
        "id": user_id,
        "first_name": first_name,
        "username": username,
        "language": Language.from_code(language_code).value,
        "language_chosen": 0,
        "interests": "[]",
        "onboarded": 0,
        "created_at": time.time(),
    }
    store.db.table("users").insert(row)
    return _user(row), True


def set_language(store: Store, user_id: int, language: Language) -> None:
    store.db.table("users").update(user_id, {"language": language.value, "language_chosen": 1})


def set_interests(store: Store, user_id: int, interests: Iterable[str], onboarded: bool) -> None:
    store.db.table("users").update(
        user_id,
        {"interests": json.dumps(sorted(set(interests))), "onboarded": int(onboarded)},
    )


def all_users(store: Store) -> list[User]:
    return [_user(row) for row in rows(store, "SELECT * FROM users")]


# -- banned and blocked users -------------------------------------------------------------


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
