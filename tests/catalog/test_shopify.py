"""Shopify's product CSV export, accepted as it comes."""

from __future__ import annotations

import csv
import io

from reelcart.catalog.formats import parse_catalog
from reelcart.catalog.shopify import html_to_text
from reelcart.domain import Money, ProductKind
from tests.catalog.conftest import DEMO_DATA
from tests.catalog.helpers import problems

SHOPIFY_HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags",
    "Published", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
    "Variant SKU", "Variant Inventory Qty", "Variant Price", "Variant Requires Shipping",
    "Image Src", "Status",
]  # fmt: skip


def shopify_csv(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SHOPIFY_HEADER)
    for cells in rows:
        writer.writerow([cells.get(name, "") for name in SHOPIFY_HEADER])
    return out.getvalue().encode()


TEE = {
    "Handle": "organic-tee",
    "Title": "Organic Tee",
    "Body (HTML)": "<p>Soft <strong>organic</strong> cotton.</p><ul><li>Fits true&nbsp;to size</li>"
    "<li>Made in Portugal &amp; dyed locally</li></ul><script>track()</script>",
    "Vendor": "Northwind",
    "Product Category": "Apparel & Accessories > Clothing > Shirts & Tops",
    "Type": "T-Shirts",
    "Tags": "Summer Sale, cotton, organic",
    "Published": "true",
    "Option1 Name": "Size",
    "Option1 Value": "S",
    "Option2 Name": "Color",
    "Option2 Value": "White",
    "Variant SKU": "TEE-S-W",
    "Variant Inventory Qty": "4",
    "Variant Price": "25.00",
    "Variant Requires Shipping": "true",
    "Image Src": "https://cdn.example/tee.jpg",
    "Status": "active",
}


def variant(handle: str, **cells: str) -> dict[str, str]:
    return {"Handle": handle, **cells}


def test_each_variant_becomes_a_product_with_the_product_level_fields() -> None:
    data = shopify_csv(
        TEE,  # line 2
        variant(
            "organic-tee", **{"Option1 Value": "M", "Option2 Value": "White",
            "Variant SKU": "TEE-M-W", "Variant Inventory Qty": "", "Variant Price": "27.00",
            "Variant Requires Shipping": "true"}
        ),  # line 3
        variant("organic-tee", **{"Image Src": "https://cdn.example/tee-back.jpg"}),  # image only
        variant(
            "organic-tee", **{"Option1 Value": "L", "Option2 Value": "Black",
            "Variant SKU": "TEE-L-B", "Variant Inventory Qty": "-2", "Variant Price": "27.00"}
        ),  # line 5
    )  # fmt: skip

    parsed = parse_catalog(data, "products_export_1.csv")

    assert parsed.format == "shopify"
    assert (parsed.errors, parsed.total, parsed.skipped) == ([], 3, 0)
    small, medium, large = parsed.rows
    assert [(r.line, r.sku) for r in parsed.rows] == [
        (2, "TEE-S-W"),
        (3, "TEE-M-W"),
        (5, "TEE-L-B"),
    ]
    assert small.title == "Organic Tee – S / White"
    assert large.title == "Organic Tee – L / Black"
    assert small.description == (
        "Soft organic cotton. Fits true to size Made in Portugal & dyed locally"
    )
    assert medium.description == small.description
    assert (small.price, medium.price) == (Money(2500, "EUR"), Money(2700, "EUR"))
    assert (small.stock, medium.stock, large.stock) == (4, 0, 0)  # blank and oversold are 0
    assert small.hashtags == ("summer_sale", "cotton", "organic")
    assert small.category == "t-shirts"
    assert small.kind is ProductKind.PHYSICAL
    assert (small.shop_url, small.video_url) == (None, None)
    assert "Vendor" in parsed.ignored_columns


def test_a_single_variant_keeps_its_plain_title() -> None:
    ebook = {
        "Handle": "brew-guide",
        "Title": "Pour-Over Brew Guide (PDF)",
        "Body (HTML)": "A 40-page guide.",
        "Product Category": "Media > Books > E-books",
        "Option1 Name": "Title",
        "Option1 Value": "Default Title",
        "Variant SKU": "GUIDE-PDF",
        "Variant Price": "9.00",
        "Variant Requires Shipping": "FALSE",
    }

    [product] = parse_catalog(shopify_csv(ebook), "export.csv").rows

    assert product.title == "Pour-Over Brew Guide (PDF)"
    assert product.kind is ProductKind.DIGITAL
    assert product.category == "e-books"  # the last segment of Product Category


