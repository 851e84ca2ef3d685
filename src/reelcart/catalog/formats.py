"""Reading a catalog file: which format it is, and its rows checked.

Three formats are read, recognised by their content rather than the file name:

- CSV with the columns of DESIGN.md (``sku, title, description, price, currency, stock,
  hashtags, category, kind, video_url, shop_url``), delimited by ``,``, ``;`` or a tab;
- JSON, a list of objects with the same keys;
- Shopify's product CSV export, as it comes (``shopify``).

``parse_catalog`` is pure: bytes in, a ``ParsedCatalog`` out. A file that cannot be read at
all raises ``CatalogFileError``; a bad row becomes a ``RowError`` (line, column, reason)
and every other row is still there.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator

from reelcart.catalog.columns import (
    FIELDS,
    NATIVE_COLUMNS,
    REQUIRED_COLUMNS,
    SHOPIFY_COLUMNS,
    is_shopify,
    normal_name,
    read_header,
)
from reelcart.catalog.decoding import decode_catalog
from reelcart.catalog.problems import InvalidCell, file_error
from reelcart.catalog.shopify import parse_shopify
from reelcart.catalog.validation import Candidate, Cell, ParsedCatalog, RowChecker
from reelcart.domain import CatalogFileError

log = logging.getLogger(__name__)


def parse_catalog(data: bytes, filename: str = "") -> ParsedCatalog:
    """Read and check a catalog file's bytes; no I/O, nothing stored.

    The format (``"csv"``, ``"json"`` or ``"shopify"``) comes from the content; ``filename``
    only sharpens the message for a spreadsheet workbook sent by mistake. Rows that break a
    rule are in ``errors`` (with their line and column); every other row is in ``rows``.

    Raises:
        CatalogFileError: the file cannot be read as a catalog at all (too large, empty,
            binary, not UTF-8/UTF-16, broken JSON or CSV quoting, a JSON document that is
            not a list of objects, no ``sku``/``title``/``price`` header, no data rows).
    """
    text = decode_catalog(data, filename)
    is_json = text.lstrip()[:1] in ("[", "{")
    parsed = _parse_json(text) if is_json else _parse_csv(text)
    log.debug(
        "parsed %s catalog %r: %d products, %d valid, %d refused",
        parsed.format, filename, parsed.total, len(parsed.rows), parsed.failed,
    )  # fmt: skip
    return parsed


# -- CSV ---------------------------------------------------------------------------------


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) of every record; blank lines are skipped.

    Raises CatalogFileError where the CSV structure breaks (an unclosed quote...).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = 0
    while True:
        start = previous + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise file_error("bad_csv", line=start, detail=str(exc)) from None
        previous = reader.line_num
        if any(cell.strip() for cell in record):
            yield start, record


def _sniff_delimiter(text: str) -> str:
    """The delimiter among ``,;\\t`` under which the first line reads as a catalog header."""
    sample = text[:65536]
    best, best_width = ",", 0
    for delimiter in (",", ";", "\t"):
        try:
            first = next(_csv_records(sample, delimiter), None)
        except CatalogFileError:
            continue
        if first is None:
            continue
        names = {normal_name(cell) for cell in first[1]}
        if set(REQUIRED_COLUMNS) <= names or is_shopify(names):
            return delimiter
        if len(first[1]) > best_width:
            best, best_width = delimiter, len(first[1])
    return best


def _parse_csv(text: str) -> ParsedCatalog:
    delimiter = _sniff_delimiter(text)
    records = _csv_records(text, delimiter)
    first = next(records, None)
    if first is None:  # pragma: no cover - decode_catalog refuses blank files
        raise file_error("empty")
    header_line, header_cells = first
    names = {normal_name(cell) for cell in header_cells}
    if is_shopify(names):
        return parse_shopify(read_header(header_cells, header_line, SHOPIFY_COLUMNS), records)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise file_error("missing_columns", missing=", ".join(missing))
    header = read_header(header_cells, header_line, NATIVE_COLUMNS)
    checker = RowChecker()
    total = 0
    for line, record in records:
        total += 1
        extra = [cell for cell in record[header.width :] if cell.strip()]
        if extra:
            label = "a tab" if delimiter == "\t" else delimiter
            checker.fail_whole(
                line, "extra_cells", count=len(record), expected=header.width, delimiter=label
            )
            continue
        cells = {
            name: Cell(record[pos].strip() if pos < len(record) else "", line, header.labels[name])
            for name, pos in header.index.items()
        }
        checker.check(Candidate(line, cells))
    return checker.finish(total, "csv", ignored=header.ignored)


# -- JSON --------------------------------------------------------------------------------


def _json_cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # numbers arrive as their literal text (see _parse_json)
        return value.strip()
    if isinstance(value, bool):
        raise InvalidCell("json_type", found="true" if value else "false")
    if isinstance(value, list):
        if name == "hashtags" and all(isinstance(item, str) for item in value):
            return " ".join(item.strip() for item in value)
        raise InvalidCell("json_type", found="a list")
    if isinstance(value, dict):
        raise InvalidCell("json_type", found="an object")
    raise InvalidCell("json_type", found=type(value).__name__)  # pragma: no cover


def _parse_json(text: str) -> ParsedCatalog:
    try:
        # Numbers stay the text they were written as: 12.345 must not become 12.34499...
        document = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise file_error("bad_json", line=exc.lineno, column=exc.colno, detail=exc.msg) from None
    except RecursionError:
        raise file_error("bad_json", line=1, column=1, detail="nested too deeply") from None
    if not isinstance(document, list):
        found = "an object" if isinstance(document, dict) else "a single value"
        raise file_error("not_json_list", found=found)
    if not document:
        raise file_error("no_rows")
    objects = [item for item in document if isinstance(item, dict)]
    if not objects:
        raise file_error("not_json_list", found="a list without objects")
    keys = {normal_name(str(key)) for item in objects for key in item}
    missing = [name for name in REQUIRED_COLUMNS if name not in keys]
    if missing:
        raise file_error("missing_columns", missing=", ".join(missing))
    checker = RowChecker()
    for position, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            checker.fail_whole(position, "json_not_object")
            continue
        cells: dict[str, Cell] = {}
        type_problems: dict[str, InvalidCell] = {}
        for key, value in item.items():
            name = normal_name(str(key))
            if name not in FIELDS:
                continue
            try:
                cells[name] = Cell(_json_cell(name, value), position, str(key))
            except InvalidCell as problem:
                type_problems[name] = problem
                cells[name] = Cell("", position, str(key))
        checker.check(Candidate(position, cells, problems=type_problems))
    ignored = sorted(
        {str(k) for item in objects for k in item if normal_name(str(k)) not in FIELDS}
    )
    return checker.finish(len(document), "json", ignored=tuple(ignored))
