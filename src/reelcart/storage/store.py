"""The handle every storage function takes first, and the query helpers they all use.

Storage is plain blocking SQLite: module-level functions taking the ``Store`` first. Async
code reaches them only through ``worker.DatabaseWorker.run(fn, ...)``, which calls
``fn(store, ...)`` on the database thread, so the event loop never waits on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

#: Query parameters: positional (``?``) or named (``:name``).
Params = Sequence[Any] | dict[str, Any]


class Store:
    """The data layer's handle on one sqlite-utils ``Database`` (one connection, used only on
    the database thread)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db


def rows(store: Store, sql: str, params: Params = ()) -> list[dict[str, Any]]:
    """The rows of a query as dicts, keyed by column name."""
    cursor = store.db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def scalar(store: Store, sql: str, params: Params = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = store.db.execute(sql, params).fetchone()
    return row[0] if row else None


def has_table(store: Store, name: str) -> bool:
    """Whether the database has this table (a database may predate a feature's schema)."""
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return scalar(store, sql, [name]) == 1
