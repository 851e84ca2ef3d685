"""Schema for merchant applications, moderation and the admin audit log.

Migrations here are named ``m2xx_*``.

- ``merchants`` gains its application state (``applied`` -> ``approved`` | ``rejected``),
  ``trusted`` and ``suspended``. Merchants created by ``reelcart import`` (the operator)
  keep the defaults: approved and trusted.
- ``products`` gains ``moderation`` (``pending`` | ``approved`` | ``rejected``). Triggers put
  a product of an untrusted merchant back to ``pending`` whenever it is created, its
  shopper-visible content changes (title, description, price, ...; not its stock) or its
  clip is replaced, whatever code made the change.
- ``audit_log``: every admin action (who, what, target, when).
- ``shop_settings``: settings changed from the admin panel, kept across restarts.
- ``user_flags``: banned users (by an admin) and users who blocked the bot.
- ``broadcasts`` / ``broadcast_recipients``: a broadcast and the delivery state of each
  recipient, so a restart resumes it without sending anyone the message twice.
- ``restocks`` / ``restock_alerts``: a trigger records every 0 -> more stock change;
  likers are told once per restock.
- ``referral_codes`` / ``referral_clicks``: creators' codes in shared deep links, and who
  opened them.
"""

from __future__ import annotations

import sqlite_utils

from reelcart.storage.migrations import migration

# Unix time in seconds (with fractions) in SQL: unixepoch('subsec') needs SQLite 3.42.
NOW_SQL = "((julianday('now') - 2440587.5) * 86400.0)"

# Columns of a product that shoppers see: changing one sends the product back to moderation
# (for untrusted merchants). Stock and status are the merchant's business.
MODERATED_COLUMNS = (
    "title",
    "description",
    "price_minor",
    "currency",
    "hashtags",
    "category",
    "kind",
    "video_url",
    "shop_url",
)


def _untrusted(product_id_sql: str) -> str:
    return (
        "(SELECT m.trusted FROM products p JOIN merchants m ON m.id = p.merchant_id "
        f"WHERE p.id = {product_id_sql}) = 0"
    )


def _to_pending(product_id_sql: str) -> str:
    return (
        "UPDATE products SET moderation = 'pending', moderation_note = NULL, "
        f"submitted_at = {NOW_SQL}, moderated_at = NULL, moderated_by = NULL "
        f"WHERE id = {product_id_sql};"
    )


@migration
def m201_merchant_moderation(db: sqlite_utils.Database) -> None:
    for sql in (
        "ALTER TABLE merchants ADD COLUMN state TEXT NOT NULL DEFAULT 'approved'",
        "ALTER TABLE merchants ADD COLUMN trusted INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE merchants ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE merchants ADD COLUMN applied_at REAL",
        "ALTER TABLE merchants ADD COLUMN decided_at REAL",
        "ALTER TABLE merchants ADD COLUMN decided_by INTEGER",
        "ALTER TABLE merchants ADD COLUMN note TEXT",
        "CREATE INDEX idx_merchants_owner ON merchants (owner_user_id)",
        "CREATE INDEX idx_merchants_state ON merchants (state, applied_at)",
        "ALTER TABLE products ADD COLUMN moderation TEXT NOT NULL DEFAULT 'approved'",
        "ALTER TABLE products ADD COLUMN moderation_note TEXT",
        "ALTER TABLE products ADD COLUMN submitted_at REAL",
        "ALTER TABLE products ADD COLUMN moderated_at REAL",
        "ALTER TABLE products ADD COLUMN moderated_by INTEGER",
        "CREATE INDEX idx_products_moderation ON products (moderation, submitted_at)",
    ):
        db.execute(sql)
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in MODERATED_COLUMNS)
    db.execute(
        "CREATE TRIGGER products_moderate_new AFTER INSERT ON products "
        f"WHEN {_untrusted('NEW.id')} BEGIN {_to_pending('NEW.id')} END"
    )
    db.execute(
        f"CREATE TRIGGER products_moderate_change AFTER UPDATE OF {', '.join(MODERATED_COLUMNS)} "
        f"ON products WHEN ({changed}) AND {_untrusted('NEW.id')} "
        f"BEGIN {_to_pending('NEW.id')} END"
    )
    db.execute(
        "CREATE TRIGGER clips_moderate_new AFTER INSERT ON clips "
        f"WHEN {_untrusted('NEW.product_id')} BEGIN {_to_pending('NEW.product_id')} END"
    )
    db.execute(
        "CREATE TRIGGER clips_moderate_change AFTER UPDATE OF source ON clips "
        f"WHEN OLD.source IS NOT NEW.source AND {_untrusted('NEW.product_id')} "
        f"BEGIN {_to_pending('NEW.product_id')} END"
    )


@migration
def m202_audit_settings_flags(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            admin_id INTEGER NOT NULL,
            action TEXT NOT NULL,
            target_kind TEXT NOT NULL,
            target_id INTEGER,
            detail TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE shop_settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at REAL NOT NULL,
            updated_by INTEGER
        )
        """
    )
    db.execute(
        """
        CREATE TABLE user_flags (
            user_id INTEGER PRIMARY KEY,
            banned_at REAL,
            banned_by INTEGER,
            blocked_at REAL
        )
        """
    )


@migration
def m203_broadcasts(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE broadcasts (
            id INTEGER PRIMARY KEY,
            admin_id INTEGER NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL,
            chat_id INTEGER,
            message_id INTEGER,
            language TEXT NOT NULL DEFAULT 'en',
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE broadcast_recipients (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
            user_id INTEGER NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at REAL,
            PRIMARY KEY (broadcast_id, user_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_recipients_state ON broadcast_recipients (broadcast_id, state)")
    db.execute("CREATE INDEX idx_broadcasts_status ON broadcasts (status)")


@migration
def m204_restocks(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE restocks (
            id INTEGER PRIMARY KEY,
            product_id INTEGER NOT NULL,
            stock INTEGER NOT NULL,
            at REAL NOT NULL,
            handled_at REAL
        )
        """
    )
    db.execute("CREATE INDEX idx_restocks_open ON restocks (handled_at)")
    db.execute(
        """
        CREATE TABLE restock_alerts (
            restock_id INTEGER NOT NULL REFERENCES restocks(id),
            user_id INTEGER NOT NULL,
            product_id INTEGER NOT NULL,
            state TEXT NOT NULL,
            updated_at REAL,
            PRIMARY KEY (restock_id, user_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_restock_alerts_state ON restock_alerts (state)")
    # Every way stock changes (an import, /products, an order, a refund) is an UPDATE of
    # this column, so the trigger sees them all, in the same transaction.
    db.execute(
        "CREATE TRIGGER products_restocked AFTER UPDATE OF stock ON products "
        "WHEN OLD.stock <= 0 AND NEW.stock > 0 "
        "BEGIN INSERT INTO restocks (product_id, stock, at) "
        f"VALUES (NEW.id, NEW.stock, {NOW_SQL}); END"
    )


@migration
def m205_referrals(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE referral_codes (
            user_id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE referral_clicks (
            id INTEGER PRIMARY KEY,
            creator_id INTEGER NOT NULL,
            visitor_id INTEGER NOT NULL,
            product_id INTEGER NOT NULL,
            merchant_id INTEGER NOT NULL,
            at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_referral_clicks_merchant ON referral_clicks (merchant_id, at)")
    db.execute(
        "CREATE INDEX idx_referral_clicks_visitor ON referral_clicks (visitor_id, product_id)"
    )
    db.execute("CREATE INDEX idx_referral_clicks_creator ON referral_clicks (creator_id)")
