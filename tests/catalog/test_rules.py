"""Every row rule: a file that breaks it, and the exact line and column the merchant is told."""

from __future__ import annotations

import pytest

from reelcart.catalog.formats import parse_catalog
from reelcart.domain import Money, ProductKind
from tests.catalog.helpers import GOOD, HEADER, csv_bytes, problems, row


def test_a_good_row_becomes_a_product_as_written() -> None:
    parsed = parse_catalog(csv_bytes(GOOD), "catalog.csv")

    assert parsed.format == "csv"
    assert (parsed.total, parsed.failed, parsed.errors) == (1, 0, [])
    [product] = parsed.rows
    assert product.line == 2
    assert product.sku == "MUG-1"
    assert product.title == "Speckled Mug"
    assert product.description == "A 300 ml stoneware mug."
    assert product.price == Money(1800, "EUR")
    assert product.stock == 12
    assert product.hashtags == ("mug", "coffee")
    assert product.category == "kitchen"
    assert product.kind is ProductKind.PHYSICAL
    assert product.video_url is None
    assert product.shop_url == "https://shop.example/mug"


BROKEN = [
    ({"sku": ""}, "sku", "sku_required"),
    ({"sku": "MUG 1"}, "sku", "sku_spaces"),
    ({"sku": "M" * 65}, "sku", "sku_too_long"),
    ({"sku": "=1+1"}, "sku", "formula"),
    ({"sku": "MUG\x01"}, "sku", "control_char"),
    ({"title": ""}, "title", "title_required"),
    ({"title": "T" * 121}, "title", "too_long"),
    ({"title": "<b>Speckled</b> Mug"}, "title", "html"),
    ({"title": "Mug <img src=x onerror=alert(1)>"}, "title", "html"),
    ({"title": "Tom &amp; Jerry Mug"}, "title", "html"),
    ({"title": "Mug&#39;s"}, "title", "html"),
    ({"title": '=HYPERLINK("http://evil.example","Mug")'}, "title", "formula"),
    ({"title": "+cmd|' /C calc'!A0"}, "title", "formula"),
    ({"title": "-2+3+cmd|' /C calc'!A0"}, "title", "formula"),
    ({"title": "@SUM(A1:A9)"}, "title", "formula"),
    ({"title": "Speckled\x07Mug"}, "title", "control_char"),
    ({"title": "Speckled\u202eMug"}, "title", "control_char"),
    ({"title": "Speckled\nMug"}, "title", "line_break"),
    ({"description": "<p>Nice mug</p>"}, "description", "html"),
    ({"description": "Nice <script>alert(1)</script>"}, "description", "html"),
    ({"description": "=IMPORTXML(A1)"}, "description", "formula"),
    ({"description": "D" * 4001}, "description", "too_long"),
    ({"description": "Nice\x00mug"}, "description", "control_char"),
    ({"category": "<i>kitchen</i>"}, "category", "html"),
    ({"category": "!!!"}, "category", "category_invalid"),
    ({"category": "c" * 51}, "category", "too_long"),
    ({"price": ""}, "price", "price_required"),
    ({"price": "free"}, "price", "price_invalid"),
    ({"price": "12.5.0"}, "price", "price_invalid"),
    ({"price": "1e3"}, "price", "price_invalid"),
    ({"price": "0"}, "price", "price_not_positive"),
    ({"price": "0.00"}, "price", "price_not_positive"),
    ({"price": "-1"}, "price", "price_not_positive"),
    ({"price": "-€4.50"}, "price", "price_not_positive"),
    ({"price": "12.345"}, "price", "price_decimals"),
    ({"price": "1,234.50"}, "price", "price_thousands"),
    ({"price": "1.234,50"}, "price", "price_thousands"),
    ({"price": "99999999999"}, "price", "price_too_large"),
    ({"price": "$12", "currency": ""}, "price", "price_symbol_ambiguous"),
    ({"price": "€12", "currency": "USD"}, "price", "price_symbol_mismatch"),
    ({"price": "12.50 GBP", "currency": "EUR"}, "price", "price_symbol_mismatch"),
    ({"price": "1500.5", "currency": "JPY"}, "price", "price_decimals"),
    ({"currency": "EURO"}, "currency", "currency_unknown"),
    ({"currency": "XTR", "price": "100"}, "currency", "currency_xtr_physical"),
    ({"stock": "3.5"}, "stock", "stock_not_whole"),
    ({"stock": "lots"}, "stock", "stock_not_whole"),
    ({"stock": "-1"}, "stock", "stock_negative"),
    ({"stock": "99999999999"}, "stock", "stock_too_large"),
    ({"hashtags": " ".join(f"#tag{i}" for i in range(11))}, "hashtags", "hashtags_too_many"),
    ({"hashtags": "#" + "a" * 51}, "hashtags", "hashtag_too_long"),
    ({"kind": "service"}, "kind", "kind_invalid"),
    ({"video_url": "ftp://files.example/mug.mp4"}, "video_url", "url_invalid"),
    ({"video_url": "mug.mp4"}, "video_url", "url_invalid"),
    ({"shop_url": "javascript:alert(1)"}, "shop_url", "url_invalid"),
    ({"shop_url": "https://"}, "shop_url", "url_invalid"),
    ({"shop_url": "www.shop.example/mug"}, "shop_url", "url_invalid"),
    ({"shop_url": "https://shop.example:99999/mug"}, "shop_url", "url_invalid"),
    ({"shop_url": "https://shop example/mug"}, "shop_url", "url_invalid"),
]


