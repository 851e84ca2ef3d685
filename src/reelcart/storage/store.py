"""Reading and writing the shop's data. Synchronous by design: it runs on the DB thread.

Every method here is plain blocking SQLite work. Async code reaches it only through
``catalog.worker.DatabaseWorker.run``, which keeps it off the event loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import sqlite_utils

from reelcart.catalog.rows import CatalogRow, RowOutcome
from reelcart.domain import (
    Clip,
    EventKind,
    Language,
    Merchant,
    MerchantState,
    ModerationState,
    Money,
    Pick,
    Product,
    ProductKind,
    ProductNotFound,
    ProductStatus,
    Reaction,
    ReasonKind,
    User,
)

_PRODUCT_SELECT = (
    "SELECT p.*, m.name AS merchant_name, m.suspended AS merchant_suspended "
    "FROM products p JOIN merchants m ON m.id = p.merchant_id"
)


def _product(row: dict) -> Product:
    return Product(
        id=row["id"],
        merchant_id=row["merchant_id"],
        sku=row["sku"],
        title=row["title"],
        description=row["description"] or "",
        price=Money(row["price_minor"], row["currency"]),
        stock=row["stock"],
        hashtags=tuple(tag for tag in (row["hashtags"] or "").split() if tag),
        category=row["category"] or "",
        kind=ProductKind(row["kind"]),
        shop_url=row["shop_url"] or None,
        video_url=row["video_url"] or None,
        status=ProductStatus(row["status"]),
        merchant_name=row.get("merchant_name") or "",
        # A suspended merchant's products read as suspended, whatever their own state.
        moderation=ModerationState.SUSPENDED
        if row.get("merchant_suspended")
        else ModerationState(row.get("moderation") or ModerationState.APPROVED.value),
    )


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


def _user(row: dict) -> User:
    return User(
        id=row["id"],
        first_name=row["first_name"] or "",
        language=Language(row["language"]),
        interests=tuple(json.loads(row["interests"] or "[]")),
        onboarded=bool(row["onboarded"]),
    )


def _rows(db: sqlite_utils.Database, sql: str, params: Sequence | dict = ()) -> list[dict]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _last_pk(table: sqlite_utils.db.Table) -> int:
    assert table.last_pk is not None
    return int(table.last_pk)


class Store:
    """The data layer over one sqlite-utils ``Database``."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    # -- users -------------------------------------------------------------------------

    def get_user(self, user_id: int) -> User | None:
        rows = _rows(self.db, "SELECT * FROM users WHERE id = ?", [user_id])
        return _user(rows[0]) if rows else None

    def touch_user(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> tuple[User, bool]:
        """Create the user on first contact; return it and whether it is new.

        The language follows Telegram's until the user picks one with /lang.
        """
        existing = _rows(self.db, "SELECT * FROM users WHERE id = ?", [user_id])
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
                self.db.table("users").update(user_id, changes)
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
        self.db.table("users").insert(row)
        return _user(row), True

    def set_language(self, user_id: int, language: Language) -> None:
        self.db.table("users").update(user_id, {"language": language.value, "language_chosen": 1})

    def set_interests(self, user_id: int, interests: Iterable[str], onboarded: bool) -> None:
        self.db.table("users").update(
            user_id,
            {"interests": json.dumps(sorted(set(interests))), "onboarded": int(onboarded)},
        )

    def all_users(self) -> list[User]:
        return [_user(row) for row in _rows(self.db, "SELECT * FROM users")]

    # -- merchants ---------------------------------------------------------------------

    def merchant_by_name(self, name: str, create: bool = True) -> Merchant | None:
        rows = _rows(self.db, "SELECT * FROM merchants WHERE name = ?", [name])
        if not rows:
            if not create:
                return None
            self.db.table("merchants").insert({"name": name, "created_at": time.time()})
            rows = _rows(self.db, "SELECT * FROM merchants WHERE name = ?", [name])
        return merchant_from_row(rows[0])

    def merchant_of_user(self, user_id: int) -> Merchant | None:
        """The approved, non-suspended merchant this Telegram user runs, if any.

        Merchant commands are gated on it: an applicant, a rejected or a suspended merchant
        gets None.
        """
        rows = _rows(
            self.db,
            "SELECT * FROM merchants WHERE owner_user_id = ? AND state = 'approved' "
            "AND suspended = 0 ORDER BY id LIMIT 1",
            [user_id],
        )
        return merchant_from_row(rows[0]) if rows else None

    def set_merchant_owner(self, merchant_id: int, user_id: int | None) -> None:
        self.db.table("merchants").update(merchant_id, {"owner_user_id": user_id})

    # -- products ----------------------------------------------------------------------

    def upsert_rows(self, merchant_id: int, rows: Sequence[CatalogRow]) -> list[RowOutcome]:
        """Insert or update products by (merchant, sku), atomically; one outcome per row."""
        now = time.time()
        outcomes: list[RowOutcome] = []
        with self.db.atomic():
            for row in rows:
                digest = row.content_hash()
                found = self.db.execute(
                    "SELECT id, content_hash FROM products WHERE merchant_id = ? AND sku = ?",
                    [merchant_id, row.sku],
                ).fetchone()
                values = {
                    "merchant_id": merchant_id,
                    "sku": row.sku,
                    "title": row.title,
                    "description": row.description,
                    "price_minor": row.price.minor,
                    "currency": row.price.currency,
                    "stock": row.stock,
                    "hashtags": " ".join(row.hashtags),
                    "category": row.category,
                    "kind": row.kind.value,
                    "video_url": row.video_url,
                    "shop_url": row.shop_url,
                    "content_hash": digest,
                    "updated_at": now,
                }
                if found is None:
                    self.db.table("products").insert(
                        {**values, "status": ProductStatus.ACTIVE.value, "created_at": now}
                    )
                    outcomes.append(RowOutcome.CREATED)
                elif found[1] == digest:
                    outcomes.append(RowOutcome.UNCHANGED)
                else:
                    self.db.table("products").update(found[0], values)
                    outcomes.append(RowOutcome.UPDATED)
        return outcomes

    def product_ids_by_sku(self, merchant_id: int, skus: Iterable[str]) -> dict[str, int]:
        wanted = list(skus)
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT sku, id FROM products WHERE merchant_id = ? AND sku IN ({marks})"
            found.update(dict(self.db.execute(sql, [merchant_id, *chunk]).fetchall()))
        return found

    def get_product(self, product_id: int) -> Product:
        """Raise ProductNotFound for an unknown or deleted product."""
        rows = _rows(self.db, _PRODUCT_SELECT + " WHERE p.id = ?", [product_id])
        if not rows or rows[0]["status"] == ProductStatus.DELETED.value:
            raise ProductNotFound(product_id)
        return _product(rows[0])

    def get_products(self, product_ids: Sequence[int]) -> dict[int, Product]:
        found: dict[int, Product] = {}
        ids = list(product_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in _rows(self.db, _PRODUCT_SELECT + f" WHERE p.id IN ({marks})", chunk):
                found[row["id"]] = _product(row)
        return found

    def all_products(self, include_deleted: bool = False) -> list[Product]:
        where = "" if include_deleted else " WHERE p.status != 'deleted'"
        return [_product(row) for row in _rows(self.db, _PRODUCT_SELECT + where + " ORDER BY p.id")]

    def set_stock(self, product_id: int, stock: int) -> None:
        self.db.table("products").update(product_id, {"stock": stock, "updated_at": time.time()})

    def set_status(self, product_id: int, status: ProductStatus) -> None:
        self.db.table("products").update(
            product_id, {"status": status.value, "updated_at": time.time()}
        )

    def interest_options(self, limit: int = 12) -> list[str]:
        """Categories of active products, most stocked first: the onboarding choices."""
        sql = (
            "SELECT category FROM products WHERE status = 'active' AND category != '' "
            "AND moderation = 'approved' "
            "GROUP BY category ORDER BY count(*) DESC, category LIMIT ?"
        )
        return [row[0] for row in self.db.execute(sql, [limit]).fetchall()]

    # -- clips -------------------------------------------------------------------------

    def get_clip(self, product_id: int) -> Clip | None:
        rows = _rows(self.db, "SELECT * FROM clips WHERE product_id = ?", [product_id])
        if not rows:
            return None
        row = rows[0]
        return Clip(
            product_id=row["product_id"],
            source=row["source"],
            mime_type=row["mime_type"] or "video/mp4",
            duration=row["duration"],
            width=row["width"],
            height=row["height"],
            file_id=row["file_id"],
        )

    def set_clip(self, clip: Clip) -> None:
        """Attach or replace a product's clip; a new source forgets the cached file_id."""
        current = self.get_clip(clip.product_id)
        file_id = clip.file_id
        if current is not None and current.source == clip.source and file_id is None:
            file_id = current.file_id
        self.db.table("clips").upsert(
            {
                "product_id": clip.product_id,
                "source": clip.source,
                "mime_type": clip.mime_type,
                "duration": clip.duration,
                "width": clip.width,
                "height": clip.height,
                "file_id": file_id,
                "updated_at": time.time(),
            },
            pk="product_id",
        )

    def cache_file_id(self, product_id: int, source: str, file_id: str) -> None:
        """Remember Telegram's file_id so the clip is uploaded only once."""
        self.db.execute(
            "UPDATE clips SET file_id = ? WHERE product_id = ? AND source = ?",
            [file_id, product_id, source],
        )

    # -- events and cards --------------------------------------------------------------

    def add_event(self, reaction: Reaction, card_id: int | None = None) -> int:
        """Append one event to the log; events are never updated or deleted.

        Plain SQL rather than ``Table.insert``: every swipe writes here, and sqlite-utils
        looks the table up and builds the statement anew each time.
        """
        cursor = self.db.execute(
            "INSERT INTO events (user_id, product_id, kind, dwell_ms, card_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                reaction.user_id,
                reaction.product_id,
                reaction.kind.value,
                reaction.dwell_ms,
                card_id,
                reaction.at or time.time(),
            ],
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def add_shop_click(self, reaction: Reaction, window: float) -> bool:
        """Record a shop click unless the same shopper's click on the same product was
        recorded less than ``window`` seconds before it; returns whether it was recorded.
        (Check and insert are one call on the database thread, so two at once count once.)
        """
        recent = self.db.execute(
            "SELECT 1 FROM events WHERE user_id = ? AND kind = ? AND product_id = ? "
            "AND at > ? LIMIT 1",
            [
                reaction.user_id,
                EventKind.SHOP_CLICK.value,
                reaction.product_id,
                reaction.at - window,
            ],
        ).fetchone()
        if recent is not None:
            return False
        self.add_event(reaction)
        return True

    def iter_events(self, batch: int = 10_000) -> Iterator[Reaction]:
        """The whole log in order, to rebuild the ranking's state on start."""
        last = 0
        while True:
            rows = self.db.execute(
                "SELECT id, user_id, product_id, kind, dwell_ms, at FROM events "
                "WHERE id > ? ORDER BY id LIMIT ?",
                [last, batch],
            ).fetchall()
            if not rows:
                return
            for _id, user_id, product_id, kind, dwell_ms, at in rows:
                yield Reaction(user_id, product_id, EventKind(kind), dwell_ms, at)
            last = rows[-1][0]

    def liked_product_ids(self, user_id: int, limit: int = 50) -> list[int]:
        """Products the user likes now (a later unlike cancels a like), newest first."""
        sql = (
            "SELECT product_id, kind FROM events WHERE user_id = ? AND kind IN ('like', 'unlike') "
            "ORDER BY id"
        )
        state: dict[int, bool] = {}
        for product_id, kind in self.db.execute(sql, [user_id]).fetchall():
            state.pop(product_id, None)
            state[product_id] = kind == EventKind.LIKE.value
        liked = [pid for pid, on in state.items() if on]
        liked.reverse()
        return liked[:limit]

    def create_card(
        self,
        user_id: int,
        pick: Pick,
        shown_at: float,
        chat_id: int | None = None,
        message_id: int | None = None,
    ) -> int:
        """A new card row (plain SQL, as ``add_event``: one per swipe); ``shown_at`` is when
        its dwell time starts, by the feed's clock."""
        cursor = self.db.execute(
            "INSERT INTO cards (user_id, product_id, reason, because_product_id, "
            "because_interest, chat_id, message_id, shown_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                user_id,
                pick.product_id,
                pick.reason.value,
                pick.because_product_id,
                pick.because_interest,
                chat_id,
                message_id,
                shown_at,
            ],
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def get_card(self, card_id: int) -> dict | None:
        rows = _rows(self.db, "SELECT * FROM cards WHERE id = ?", [card_id])
        return rows[0] if rows else None

    def card_pick(self, card: dict) -> Pick:
        return Pick(
            product_id=card["product_id"],
            reason=ReasonKind(card["reason"]),
            because_product_id=card["because_product_id"],
            because_interest=card["because_interest"],
        )

    def set_card_message(
        self, card_id: int, chat_id: int, message_id: int, shown_at: float
    ) -> None:
        """The card went into this message at ``shown_at`` (the feed's clock)."""
        self.db.execute(
            "UPDATE cards SET chat_id = ?, message_id = ?, shown_at = ? WHERE id = ?",
            [chat_id, message_id, shown_at, card_id],
        )

    def answer_card(self, card_id: int) -> bool:
        """Mark a card answered; False if it already was (a button pressed twice)."""
        cursor = self.db.execute(
            "UPDATE cards SET answered_at = ? WHERE id = ? AND answered_at IS NULL",
            [time.time(), card_id],
        )
        return cursor.rowcount == 1

    def latest_card(self, user_id: int) -> dict | None:
        rows = _rows(
            self.db, "SELECT * FROM cards WHERE user_id = ? ORDER BY id DESC LIMIT 1", [user_id]
        )
        return rows[0] if rows else None

    # -- vectors -----------------------------------------------------------------------

    def get_vectors(
        self, model: str, product_ids: Sequence[int]
    ) -> dict[int, tuple[str, np.ndarray]]:
        """Stored vectors of ``model`` for these products: id -> (text hash, vector)."""
        found: dict[int, tuple[str, np.ndarray]] = {}
        ids = list(product_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = (
                "SELECT product_id, text_hash, vector FROM product_vectors "
                f"WHERE model = ? AND product_id IN ({marks})"
            )
            for product_id, text_hash, blob in self.db.execute(sql, [model, *chunk]).fetchall():
                found[product_id] = (text_hash, np.frombuffer(blob, dtype=np.float32).copy())
        return found

    def all_vectors(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) of every stored vector of ``model``, for rebuilding the index."""
        rows = self.db.execute(
            "SELECT product_id, vector FROM product_vectors WHERE model = ? ORDER BY product_id",
            [model],
        ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        matrix = np.vstack([np.frombuffer(row[1], dtype=np.float32) for row in rows])
        return ids, matrix

    def save_vectors(self, model: str, items: Sequence[tuple[int, str, np.ndarray]]) -> None:
        """Persist (product id, text hash, vector) so a restart re-encodes nothing."""
        with self.db.atomic():
            self.db.table("product_vectors").upsert_all(
                (
                    {
                        "product_id": product_id,
                        "model": model,
                        "text_hash": text_hash,
                        "dim": int(vector.shape[0]),
                        "vector": np.asarray(vector, dtype=np.float32).tobytes(),
                    }
                    for product_id, text_hash, vector in items
                ),
                pk="product_id",
            )
