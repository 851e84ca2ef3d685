"""Whole files: encodings, formats, and files that cannot be a catalog at all."""

from __future__ import annotations

import codecs
import json
import random

import pytest

from reelcart.catalog.decoding import MAX_FILE_BYTES
from reelcart.catalog.formats import parse_catalog
from reelcart.domain import CatalogFileError, Money
from tests.catalog.helpers import GOOD, csv_bytes, problems, row

CSV_TEXT = "sku,title,price\nA,Crème brûlée torch,24.90\n"


def refusal(data: bytes, filename: str = "catalog.csv") -> CatalogFileError:
    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(data, filename)
    return caught.value


@pytest.mark.parametrize(
    "data",
    [CSV_TEXT.encode(), codecs.BOM_UTF8 + CSV_TEXT.encode(), CSV_TEXT.encode("utf-16")],
    ids=["utf-8", "utf-8 with BOM", "utf-16 with BOM"],
)
def test_utf8_and_utf16_files_are_read(data: bytes) -> None:
    parsed = parse_catalog(data, "catalog.csv")

    assert parsed.errors == []
    assert parsed.rows[0].title == "Crème brûlée torch"


def test_a_latin1_file_is_refused_with_the_line_to_look_at() -> None:
    data = b"sku,title,price\nA,Mug,5\nB,Cr\xe8me br\xfbl\xe9e torch,24.90\n"

    error = refusal(data)

    assert error.message_key == "error.catalog_file.not_utf8"
    assert error.params == {"line": 3}
    assert str(error) == (
        "the file is not UTF-8 text (the first unreadable character is on line 3): "
        'save it as "CSV UTF-8" and try again'
    )


def test_random_binary_is_not_a_text_file() -> None:
    data = random.Random(7).randbytes(4096)

    assert refusal(data, "catalog.csv").message_key == "error.catalog_file.not_text"


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"%PDF-1.7\n" + bytes(range(256))],
    ids=["png", "pdf"],
)
def test_images_and_documents_are_not_text_files(data: bytes) -> None:
    assert refusal(data).message_key == "error.catalog_file.not_text"


def test_utf16_without_its_bom_is_not_taken_for_text() -> None:
    data = CSV_TEXT.encode("utf-16-le")

    assert refusal(data).message_key == "error.catalog_file.not_text"


def test_a_spreadsheet_workbook_gets_a_hint_to_save_as_csv() -> None:
    error = refusal(b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "catalog.xlsx")

    assert error.message_key == "error.catalog_file.spreadsheet"
    assert "CSV UTF-8" in str(error)


@pytest.mark.parametrize(
    "data", [b"", b"   \n\n\t", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")]
)
def test_an_empty_file_is_refused(data: bytes) -> None:
    assert refusal(data).message_key == "error.catalog_file.empty"


def test_a_file_over_20_mb_is_refused() -> None:
    data = b"sku,title,price\n" + b"x" * MAX_FILE_BYTES

    error = refusal(data)

    assert error.message_key == "error.catalog_file.too_large"
    assert error.params["limit_mb"] == 20


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("sku,title,stock\nA,Mug,3\n", "price"),
        ("name,cost\nMug,3\n", "sku, title, price"),
        ("Dear shop,\nplease find our products attached.\n", "sku, title, price"),
        ("A,Mug,5\nB,Cup,6\n", "sku, title, price"),
    ],
    ids=["no price column", "other columns", "a letter", "no header"],
)
def test_a_file_without_the_catalog_header_is_not_a_catalog(text: str, missing: str) -> None:
    error = refusal(text.encode())

    assert error.message_key == "error.catalog_file.missing_columns"
    assert error.params == {"missing": missing}
    assert str(error).startswith("this is not a catalog: the first line must name the columns")


def test_a_header_without_rows_has_no_products() -> None:
    assert refusal(b"sku,title,price\n\n").message_key == "error.catalog_file.no_rows"


