"""Small builders for catalog files in tests."""

from __future__ import annotations

import csv
import io

from reelcart.catalog.validation import ParsedCatalog

HEADER = [
    "sku", "title", "description", "price", "currency", "stock",
    "hashtags", "category", "kind", "video_url", "shop_url",
]  # fmt: skip

GOOD = {
    "sku": "MUG-1",
    "title": "Speckled Mug",
    "description": "A 300 ml stoneware mug.",
    "price": "18.00",
    "currency": "EUR",
    "stock": "12",
    "hashtags": "#mug #coffee",
    "category": "kitchen",
    "kind": "physical",
    "video_url": "",
    "shop_url": "https://shop.example/mug",
}


def row(**changes: str) -> dict[str, str]:
    """GOOD with some cells changed."""
    return {**GOOD, **changes}


def csv_bytes(
    *rows: dict[str, str], header: list[str] | None = None, delimiter: str = ","
) -> bytes:
    out = io.StringIO()
    names = header or HEADER
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names)
    for cells in rows:
        writer.writerow([cells.get(name, "") for name in names])
    return out.getvalue().encode("utf-8")


def problems(parsed: ParsedCatalog) -> list[tuple[int, str, str]]:
    """(line, column, key without its prefix) of every error."""
    return [(e.line, e.column, e.key.rsplit(".", 1)[-1]) for e in parsed.errors]
