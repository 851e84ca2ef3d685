"""Which column of a catalog file holds which field: the header, in reelcart's columns or
Shopify's.

Column names match in any case, with spaces collapsed and a byte-order mark ignored; a
known column named twice refuses the file, unknown columns are ignored (and reported).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reelcart.catalog.problems import file_error

# A catalog row's fields, in the order of DESIGN.md (and of a row's errors).
FIELDS = (
    "sku", "title", "description", "price", "currency", "stock",
    "hashtags", "category", "kind", "video_url", "shop_url",
)  # fmt: skip
REQUIRED_COLUMNS = ("sku", "title", "price")
NATIVE_COLUMNS: dict[str, tuple[str, ...]] = {name: (name,) for name in FIELDS}


def normal_name(name: str) -> str:
    """A column name as it is matched: lowercase, spaces collapsed, no byte-order mark."""
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


# The fields read from Shopify's product export, by the names its old and new exports use.
SHOPIFY_COLUMNS: dict[str, tuple[str, ...]] = {
    "handle": ("handle", "url handle"),
    "title": ("title",),
    "body": ("body (html)", "description"),
    "type": ("type",),
    "product_category": ("product category",),
    "tags": ("tags",),
    "option1": ("option1 value",),
    "option2": ("option2 value",),
    "option3": ("option3 value",),
    "sku": ("variant sku", "sku"),
    "price": ("variant price", "price"),
    "stock": ("variant inventory qty", "inventory quantity", "variant inventory quantity"),
    "requires_shipping": ("variant requires shipping", "requires shipping"),
    "gift_card": ("gift card",),
    "status": ("status",),
    "currency": ("currency", "variant currency"),
}


def is_shopify(names: set[str]) -> bool:
    """Whether a header (as ``normal_name``s) is that of a Shopify product export."""
    has_title = "title" in names
    if "handle" in names and has_title and "variant price" in names:
        return True
    # Shopify's newer export names the columns "URL handle", "SKU", "Price".
    return "url handle" in names and has_title and ({"variant price", "price"} & names != set())


@dataclass(frozen=True)
class Header:
    """A file's header: where each field is, and the columns nobody reads."""

    line: int
    index: dict[str, int]  # field -> column position
    labels: dict[str, str]  # field -> the column's name as the file spells it
    width: int
    ignored: tuple[str, ...]


def read_header(cells: Sequence[str], line: int, columns: Mapping[str, tuple[str, ...]]) -> Header:
    """Map a header's ``cells`` to the fields of ``columns`` (field -> accepted names).

    Raises:
        CatalogFileError: a known column appears twice.
    """
    by_name: dict[str, int] = {}
    ignored: list[str] = []
    for position, cell in enumerate(cells):
        name = normal_name(cell)
        if not name:
            continue
        if name in by_name:
            if any(name in aliases for aliases in columns.values()):
                raise file_error("duplicate_column", column=cell.strip())
            continue
        by_name[name] = position
    index: dict[str, int] = {}
    labels: dict[str, str] = {}
    for fieldname, aliases in columns.items():
        for alias in aliases:
            if alias in by_name:
                index[fieldname] = by_name[alias]
                labels[fieldname] = cells[by_name[alias]].replace("\ufeff", "").strip()
                break
    used = set(index.values())
    ignored = [cells[p].strip() for p in sorted(by_name.values()) if p not in used]
    return Header(line, index, labels, len(cells), tuple(ignored))
