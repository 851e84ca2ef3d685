"""A catalog row once it has been parsed and checked, and the problems found on the way
(what the catalog files give the storage, in the shop's own words)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum

from reelcart.domain.products import Money, ProductKind


@dataclass(frozen=True)
class CatalogRow:
    """One valid product line of a catalog file, ready to be stored.

    ``line`` is the 1-based line of the file (CSV) or 1-based position (JSON) it came from.
    """

    line: int
    sku: str
    title: str
    description: str
    price: Money
    stock: int
    hashtags: tuple[str, ...]
    category: str
    kind: ProductKind
    video_url: str | None = None
    shop_url: str | None = None

    def content_hash(self) -> str:
        """A digest of everything stored, so re-importing an unchanged row changes nothing."""
        payload = json.dumps(
            [
                self.sku, self.title, self.description, self.price.minor, self.price.currency,
                self.stock, list(self.hashtags), self.category, self.kind.value,
                self.video_url, self.shop_url,
            ],
            ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RowError:
    """Why one line of a catalog file was not imported; the rest of the file still is."""

    line: int
    column: str
    reason: str
    sku: str | None = None
    # The message key of ``reason`` and its placeholders, for a localized report.
    key: str = ""
    params: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        if not self.column:
            return f"line {self.line}: {self.reason}"
        return f"line {self.line}, column {self.column}: {self.reason}"


class RowOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