@pytest.mark.parametrize(("changes", "column", "key"), BROKEN)
def test_a_broken_cell_is_reported_at_its_line_and_column(
    changes: dict[str, str], column: str, key: str
) -> None:
    data = csv_bytes(row(sku="GOOD-1"), row(**changes), row(sku="GOOD-2"))

    parsed = parse_catalog(data, "catalog.csv")

    assert problems(parsed) == [(3, column, key)]
    assert [r.sku for r in parsed.rows] == ["GOOD-1", "GOOD-2"]
    assert (parsed.total, parsed.failed) == (3, 1)
    assert str(parsed.errors[0]).startswith(f"line 3, column {column}: ")


ACCEPTED = [
    ({"price": "12,50"}, "price", Money(1250, "EUR")),
    ({"price": "€12.50"}, "price", Money(1250, "EUR")),
    ({"price": "12,50 €"}, "price", Money(1250, "EUR")),
    ({"price": "12.500"}, "price", Money(1250, "EUR")),
    ({"price": "12"}, "price", Money(1200, "EUR")),
    ({"price": "$5", "currency": "USD"}, "price", Money(500, "USD")),
    ({"price": "£3", "currency": ""}, "price", Money(300, "GBP")),
    ({"price": "12.50 USD", "currency": ""}, "price", Money(1250, "USD")),
    ({"price": "1500", "currency": "JPY"}, "price", Money(1500, "JPY")),
    ({"currency": "usd"}, "price", Money(1800, "USD")),
    ({"currency": ""}, "price", Money(1800, "EUR")),
    ({"currency": "XTR", "price": "250", "kind": "digital"}, "price", Money(250, "XTR")),
    ({"stock": ""}, "stock", 0),
    ({"stock": "3.0"}, "stock", 3),
    ({"stock": " 7 "}, "stock", 7),
    ({"hashtags": "#Mugs, #coffee  #COFFEE cups"}, "hashtags", ("mugs", "coffee", "cups")),
    ({"hashtags": "#t-shirt #Men's"}, "hashtags", ("t_shirt", "mens")),
    ({"hashtags": "#café"}, "hashtags", ("café",)),
    ({"hashtags": ""}, "hashtags", ()),
    ({"category": "Home & Garden"}, "category", "home-garden"),
    ({"category": "  Kitchen  "}, "category", "kitchen"),
    ({"kind": "DIGITAL"}, "kind", ProductKind.DIGITAL),
    ({"kind": ""}, "kind", ProductKind.PHYSICAL),
    ({"title": "  Fish & Chips Mug <3  "}, "title", "Fish & Chips Mug <3"),
    ({"title": "Café mug ☕ 👩‍🍳"}, "title", "Café mug ☕ 👩‍🍳"),
    ({"title": "T" * 120}, "title", "T" * 120),
    ({"description": "Two lines\r\nof text"}, "description", "Two lines\nof text"),
    ({"description": "- dishwasher safe\n- 300 ml"}, "description", "- dishwasher safe\n- 300 ml"),
    ({"description": ""}, "description", ""),
    ({"video_url": "http://cdn.example/mug.mp4"}, "video_url", "http://cdn.example/mug.mp4"),
    ({"shop_url": ""}, "shop_url", None),
]


@pytest.mark.parametrize(("changes", "attribute", "expected"), ACCEPTED)
def test_accepted_forms_are_normalized(
    changes: dict[str, str], attribute: str, expected: object
) -> None:
    parsed = parse_catalog(csv_bytes(row(**changes)), "catalog.csv")

    assert parsed.errors == []
    assert getattr(parsed.rows[0], attribute) == expected


