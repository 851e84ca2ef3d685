"""Schema for merchant applications, moderation and the admin audit log.

Migrations here are named ``m2xx_*``.
"""

from __future__ import annotations

import sqlite_utils  # noqa: F401

from reelcart.catalog.migrations import migration  # noqa: F401