def test_a_repeated_column_is_refused() -> None:
    error = refusal(b"sku,title,price,Price\nA,Mug,5,6\n")

    assert error.message_key == "error.catalog_file.duplicate_column"
    assert error.params == {"column": "Price"}


def test_an_unclosed_quote_is_reported_where_the_record_starts() -> None:
    data = b'sku,title,price\nA,Mug,5\nB,"Cup,6\nC,Plate,7\n'

    error = refusal(data)

    assert error.message_key == "error.catalog_file.bad_csv"
    assert error.params["line"] == 3


def test_catalog_file_error_is_still_a_plain_exception() -> None:
    error = CatalogFileError()

    assert error.message_key == "error.catalog_file"
    assert str(error) == "error.catalog_file"
    assert error.params == {}


# -- JSON --------------------------------------------------------------------------------


def json_bytes(items: object) -> bytes:
    return json.dumps(items, ensure_ascii=False).encode()


def test_a_json_list_of_objects_is_a_catalog() -> None:
    items = [
        {**GOOD, "price": 18.0, "stock": 12, "hashtags": ["#mug", "coffee"]},
        {"SKU": "B", " Title ": "Cup", "price": "12,50", "stock": None, "colour": "red"},
    ]

    parsed = parse_catalog(json_bytes(items), "catalog.json")

    assert parsed.format == "json"
    assert parsed.errors == []
    first, second = parsed.rows
    assert (first.line, first.price, first.stock, first.hashtags) == (
        1, Money(1800, "EUR"), 12, ("mug", "coffee"),
    )  # fmt: skip
    assert (second.line, second.sku, second.title, second.price, second.stock) == (
        2, "B", "Cup", Money(1250, "EUR"), 0,
    )  # fmt: skip
    assert parsed.ignored_columns == ("colour",)


def test_json_numbers_keep_the_precision_they_were_written_with() -> None:
    text = """[{"sku": "A", "title": "Mug", "price": 12.345},
               {"sku": "B", "title": "Cup", "price": 0.1}]"""

    parsed = parse_catalog(text.encode(), "catalog.json")

    assert problems(parsed) == [(1, "price", "price_decimals")]
    assert parsed.rows[0].price == Money(10, "EUR")


def test_json_rows_are_checked_like_csv_rows_with_their_position_as_line() -> None:
    items = [
        {"sku": "A", "title": "Mug", "price": 5},
        {"sku": "B", "title": "<b>Cup</b>", "price": True},
        "not an object",
        {"sku": "D", "title": {"en": "Plate"}, "price": 7, "stock": [1]},
    ]

    parsed = parse_catalog(json_bytes(items), "catalog.json")

    assert problems(parsed) == [
        (2, "title", "html"),
        (2, "price", "json_type"),
        (3, "", "json_not_object"),
        (4, "title", "json_type"),
        (4, "stock", "json_type"),
    ]
    assert [r.sku for r in parsed.rows] == ["A"]
    assert (parsed.total, parsed.failed) == (4, 3)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"sku": "A", "title": "Mug", "price": 5}', "not_json_list"),
        ('{"products": []}', "not_json_list"),
        ("[1, 2, 3]", "not_json_list"),
        ("[]", "no_rows"),
        ('[{"sku": "A", "title": "Mug", "price": 5},]', "bad_json"),
        ('[{"name": "Mug"}]', "missing_columns"),
        ("[" * 100_000, "bad_json"),
    ],
)
def test_json_that_is_not_a_list_of_products_is_refused(text: str, reason: str) -> None:
    assert refusal(text.encode(), "catalog.json").message_key == f"error.catalog_file.{reason}"


def test_broken_json_says_where() -> None:
    error = refusal(b'[\n  {"sku": "A",\n   "title": "Mug" "price": 5}\n]', "catalog.json")

    assert (error.params["line"], error.params["column"]) == (3, 19)


def test_the_format_comes_from_the_content_not_the_name() -> None:
    assert parse_catalog(csv_bytes(row()), "catalog.json").format == "csv"
    assert parse_catalog(json_bytes([GOOD]), "catalog.csv").format == "json"