def test_every_problem_of_a_row_is_reported_and_the_row_counts_once() -> None:
    data = csv_bytes(row(title="", price="abc", stock="-2"))

    parsed = parse_catalog(data, "catalog.csv")

    assert problems(parsed) == [
        (2, "title", "title_required"),
        (2, "price", "price_invalid"),
        (2, "stock", "stock_negative"),
    ]
    assert (parsed.total, parsed.failed, parsed.rows) == (1, 1, [])
    assert {e.sku for e in parsed.errors} == {"MUG-1"}


def test_a_repeated_sku_is_refused_on_the_later_line() -> None:
    data = csv_bytes(row(sku="A"), row(sku="B"), row(sku="A", title="Another mug"))

    parsed = parse_catalog(data, "catalog.csv")

    assert problems(parsed) == [(4, "sku", "sku_duplicate")]
    assert "already used on line 2" in parsed.errors[0].reason
    assert [r.sku for r in parsed.rows] == ["A", "B"]
    assert parsed.rows[0].title == "Speckled Mug"


def test_line_numbers_count_physical_lines_of_quoted_multiline_cells() -> None:
    data = csv_bytes(
        row(sku="A", description="first line\nsecond line\nthird line"),  # lines 2-4
        row(sku="B", price="oops"),  # line 5
    )

    parsed = parse_catalog(data, "catalog.csv")

    assert problems(parsed) == [(5, "price", "price_invalid")]
    assert parsed.rows[0].line == 2


def test_blank_lines_are_skipped_but_still_counted() -> None:
    text = "sku,title,price\n\nA,Mug,5\n,,\n\nB,,5\n"

    parsed = parse_catalog(text.encode(), "catalog.csv")

    assert problems(parsed) == [(6, "title", "title_required")]
    assert [(r.line, r.sku) for r in parsed.rows] == [(3, "A")]
    assert parsed.total == 2


def test_a_line_with_more_cells_than_the_header_is_refused_whole() -> None:
    text = "sku,title,price\nA,Mug,5\nB,Mug,12,50\nC,Mug,7\n"

    parsed = parse_catalog(text.encode(), "catalog.csv")

    assert problems(parsed) == [(3, "", "extra_cells")]
    assert str(parsed.errors[0]) == (
        "line 3: the line has 4 cells but the header has 3: a cell probably contains an unquoted ,"
    )
    assert [r.sku for r in parsed.rows] == ["A", "C"]


def test_missing_trailing_cells_are_blank() -> None:
    text = "sku,title,price,stock,hashtags\nA,Mug,5\n"

    parsed = parse_catalog(text.encode(), "catalog.csv")

    assert parsed.errors == []
    assert (parsed.rows[0].stock, parsed.rows[0].hashtags) == (0, ())


def test_the_header_is_case_and_space_insensitive_in_any_order() -> None:
    text = " Price ;TITLE; sku ;Colour\n12,50;Mug;A;blue\n"

    parsed = parse_catalog(text.encode(), "catalog.csv")

    assert parsed.errors == []
    assert parsed.rows[0].price == Money(1250, "EUR")
    assert parsed.ignored_columns == ("Colour",)


def test_errors_name_the_column_as_the_file_spells_it() -> None:
    text = "SKU,Title,Price\nA,Mug,free\n"

    parsed = parse_catalog(text.encode(), "catalog.csv")

    assert problems(parsed) == [(2, "Price", "price_invalid")]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    data = csv_bytes(row(sku="A", description="one, two; three"), row(sku="B"), delimiter=delimiter)

    parsed = parse_catalog(data, "catalog.txt")

    assert parsed.errors == []
    assert [r.sku for r in parsed.rows] == ["A", "B"]
    assert parsed.rows[0].description == "one, two; three"


def test_only_the_required_columns_are_needed() -> None:
    data = csv_bytes({"sku": "A", "title": "Mug", "price": "3"}, header=["sku", "title", "price"])

    [product] = parse_catalog(data, "catalog.csv").rows

    assert product.price == Money(300, "EUR")
    assert (product.stock, product.kind, product.category) == (0, ProductKind.PHYSICAL, "")


def test_error_messages_carry_a_key_and_params_for_translation() -> None:
    parsed = parse_catalog(csv_bytes(row(price="12.345")), "catalog.csv")

    [error] = parsed.errors
    assert error.key == "catalog_row.price_decimals"
    assert error.params == {"value": "12.345", "currency": "EUR", "decimals": 2}
    assert error.reason == (
        "12.345 has more decimals than EUR allows (2); if that is a thousands separator, remove it"
    )


def test_the_header_of_the_design_is_the_one_we_test() -> None:
    # Guard: the DESIGN.md columns, in order.
    assert HEADER == [
        "sku", "title", "description", "price", "currency", "stock",
        "hashtags", "category", "kind", "video_url", "shop_url",
    ]  # fmt: skip
