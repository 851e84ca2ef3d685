"""Schema for orders, baskets and shop clicks.

Migrations here are named ``m1xx_*``.
"""

from __future__ import annotations

import sqlite_utils  # noqa: F401

from reelcart.catalog.migrations import migration  # noqa: F401