def test_draft_and_archived_products_are_skipped() -> None:
    draft = {**TEE, "Handle": "draft-tee", "Variant SKU": "DRAFT-1", "Status": "draft"}
    archived = {**TEE, "Handle": "old-tee", "Variant SKU": "OLD-1", "Status": "archived"}

    parsed = parse_catalog(shopify_csv(TEE, draft, archived), "export.csv")

    assert [r.sku for r in parsed.rows] == ["TEE-S-W"]
    assert (parsed.total, parsed.skipped) == (1, 2)


def test_a_variant_without_sku_is_named_after_its_handle() -> None:
    single = {**TEE, "Handle": "canvas-tote", "Title": "Canvas Tote", "Variant SKU": ""}
    first = {**TEE, "Handle": "wool-socks", "Title": "Wool Socks", "Variant SKU": ""}
    second = variant("wool-socks", **{"Option1 Value": "M", "Option2 Value": "Grey",
                                      "Variant Price": "12.00"})  # fmt: skip

    parsed = parse_catalog(shopify_csv(single, first, second), "export.csv")

    assert parsed.errors == []
    assert [r.sku for r in parsed.rows] == [
        "canvas-tote",
        "wool-socks-s-white",
        "wool-socks-m-grey",
    ]


def test_a_product_level_error_is_reported_once_at_its_line_and_fails_every_variant() -> None:
    broken = {**TEE, "Title": "<b>Organic</b> Tee"}
    second = variant("organic-tee", **{"Option1 Value": "M", "Variant SKU": "TEE-M",
                                       "Variant Price": "25.00"})  # fmt: skip
    other = {**TEE, "Handle": "linen-shirt", "Title": "Linen Shirt", "Variant SKU": "LIN-1",
             "Variant Price": "abc"}  # fmt: skip

    parsed = parse_catalog(shopify_csv(broken, second, other), "export.csv")

    assert problems(parsed) == [(2, "Title", "html"), (4, "Variant Price", "price_invalid")]
    assert (parsed.rows, parsed.total, parsed.failed) == ([], 3, 3)


def test_a_long_title_is_shortened_to_fit_the_variant_suffix() -> None:
    long_title = "Very " * 23 + "Long Tee"  # 123 characters
    first = {**TEE, "Title": long_title[:118]}
    second = variant(
        "organic-tee",
        **{"Option1 Value": "M", "Option2 Value": "White", "Variant SKU": "TEE-M-W"},
        **{"Variant Price": "25"},
    )

    rows = parse_catalog(shopify_csv(first, second), "export.csv").rows

    assert [len(r.title) for r in rows] == [120, 120]
    assert rows[0].title.endswith("… – S / White")


def test_the_newer_export_column_names_are_understood() -> None:
    text = (
        "URL handle,Title,Description,SKU,Price,Inventory quantity,Requires shipping,Status\n"
        "gift-card,Gift Card,<p>Any amount</p>,GC-25,25.00,,false,Active\n"
    )

    parsed = parse_catalog(text.encode(), "products.csv")

    assert parsed.format == "shopify"
    [card] = parsed.rows
    assert (card.sku, card.description, card.kind) == ("GC-25", "Any amount", ProductKind.DIGITAL)


def test_html_to_text_strips_tags_unescapes_and_collapses() -> None:
    assert html_to_text("<h2>Fit</h2><p>Runs&nbsp;<em>small</em>&hellip;</p>\n\n<br/>ok") == (
        "Fit Runs small… ok"
    )
    assert html_to_text("<style>p{}</style>5 &lt; 6") == "5 < 6"


def test_the_demo_shopify_export() -> None:
    parsed = parse_catalog((DEMO_DATA / "shopify_export.csv").read_bytes(), "shopify_export.csv")

    assert parsed.format == "shopify"
    assert parsed.errors == []
    assert (len(parsed.rows), parsed.skipped) == (10, 2)  # the rain shell is a draft
    by_sku = {r.sku: r for r in parsed.rows}
    assert by_sku["NW-THR-42-BLK"].title == "Trailhead Runner GTX – 42 / Black"
    assert by_sku["NW-THR-42-BLK"].line == 8  # the first product's body spans lines 2-7
    assert by_sku["NW-V60-KIT"].title == "V60 Pour-Over Coffee Kit"
    assert "<" not in by_sku["NW-THR-41-BLK"].description
