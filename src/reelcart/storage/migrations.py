"""Schema migrations: small functions applied once each, in name order.

Each feature keeps its migrations in its own module (``schema_*.py``) and registers them
with ``@migration``; names start with a number (``m002_orders``) that fixes their order.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: dict[str, Migration] = {}


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as a migration named after the function."""
    if fn.__name__ in MIGRATIONS:
        raise ValueError(f"two migrations are named {fn.__name__}")
    MIGRATIONS[fn.__name__] = fn
    return fn
