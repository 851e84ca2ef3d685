"""Schema for orders, baskets, shipping rates, the payment inbox and order-preparation clips.

Migrations here are named ``m1xx_*``.

- ``order_drafts``: what an invoice asks for (one per 🛒 or basket checkout). The invoice
  payload names a draft and is signed, so pre-checkout can re-check it.
- ``orders`` / ``order_lines``: one order per Telegram payment; ``charge_id`` (Telegram's
  ``telegram_payment_charge_id``) is UNIQUE, so a payment can never make two orders.
- ``payment_inbox``: every ``successful_payment`` as it arrived, written before Telegram is
  told the update was received; an order is created from it even after a crash.
- ``baskets``: products a shopper gathers to pay once (one merchant at a time).
- ``shipping_rates``: the shipping options offered at checkout. Rows with a NULL
  ``merchant_id`` are the defaults per currency; a merchant's own rows for a currency
  replace the defaults for that currency.
- ``social_clips``: a clip a merchant filmed while preparing an order.
- ``orders.receipt_state``: where the shopper's receipt stands (the domain's
  ``Delivery``: ``pending -> sending -> sent | blocked | failed | unknown``), written just
  before and just after the send; ``receipt_sent_at`` is when it reached a final state.
"""

from __future__ import annotations

import sqlite_utils

from reelcart.storage.migrations import migration

# Default shipping options per currency, in minor units: (option id, title, amount).
DEFAULT_SHIPPING_RATES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "EUR": (("standard", "Standard", 490), ("express", "Express", 990)),
    "USD": (("standard", "Standard", 550), ("express", "Express", 1290)),
    "GBP": (("standard", "Standard", 450), ("express", "Express", 950)),
    "CHF": (("standard", "Standard", 690), ("express", "Express", 1290)),
}


@migration
def m101_orders(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE order_drafts (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            merchant_id INTEGER NOT NULL REFERENCES merchants(id),
            kind TEXT NOT NULL,
            currency TEXT NOT NULL,
            total_minor INTEGER NOT NULL,
            items TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at REAL NOT NULL,
            paid_order_id INTEGER
        )
        """
    )
    db.execute(
        """
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            charge_id TEXT NOT NULL UNIQUE,
            provider_charge_id TEXT,
            draft_id INTEGER,
            user_id INTEGER NOT NULL,
            merchant_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            currency TEXT NOT NULL,
            goods_minor INTEGER NOT NULL,
            shipping_minor INTEGER NOT NULL DEFAULT 0,
            total_minor INTEGER NOT NULL,
            shipping_option TEXT,
            recipient TEXT,
            address TEXT,
            tracking TEXT,
            problem TEXT,
            clip_consent INTEGER,
            created_at REAL NOT NULL,
            shipped_at REAL,
            refunded_at REAL,
            refunded_by INTEGER,
            receipt_sent_at REAL,
            merchant_notified_at REAL
        )
        """
    )
    db.execute("CREATE INDEX idx_orders_user ON orders (user_id, id)")
    db.execute("CREATE INDEX idx_orders_merchant ON orders (merchant_id, id)")
    db.execute("CREATE INDEX idx_orders_status ON orders (status)")
    db.execute(
        """
        CREATE TABLE order_lines (
            order_id INTEGER NOT NULL REFERENCES orders(id),
            product_id INTEGER NOT NULL,
            sku TEXT NOT NULL,
            title TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            unit_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            PRIMARY KEY (order_id, product_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE payment_inbox (
            charge_id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL,
            raw TEXT NOT NULL,
            received_at REAL NOT NULL,
            processed_at REAL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE baskets (
            user_id INTEGER NOT NULL,
            product_id INTEGER NOT NULL REFERENCES products(id),
            quantity INTEGER NOT NULL,
            added_at REAL NOT NULL,
            PRIMARY KEY (user_id, product_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE shipping_rates (
            id INTEGER PRIMARY KEY,
            merchant_id INTEGER REFERENCES merchants(id),
            currency TEXT NOT NULL,
            option_id TEXT NOT NULL,
            title TEXT NOT NULL,
            amount_minor INTEGER NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX idx_shipping_rates ON shipping_rates (merchant_id, currency)")
    for currency, options in DEFAULT_SHIPPING_RATES.items():
        for position, (option_id, title, amount) in enumerate(options):
            db.execute(
                "INSERT INTO shipping_rates (merchant_id, currency, option_id, title, "
                "amount_minor, position) VALUES (NULL, ?, ?, ?, ?, ?)",
                [currency, option_id, title, amount, position],
            )


@migration
def m102_social_clips(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE social_clips (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL UNIQUE REFERENCES orders(id),
            product_id INTEGER NOT NULL,
            buyer_id INTEGER NOT NULL,
            file_id TEXT NOT NULL,
            duration INTEGER,
            width INTEGER,
            height INTEGER,
            created_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_social_clips_product ON social_clips (product_id)")


@migration
def m103_receipt_state(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE orders ADD COLUMN receipt_state TEXT NOT NULL DEFAULT 'pending'")
    db.execute("UPDATE orders SET receipt_state = 'sent' WHERE receipt_sent_at IS NOT NULL")
