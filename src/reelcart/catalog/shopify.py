"""Shopify's product CSV export, read as it comes (the old and the new column names).

One row per variant: the product-level cells (title, body, type, tags, status) are on a
product's first row only, image-only rows carry nothing to sell. Every variant becomes one
product; draft and archived products are skipped; a variant without a SKU takes the
handle (plus its option values when the product has several); ``Body (HTML)`` becomes
plain text; a variant that needs no shipping, or a gift card, is digital.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from reelcart.catalog.cells import MAX_SKU, slug
from reelcart.catalog.columns import Header
from reelcart.catalog.problems import InvalidCell
from reelcart.catalog.validation import Candidate, Cell, ParsedCatalog, RowChecker


class _PlainText(HTMLParser):
    """Collects the text of an HTML fragment, dropping scripts and styles."""

    _SKIP = frozenset({"script", "style", "template", "head", "title"})
    # Tags that end a run of text: "<p>a</p><p>b</p>" reads "a b", "<b>a</b>b" reads "ab".
    _BREAK = frozenset(
        {
            "p", "div", "br", "hr", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3",
            "h4", "h5", "h6", "tr", "td", "th", "table", "blockquote", "section", "article",
            "header", "footer", "pre", "figure", "figcaption",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags stripped, entities unescaped, spaces collapsed."""
    parser = _PlainText()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


def _truthy(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    return None


@dataclass
class _ShopifyProduct:
    handle: str
    first_line: int
    product: dict[str, Cell] = field(default_factory=dict)  # product-level cells
    variants: list[tuple[int, dict[str, Cell]]] = field(default_factory=list)


_PRODUCT_LEVEL = ("title", "body", "type", "product_category", "tags", "status", "gift_card")
_VARIANT_MARKERS = ("sku", "price", "option1", "option2", "option3")


def parse_shopify(header: Header, records: Iterator[tuple[int, list[str]]]) -> ParsedCatalog:
    """Check the products of a Shopify export, from its ``header`` and its other records
    (``(line, cells)``).

    Raises:
        CatalogFileError: the export offers no product (``no_rows``).
    """
    products: dict[str, _ShopifyProduct] = {}
    checker = RowChecker()
    current: _ShopifyProduct | None = None
    orphans = 0
    for line, record in records:
        cells = {
            name: Cell(record[pos].strip() if pos < len(record) else "", line, header.labels[name])
            for name, pos in header.index.items()
        }
        handle = cells["handle"].value if "handle" in cells else ""
        if handle:
            current = products.get(handle)
            if current is None:
                current = products[handle] = _ShopifyProduct(handle, line)
        elif current is None:
            orphans += 1
            checker.fail_whole(line, "shopify_handle_missing")
            continue
        for name in _PRODUCT_LEVEL:
            cell = cells.get(name)
            if cell is not None and cell.value and name not in current.product:
                current.product[name] = cell
        if any(cells[name].value for name in _VARIANT_MARKERS if name in cells):
            current.variants.append((line, cells))
        # Otherwise an image-only continuation row: nothing to sell.

    total = orphans
    skipped = 0
    for product in products.values():
        status = product.product.get("status")
        if status is not None and status.value.lower() in ("draft", "archived"):
            skipped += len(product.variants)
            continue
        several = len(product.variants) > 1
        for line, variant in product.variants:
            total += 1
            checker.check(_shopify_candidate(product, line, variant, several))
    return checker.finish(total, "shopify", skipped=skipped, ignored=header.ignored)


def _shopify_candidate(
    product: _ShopifyProduct, line: int, variant: dict[str, Cell], several: bool
) -> Candidate:
    top = product.product

    def product_cell(name: str, label: str) -> Cell:
        return top.get(name) or Cell("", product.first_line, label)

    options = [
        variant[name].value
        for name in ("option1", "option2", "option3")
        if name in variant and variant[name].value and variant[name].value != "Default Title"
    ]
    problems: dict[str, InvalidCell] = {}
    sku_cell = variant.get("sku") or Cell("", line, "Variant SKU")
    if not sku_cell.value:
        derived = product.handle
        if several:
            derived = f"{product.handle}-{slug('-'.join(options)) or line}"
        if len(derived) > MAX_SKU:
            problems["sku"] = InvalidCell("shopify_sku_missing")
        else:
            sku_cell = Cell(derived, line, sku_cell.column)

    description = product_cell("body", "Body (HTML)")
    description = Cell(html_to_text(description.value), description.line, description.column)
    category = top.get("type")
    if category is None:
        category = top.get("product_category")
        if category is not None:
            leaf = category.value.split(">")[-1].strip()
            category = Cell(leaf, category.line, category.column)
    kind_value = "physical"
    shipping = variant.get("requires_shipping")
    gift = top.get("gift_card")
    if (shipping is not None and _truthy(shipping.value) is False) or (
        gift is not None and _truthy(gift.value) is True
    ):
        kind_value = "digital"

    cells: dict[str, Cell] = {
        "sku": sku_cell,
        "title": product_cell("title", "Title"),
        "description": description,
        "price": variant.get("price") or Cell("", line, "Variant Price"),
        "stock": variant.get("stock") or Cell("", line, "Variant Inventory Qty"),
        "hashtags": product_cell("tags", "Tags"),
        "category": category or Cell("", line, "Type"),
        "kind": Cell(kind_value, line, shipping.column if shipping else "kind"),
    }
    if "currency" in variant:
        cells["currency"] = variant["currency"]
    suffix = ""
    if several:
        suffix = " – " + (" / ".join(options) or sku_cell.value)
    return Candidate(line, cells, shopify=True, title_suffix=suffix, problems=problems)
