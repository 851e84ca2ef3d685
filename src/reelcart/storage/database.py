"""Opening the SQLite file and migrating it.

Migrations (``migrations``) each run once, in name order, in a transaction, and are
recorded in ``_migrations``. Opening a database always brings it to the newest schema, so a
fresh file and an old one end up alike.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import sqlite_utils

# Importing the schema modules registers their migrations.
from reelcart.storage import schema_orders as schema_commerce  # noqa: F401
from reelcart.storage import schema_shops as schema_merchants  # noqa: F401
from reelcart.storage.migrations import MIGRATIONS, migration

log = logging.getLogger(__name__)


def open_database(path: Path | str | None) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database; ``None`` means in memory.

    The connection is made for the calling thread; reelcart keeps all database work on one
    dedicated thread (see ``worker``), so it never needs to cross threads.
    """
    if path is None:
        db = sqlite_utils.Database(memory=True)
        # Autocommit at the driver level: each statement commits on its own unless it runs
        # inside db.atomic(), which issues an explicit BEGIN/COMMIT.
        db.conn.isolation_level = None
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL keeps every committed transaction across an application crash.
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply the migrations not applied yet; return their names."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied: list[str] = []
    for name, fn in sorted(MIGRATIONS.items()):
        if name in done:
            continue
        with db.atomic():
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", [name]
            )
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    db.table("users").create(
        {
            "id": int,
            "first_name": str,
            "username": str,
            "language": str,
            "language_chosen": int,
            "interests": str,
            "onboarded": int,
            "created_at": float,
        },
        pk="id",
        defaults={"language_chosen": 0, "onboarded": 0, "interests": "[]"},
    )
    db.table("merchants").create(
        {"id": int, "name": str, "shop_url": str, "owner_user_id": int, "created_at": float},
        pk="id",
    )
    db.table("merchants").create_index(["name"], unique=True)
    db.table("products").create(
        {
            "id": int,
            "merchant_id": int,
            "sku": str,
            "title": str,
            "description": str,
            "price_minor": int,
            "currency": str,
            "stock": int,
            "hashtags": str,
            "category": str,
            "kind": str,
            "video_url": str,
            "shop_url": str,
            "status": str,
            "content_hash": str,
            "created_at": float,
            "updated_at": float,
        },
        pk="id",
        foreign_keys=[("merchant_id", "merchants", "id")],
        defaults={"status": "active"},
    )
    db.table("products").create_index(["merchant_id", "sku"], unique=True)
    db.table("products").create_index(["category"])
    db.table("clips").create(
        {
            "product_id": int,
            "source": str,
            "mime_type": str,
            "duration": int,
            "width": int,
            "height": int,
            "file_id": str,
            "updated_at": float,
        },
        pk="product_id",
        foreign_keys=[("product_id", "products", "id")],
    )
    db.table("events").create(
        {
            "id": int,
            "user_id": int,
            "product_id": int,
            "kind": str,
            "dwell_ms": int,
            "card_id": int,
            "at": float,
        },
        pk="id",
    )
    db.table("events").create_index(["user_id", "kind"])
    db.table("events").create_index(["product_id"])
    db.table("cards").create(
        {
            "id": int,
            "user_id": int,
            "product_id": int,
            "reason": str,
            "because_product_id": int,
            "because_interest": str,
            "chat_id": int,
            "message_id": int,
            "shown_at": float,
            "answered_at": float,
        },
        pk="id",
    )
    db.table("cards").create_index(["user_id", "id"])
    db.table("product_vectors").create(
        {"product_id": int, "model": str, "text_hash": str, "dim": int, "vector": bytes},
        pk="product_id",
    )
