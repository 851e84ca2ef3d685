"""CatalogImporter against a real SQLite file: what a merchant sees after an upload."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from reelcart.catalog import importer as importer_module
from reelcart.catalog.formats import parse_catalog
from reelcart.catalog.importer import CatalogImporter
from reelcart.catalog.safe_csv import safe_csv_cell
from reelcart.domain import CatalogFileError, Language, Money, Product
from reelcart.domain.catalog import CatalogRow
from reelcart.i18n.catalog_report import failed_rows_csv
from reelcart.storage.products import all_products, upsert_rows
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker
from tests.catalog.conftest import DEMO_DATA, ChangedLog
from tests.catalog.helpers import csv_bytes, row


def products(worker: DatabaseWorker) -> dict[str, Product]:
    return {p.sku: p for p in worker.call(all_products)}


def merchants(worker: DatabaseWorker) -> list[str]:
    return [
        r[0] for r in worker.call(lambda s: s.db.execute("SELECT name FROM merchants").fetchall())
    ]


THREE = csv_bytes(
    row(sku="A", title="Mug", price="10.00"),
    row(sku="B", title="Cup", price="12.00"),
    row(sku="C", title="Plate", price="14.00"),
)


def test_a_first_import_creates_every_good_row(
    importer: CatalogImporter, worker: DatabaseWorker, changed: ChangedLog
) -> None:
    report = importer.import_bytes(THREE, "catalog.csv", "Northwind")

    assert (report.created, report.updated, report.unchanged, report.failed) == (3, 0, 0, 0)
    assert report.format == "csv"
    assert report.merchant.name == "Northwind"
    stored = products(worker)
    assert {sku: (p.title, p.price) for sku, p in stored.items()} == {
        "A": ("Mug", Money(1000, "EUR")),
        "B": ("Cup", Money(1200, "EUR")),
        "C": ("Plate", Money(1400, "EUR")),
    }
    assert report.product_ids == [stored[s].id for s in "ABC"]
    assert [[p.sku for p in call] for call in changed.calls] == [["A", "B", "C"]]


def test_reimporting_the_same_file_changes_nothing(
    importer: CatalogImporter, worker: DatabaseWorker, changed: ChangedLog
) -> None:
    first = importer.import_bytes(THREE, "catalog.csv", "Northwind")

    again = importer.import_bytes(THREE, "catalog.csv", "Northwind")

    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 3, 0)
    assert again.product_ids == first.product_ids
    assert len(changed.calls) == 1  # nothing new to embed


def test_changing_one_row_updates_one_product(
    importer: CatalogImporter, worker: DatabaseWorker, changed: ChangedLog
) -> None:
    importer.import_bytes(THREE, "catalog.csv", "Northwind")
    edited = THREE.replace(
        b"Cup,A 300 ml stoneware mug.,12.00", b"Cup,A 300 ml stoneware mug.,13.50"
    )
    assert edited != THREE

    report = importer.import_bytes(edited, "catalog.csv", "Northwind")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert products(worker)["B"].price == Money(1350, "EUR")
    assert [(p.sku, p.price) for p in changed.calls[-1]] == [("B", Money(1350, "EUR"))]


def test_good_rows_are_imported_next_to_bad_ones(
    importer: CatalogImporter, worker: DatabaseWorker
) -> None:
    data = csv_bytes(
        row(sku="A", hashtags="#Mugs #coffee"),
        row(sku="B", price="12.345"),
        row(sku="C", title="<b>Cup</b>"),
        row(sku="D", stock="7", category="Home & Garden"),
    )

    report = importer.import_bytes(data, "catalog.csv", "Northwind")

    assert (report.created, report.failed, report.total) == (2, 2, 4)
    assert [(e.line, e.column, e.sku) for e in report.errors] == [
        (3, "price", "B"),
        (4, "title", "C"),
    ]
    stored = products(worker)
    assert sorted(stored) == ["A", "D"]
    assert stored["A"].hashtags == ("mugs", "coffee")
    assert (stored["D"].stock, stored["D"].category) == (7, "home-garden")


def test_the_demo_catalog_with_errors(importer: CatalogImporter, worker: DatabaseWorker) -> None:
    data = (DEMO_DATA / "catalog_with_errors.csv").read_bytes()

    report = importer.import_bytes(data, "catalog_with_errors.csv", "Leaf & Kettle")

    assert (report.created, report.failed) == (6, 4)
    assert [(e.line, e.column, e.sku) for e in report.errors] == [
        (4, "title", "TEA-003"),
        (6, "price", "TEA-005"),
        (9, "currency", "TEA-008"),
        (11, "stock", "TEA-010"),
    ]
    assert [str(e) for e in report.errors] == [
        "line 4, column title: the title is empty",
        "line 6, column price: the price must be more than 0",
        "line 9, column currency: EURO is not a supported currency code: use one like EUR or USD",
        "line 11, column stock: 3.5 is not a whole number of items",
    ]
    assert len(products(worker)) == 6


def test_the_demo_csv_and_json_catalogs_hold_the_same_products(
    importer: CatalogImporter, worker: DatabaseWorker
) -> None:
    from_csv = importer.import_path(DEMO_DATA / "catalog.csv", "Demo")

    from_json = importer.import_path(DEMO_DATA / "catalog.json", "Demo")

    assert (from_csv.created, from_csv.failed) == (72, 0)
    assert (from_json.format, from_json.unchanged, from_json.failed) == ("json", 72, 0)


def test_a_shopify_export_imports_one_product_per_variant(
    importer: CatalogImporter, worker: DatabaseWorker
) -> None:
    report = importer.import_path(DEMO_DATA / "shopify_export.csv", "Northwind Outfitters")

    assert (report.format, report.created, report.failed, report.skipped) == ("shopify", 10, 0, 2)
    assert "NW-BNE-MST" in products(worker)


def test_merchants_have_their_own_skus(importer: CatalogImporter, worker: DatabaseWorker) -> None:
    importer.import_bytes(THREE, "catalog.csv", "Northwind")

    report = importer.import_bytes(THREE, "catalog.csv", "Southwind")

    assert report.created == 3
    assert len(worker.call(all_products)) == 6


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"sku,title,price\nA,Cr\xe8me,5\n", "not_utf8"),
        (bytes(range(256)) * 16, "not_text"),
        (b"", "empty"),
        (json.dumps({"sku": "A", "title": "Mug", "price": 5}).encode(), "not_json_list"),
        (b"sku,title,stock\nA,Mug,5\n", "missing_columns"),
    ],
    ids=["latin-1", "binary", "empty", "json object", "no price column"],
)
def test_an_unreadable_file_imports_nothing(
    importer: CatalogImporter,
    worker: DatabaseWorker,
    changed: ChangedLog,
    data: bytes,
    reason: str,
) -> None:
    with pytest.raises(CatalogFileError) as caught:
        importer.import_bytes(data, "catalog.csv", "Northwind")

    assert caught.value.message_key == f"error.catalog_file.{reason}"
    assert products(worker) == {}
    assert merchants(worker) == []
    assert changed.calls == []


def test_a_file_of_only_bad_rows_stores_no_product(
    importer: CatalogImporter, worker: DatabaseWorker, changed: ChangedLog
) -> None:
    report = importer.import_bytes(csv_bytes(row(price="free")), "catalog.csv", "Northwind")

    assert (report.created, report.failed, report.product_ids) == (0, 1, [])
    assert products(worker) == {}
    assert changed.calls == []


def test_a_fault_between_chunks_leaves_the_catalog_as_it_was(
    importer: CatalogImporter, worker: DatabaseWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    importer.import_bytes(THREE, "catalog.csv", "Northwind")
    before = products(worker)
    monkeypatch.setattr(importer_module, "_STORE_CHUNK", 2)
    original = upsert_rows
    calls = []

    def upsert_then_fail(store: Store, merchant_id: int, rows: list[CatalogRow]) -> object:
        calls.append([r.sku for r in rows])
        if len(calls) == 2:
            raise OSError("disk I/O error")
        return original(store, merchant_id, rows)

    monkeypatch.setattr(importer_module, "upsert_rows", upsert_then_fail)
    repriced = THREE.replace(b"10.00", b"11.00").replace(b"12.00", b"13.00")
    bigger = repriced + b"D,Bowl,,9.00,EUR,1,,,,,\n"

    with pytest.raises(OSError, match="disk I/O error"):
        importer.import_bytes(bigger, "catalog.csv", "Northwind")

    assert calls == [["A", "B"], ["C", "D"]]  # the first chunk had been written...
    assert products(worker) == before  # ...and was rolled back with the rest


def test_a_fault_inside_a_write_leaves_a_new_merchant_unborn(
    importer: CatalogImporter, worker: DatabaseWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CatalogRow.content_hash

    def hash_or_fail(self: CatalogRow) -> str:
        if self.sku == "C":
            raise RuntimeError("power cut")
        return original(self)

    monkeypatch.setattr(CatalogRow, "content_hash", hash_or_fail)

    with pytest.raises(RuntimeError, match="power cut"):
        importer.import_bytes(THREE, "catalog.csv", "Brand New")

    assert products(worker) == {}
    assert merchants(worker) == []


def test_progress_is_reported_stage_by_stage(worker: DatabaseWorker) -> None:
    seen: list[tuple[str, int, int]] = []

    def embed(changed_products: list[Product], progress: importer_module.ProgressFn) -> None:
        progress("embedded", len(changed_products), len(changed_products))
        progress("indexed", len(changed_products), len(changed_products))

    importer = CatalogImporter(worker, on_changed=embed)

    importer.import_bytes(THREE, "catalog.csv", "Northwind", progress=lambda *a: seen.append(a))

    assert seen == [
        ("read", len(THREE), len(THREE)),
        ("checked", 3, 3),
        ("stored", 3, 3),
        ("embedded", 3, 3),
        ("indexed", 3, 3),
    ]


def test_import_path_reports_bytes_read(importer: CatalogImporter, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_bytes(THREE)
    seen: list[tuple[str, int, int]] = []

    report = importer.import_path(path, "Northwind", progress=lambda *a: seen.append(a))

    assert report.created == 3
    assert [s for s in seen if s[0] == "read"] == [
        ("read", 0, len(THREE)),
        ("read", len(THREE), len(THREE)),
    ]


def test_a_missing_file_says_why(importer: CatalogImporter, tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError) as caught:
        importer.import_path(tmp_path / "nope.csv", "Northwind")

    assert caught.value.message_key == "error.catalog_file.unreadable"
    assert str(caught.value) == "the file could not be read: No such file or directory"


def test_a_directory_is_not_a_file(importer: CatalogImporter, tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError) as caught:
        importer.import_path(tmp_path, "Northwind")

    assert caught.value.message_key == "error.catalog_file.unreadable"


def test_a_file_without_read_permission_says_why(
    importer: CatalogImporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_bytes(THREE)
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        # chmod 0 does not stop root (CI runs as root), so the OS refusal is simulated.
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(CatalogFileError, match="Permission denied"):
        importer.import_path(path, "Northwind")


def test_a_file_over_20_mb_is_refused_before_it_is_read(
    importer: CatalogImporter, tmp_path: Path
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)  # sparse: nothing to read

    with pytest.raises(CatalogFileError) as caught:
        importer.import_path(path, "Northwind")

    assert caught.value.message_key == "error.catalog_file.too_large"
    assert caught.value.params == {"size_mb": 21.0, "limit_mb": 20}


def test_a_blank_merchant_name_is_a_programming_error(importer: CatalogImporter) -> None:
    with pytest.raises(ValueError, match="merchant name"):
        importer.import_bytes(THREE, "catalog.csv", "  ")


# -- the failed-rows report ----------------------------------------------------------------


def test_the_failed_rows_csv_is_safe_to_open_in_a_spreadsheet(importer: CatalogImporter) -> None:
    data = csv_bytes(
        row(sku="OK"),
        row(sku="=1+1"),
        row(sku="-CMD", title="-2+3+cmd|' /C calc'!A0"),
        row(sku="X", price="@SUM(A1)"),
        row(sku="+Y", title="Plain"),
    )

    report = importer.import_bytes(data, "catalog.csv", "Northwind")
    written = failed_rows_csv(report.errors, Language.EN)
    lines = list(csv.reader(io.StringIO(written.decode("utf-8-sig"))))

    assert lines[0] == ["line", "column", "sku", "reason"]

    def formula(char: str) -> str:
        return (
            f"looks like a spreadsheet formula (it starts with {char}): remove the leading {char}"
        )

    assert lines[1:] == [
        ["3", "sku", "'=1+1", formula("=")],
        ["4", "sku", "'-CMD", formula("-")],
        ["4", "title", "'-CMD", formula("-")],
        ["5", "price", "X", "'@SUM(A1) is not a price: write it like 12.50"],
        ["6", "sku", "'+Y", formula("+")],
    ]  # fmt: skip
    for cells in lines:
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)
    assert written == failed_rows_csv(parse_catalog(data, "catalog.csv").errors, Language.EN)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Mug", "Mug"),
        ("", ""),
        ("12.50", "12.50"),
    ],
)
def test_safe_csv_cell(value: str, safe: str) -> None:
    assert safe_csv_cell(value) == safe
