"""Catalog import: a merchant's file in, checked products out, stored in one transaction.

Three formats are read, recognised by their content rather than the file name:

- CSV with the columns of DESIGN.md (``sku, title, description, price, currency, stock,
  hashtags, category, kind, video_url, shop_url``), delimited by ``,``, ``;`` or a tab;
- JSON, a list of objects with the same keys;
- Shopify's product CSV export, as it comes (one product per variant).

``parse_catalog`` is pure: bytes in, a ``ParsedCatalog`` out. A file that cannot be read at
all raises ``CatalogFileError`` and nothing is imported; a bad row becomes a ``RowError``
(line, column, reason) and every other row still imports. ``CatalogImporter`` stores the
good rows atomically and hands the changed products to the embedding pipeline.

Validation decisions, in one place (each error text is in ``ROW_ERROR_TEXTS``):

- cells are trimmed; control characters (and bidi overrides) are refused everywhere, line
  breaks are allowed only in the description;
- title, description and category may not contain HTML (a tag or a character entity);
  Shopify's ``Body (HTML)`` is converted to plain text instead;
- sku, title, description and category may not start like a spreadsheet formula (``=``,
  ``@``, or ``+``/``-`` followed by something other than a space); numbers such as a price
  of ``-1`` get their own numeric error;
- price: ``12.50`` or ``12,50`` (one decimal mark, no thousands separators), optionally with
  a currency symbol or ISO code (``€12.50``, ``12.50 EUR``) which must agree with the
  currency column, or sets it when the column is blank and the symbol is unambiguous;
  more than zero, no more decimals than the currency has (``12.500`` is fine);
- currency: an ISO code from ``CURRENCY_EXPONENTS`` (any case), EUR when absent or blank;
  XTR (Telegram Stars) only for digital products;
- stock: blank is 0; a whole number (``3.0`` is 3, ``3.5`` is an error); negative is an
  error, except in Shopify exports, where oversold (negative) inventory counts as 0;
- hashtags: split on spaces, commas and semicolons, ``#`` stripped, lowercased, spaces and
  dashes inside a tag become ``_``, other punctuation dropped, duplicates dropped; more
  than 10 is an error (a Shopify export keeps its first 10 tags);
- category: lowercased to a slug (``Home & Garden`` -> ``home-garden``);
- kind: ``physical`` or ``digital``, blank is physical;
- video_url / shop_url: blank, or an http(s) URL with a host;
- a SKU already seen earlier in the file is an error on the later line;
- Shopify: draft and archived products are skipped; a variant without a SKU gets the
  handle (plus its option values when the product has several variants) as its SKU; a
  title that would exceed 120 characters with its variant suffix is shortened.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from reelcart.catalog.rows import CatalogRow, RowError, RowOutcome
from reelcart.domain import (
    CURRENCY_EXPONENTS,
    CatalogFileError,
    Merchant,
    Money,
    Product,
    ProductKind,
)
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages in the order of ``STAGES``."""

STAGES = ("read", "checked", "stored", "embedded", "indexed")

MAX_FILE_BYTES = 20 * 1024 * 1024
FIELDS = (
    "sku", "title", "description", "price", "currency", "stock",
    "hashtags", "category", "kind", "video_url", "shop_url",
)  # fmt: skip
REQUIRED_COLUMNS = ("sku", "title", "price")
DEFAULT_CURRENCY = "EUR"

MAX_SKU = 64
MAX_TITLE = 120
MAX_DESCRIPTION = 4000
MAX_CATEGORY = 50
MAX_HASHTAGS = 10
MAX_HASHTAG = 50
MAX_URL = 2048
MAX_STOCK = 1_000_000_000
MAX_PRICE_MINOR = 10**11
_STORE_CHUNK = 500

# English texts of the file-level errors, by reason; the key is "error.catalog_file.<reason>".
FILE_ERROR_TEXTS: dict[str, str] = {
    "empty": "the file is empty: export your catalog again and send the file",
    "too_large": (
        "the file is {size_mb} MB; the limit is {limit_mb} MB: split it into smaller files"
    ),
    "unreadable": "the file could not be read: {reason}",
    "spreadsheet": (
        "this is a spreadsheet workbook, not a CSV file: in your spreadsheet choose "
        '"Save as" / "Download as" "CSV UTF-8" and send that file'
    ),
    "not_text": "the file is not a text file: send the catalog as CSV (UTF-8) or JSON",
    "not_utf8": (
        "the file is not UTF-8 text (the first unreadable character is on line {line}): "
        'save it as "CSV UTF-8" and try again'
    ),
    "bad_json": "the file is not valid JSON (line {line}, column {column}: {detail})",
    "not_json_list": (
        'the JSON file must be a list of products, like [{{"sku": ..., "title": ..., '
        '"price": ...}}], but it is {found}'
    ),
    "bad_csv": (
        "the CSV file cannot be read from line {line} on ({detail}): check that every "
        'quote that opens a cell is closed, and that quotes inside a cell are doubled ("")'
    ),
    "missing_columns": (
        "this is not a catalog: the first line must name the columns sku, title and price "
        "(missing: {missing})"
    ),
    "duplicate_column": "the column {column} appears twice in the header",
    "no_rows": "the file has a header but no products",
}

# English texts of the row-level errors, by key; the message key is "catalog_row.<key>".
ROW_ERROR_TEXTS: dict[str, str] = {
    "sku_required": "the SKU is empty: every product needs its own SKU",
    "sku_too_long": "the SKU is {length} characters long; the limit is {limit}",
    "sku_spaces": "the SKU contains a space: use letters, digits, - or _ without spaces",
    "sku_duplicate": "the SKU {sku} is already used on line {first_line}; each SKU may appear once",
    "shopify_handle_missing": "the Handle is empty, so this line belongs to no product",
    "shopify_sku_missing": (
        "the variant has no SKU and its handle is too long to stand in for one: "
        "give the variant a SKU"
    ),
    "title_required": "the title is empty",
    "too_long": "the text is {length} characters long; the limit is {limit}",
    "line_break": "a line break is not allowed here",
    "control_char": "contains an invisible control character ({char}): remove it",
    "html": "HTML is not allowed: write plain text",
    "formula": (
        "looks like a spreadsheet formula (it starts with {char}): remove the leading {char}"
    ),
    "price_required": "the price is empty",
    "price_invalid": "{value} is not a price: write it like 12.50",
    "price_thousands": "write the price without thousands separators, like 1234.50",
    "price_not_positive": "the price must be more than 0",
    "price_decimals": (
        "{value} has more decimals than {currency} allows ({decimals}); "
        "if that is a thousands separator, remove it"
    ),
    "price_too_large": "the price {value} is too large",
    "price_symbol_mismatch": "the price is marked {symbol} but the currency is {currency}",
    "price_symbol_ambiguous": (
        "{symbol} can mean several currencies ({choices}): fill in the currency column"
    ),
    "currency_unknown": "{value} is not a supported currency code: use one like EUR or USD",
    "currency_xtr_physical": "Telegram Stars (XTR) can pay only for digital products",
    "stock_not_whole": "{value} is not a whole number of items",
    "stock_negative": "the stock cannot be negative",
    "stock_too_large": "the stock {value} is too large",
    "hashtags_too_many": "{count} hashtags; at most {limit} are allowed",
    "hashtag_too_long": "the hashtag #{tag} is longer than {limit} characters",
    "category_invalid": "{value} is not a usable category name: use letters and digits",
    "kind_invalid": "{value} is not a kind: use physical or digital",
    "url_invalid": "{value} is not a web link: write a full address starting with https://",
    "extra_cells": (
        "the line has {count} cells but the header has {expected}: a cell probably "
        "contains an unquoted {delimiter}"
    ),
    "json_not_object": "this entry is not an object with product fields",
    "json_type": "expected text or a number, found {found}",
}

# Currency symbols a price may carry, and the currencies each can mean.
_SYMBOLS: dict[str, tuple[str, ...]] = {
    "US$": ("USD",), "C$": ("CAD",), "A$": ("AUD",), "NZ$": ("NZD",), "S$": ("SGD",),
    "HK$": ("HKD",), "R$": ("BRL",), "€": ("EUR",), "£": ("GBP",), "¥": ("JPY",),
    "₹": ("INR",), "₺": ("TRY",), "₴": ("UAH",), "₽": ("RUB",), "₪": ("ILS",), "₩": ("KRW",),
    "zł": ("PLN",), "Kč": ("CZK",), "kr": ("SEK", "NOK", "DKK"), "Rp": ("IDR",),
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"),
}  # fmt: skip
_SYMBOL_ORDER = sorted(_SYMBOLS, key=len, reverse=True)

_NUMBER = re.compile(r"([+-]?)(\d+)(?:[.,](\d+))?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[ ,.'\u00a0\u202f]\d{3})+(?:[.,]\d+)?")
_WHOLE = re.compile(r"([+-]?)(\d+)(?:[.,]0+)?")
_ISO_PREFIX = re.compile(r"([A-Za-z]{3})\s*(.+)")
_ISO_SUFFIX = re.compile(r"(.+?)\s*([A-Za-z]{3})")
# C0/C1 controls and the bidi embedding/override/isolate characters (text spoofing).
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029")
_HTML_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--|<!\[CDATA\[|<!doctype", re.IGNORECASE
)
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACE = re.compile(r"\s")
_TAG_SPLIT = re.compile(r"[\s,;]+")
_TAG_JOIN = re.compile(r"[\s-]+")
_NON_WORD = re.compile(r"[^\w]+")
_UNDERSCORES = re.compile(r"_{2,}")
_SLUG_BREAK = re.compile(r"[\W_]+")
_HOST = re.compile(r"[\w.-]*\w[\w.-]*|[0-9A-Fa-f:.]+")


# -- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedCatalog:
    """What a catalog file holds once checked.

    ``total`` counts the products the file offers (data rows; Shopify variants), so
    ``total == len(rows) + failed``. ``errors`` may hold several errors for one row.
    """

    rows: list[CatalogRow]
    errors: list[RowError]
    total: int
    format: str
    skipped: int = 0
    ignored_columns: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        """How many products of the file were refused."""
        return self.total - len(self.rows)


@dataclass(frozen=True)
class ImportReport:
    """What an import did, in the merchant's terms."""

    merchant: Merchant
    format: str
    total: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[RowError]
    product_ids: list[int]
    changed_ids: list[int] = field(default_factory=list)
    skipped: int = 0
    ignored_columns: tuple[str, ...] = ()

    def summary(self) -> str:
        """One English line, e.g. ``3 created, 1 updated, 0 unchanged, 2 failed``."""
        return (
            f"{self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )


# -- CSV written by reelcart ---------------------------------------------------------------


def safe_csv_cell(value: str) -> str:
    """Make a cell inert for spreadsheets: a leading ``= + - @``, tab or CR gets a ``'``.

    Use it for every cell of a CSV that reelcart writes for a person to open (the failed
    rows: ``reelcart.i18n.catalog_report.failed_rows_csv``).
    """
    if value and value[0] in "=+-@\t\r\n":
        return "'" + value
    return value


# -- file-level errors -------------------------------------------------------------------


def _file_error(why: str, /, **params: object) -> CatalogFileError:
    text = FILE_ERROR_TEXTS[why].format(**params)
    return CatalogFileError(f"error.catalog_file.{why}", text=text, **params)


class _Invalid(Exception):
    """One cell is wrong; becomes a RowError."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# -- decoding ----------------------------------------------------------------------------

_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"SQLite format")
_SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")


def _mostly_junk(sample: str) -> bool:
    """Undecodable characters and controls make up a tenth of the text: not a text file."""
    junk = sum(1 for ch in sample if ch == "\ufffd" or (ch < " " and ch not in "\t\n\r"))
    return junk > len(sample) / 10


def _decode(data: bytes, filename: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise _file_error(
            "too_large", size_mb=round(len(data) / 2**20, 1), limit_mb=MAX_FILE_BYTES // 2**20
        )
    if not data.strip():
        raise _file_error("empty")
    if data.startswith(_SPREADSHEET_MAGIC) or (
        filename.lower().endswith(_SPREADSHEET_SUFFIXES) and b"\x00" in data[:4096]
    ):
        raise _file_error("spreadsheet")
    if data.startswith(_BINARY_MAGIC):
        raise _file_error("not_text")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise _file_error("not_text") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if b"\x00" in data[:65536] or _mostly_junk(
                data[:65536].decode("utf-8", errors="replace")
            ):
                raise _file_error("not_text") from None
            line = data[: exc.start].count(b"\n") + 1
            raise _file_error("not_utf8", line=line) from None
    # A stray control character is a row error; a file full of them is not text at all
    # (UTF-16 without its BOM, for one).
    if _mostly_junk(text[:65536]):
        raise _file_error("not_text")
    if not text.strip():
        raise _file_error("empty")
    return text


# -- cell checks -------------------------------------------------------------------------


def _looks_like_html(value: str) -> bool:
    if _HTML_TAG.search(value):
        return True
    return any(html.unescape(m.group()) != m.group() for m in _HTML_ENTITY.finditer(value))


def _looks_like_formula(value: str) -> bool:
    if not value:
        return False
    if value[0] in "=@":
        return True
    return value[0] in "+-" and len(value) > 1 and not value[1].isspace()


def _check_text(value: str, *, multiline: bool = False, allow_html: bool = False) -> None:
    bad = (_CONTROL_TEXT if multiline else _CONTROL_LINE).search(value)
    if bad is not None:
        char = bad.group()
        if char in "\n\r\u2028\u2029":
            raise _Invalid("line_break")
        raise _Invalid("control_char", char=f"U+{ord(char):04X}")
    if not allow_html and _looks_like_html(value):
        raise _Invalid("html")
    if _looks_like_formula(value):
        raise _Invalid("formula", char=value[0])


def _check_length(value: str, limit: int) -> None:
    if len(value) > limit:
        raise _Invalid("too_long", length=len(value), limit=limit)


def _parse_sku(value: str) -> str:
    if not value:
        raise _Invalid("sku_required")
    if _SPACE.search(value):
        raise _Invalid("sku_spaces")
    _check_text(value)
    if len(value) > MAX_SKU:
        raise _Invalid("sku_too_long", length=len(value), limit=MAX_SKU)
    return value


def _parse_title(value: str) -> str:
    if not value:
        raise _Invalid("title_required")
    _check_text(value)
    _check_length(value, MAX_TITLE)
    return value


def _parse_description(value: str, *, plain: bool = False) -> str:
    value = _LINE_BREAKS.sub("\n", value)
    _check_text(value, multiline=True, allow_html=plain)
    _check_length(value, MAX_DESCRIPTION)
    return value


def _parse_kind(value: str) -> ProductKind:
    if not value:
        return ProductKind.PHYSICAL
    try:
        return ProductKind(value.lower())
    except ValueError:
        raise _Invalid("kind_invalid", value=value) from None


def _parse_currency(value: str) -> str | None:
    """The ISO code, or None when the cell is blank."""
    if not value:
        return None
    code = value.upper()
    if code not in CURRENCY_EXPONENTS:
        raise _Invalid("currency_unknown", value=value)
    return code


@dataclass(frozen=True)
class _Price:
    amount: Decimal
    symbol: str | None
    currencies: tuple[str, ...]  # what the symbol can mean; empty without one
    text: str


def _parse_price(value: str) -> _Price:
    if not value:
        raise _Invalid("price_required")
    text = value.replace("\u00a0", " ").replace("\u202f", " ").strip()
    sign = ""
    if text[:1] in "+-":
        sign, text = text[0], text[1:].strip()
    symbol: str | None = None
    currencies: tuple[str, ...] = ()
    for candidate in _SYMBOL_ORDER:
        if text.startswith(candidate):
            symbol, text = candidate, text[len(candidate) :].strip()
        elif text.endswith(candidate):
            symbol, text = candidate, text[: -len(candidate)].strip()
        if symbol is not None:
            currencies = _SYMBOLS[candidate]
            break
    if symbol is None:
        for pattern, code_group, rest_group in ((_ISO_PREFIX, 1, 2), (_ISO_SUFFIX, 2, 1)):
            match = pattern.fullmatch(text)
            if match and match.group(code_group).upper() in CURRENCY_EXPONENTS:
                symbol = match.group(code_group).upper()
                currencies = (symbol,)
                text = match.group(rest_group).strip()
                break
    if text[:1] in "+-" and not sign:
        sign, text = text[0], text[1:].strip()
    number = _NUMBER.fullmatch(text)
    if number is None:
        if _GROUPED.fullmatch(text):
            raise _Invalid("price_thousands")
        raise _Invalid("price_invalid", value=value)
    whole, fraction = number.group(2), number.group(3) or ""
    try:
        amount = Decimal(f"{sign}{whole}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise _Invalid("price_invalid", value=value) from None
    if amount <= 0:
        raise _Invalid("price_not_positive")
    return _Price(amount, symbol, currencies, value)


def _parse_stock(value: str, *, clamp_negative: bool = False) -> int:
    if not value:
        return 0
    match = _WHOLE.fullmatch(value)
    if match is None:
        raise _Invalid("stock_not_whole", value=value)
    if len(match.group(2)) > 12:
        raise _Invalid("stock_too_large", value=value)
    stock = int(match.group(2))
    if match.group(1) == "-" and stock:
        if clamp_negative:
            return 0
        raise _Invalid("stock_negative")
    if stock > MAX_STOCK:
        raise _Invalid("stock_too_large", value=value)
    return stock


def _normalize_tag(raw: str) -> str:
    tag = _TAG_JOIN.sub("_", raw.strip().lstrip("#").strip().lower())
    tag = _NON_WORD.sub("", tag)
    return _UNDERSCORES.sub("_", tag).strip("_")


def _parse_hashtags(value: str, *, shopify: bool = False) -> tuple[str, ...]:
    # Shopify tags are comma-separated phrases ("Summer sale"); ours are words.
    raw_tags = value.split(",") if shopify else _TAG_SPLIT.split(value)
    tags: list[str] = []
    for raw in raw_tags:
        tag = _normalize_tag(raw)
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_HASHTAG:
            raise _Invalid("hashtag_too_long", tag=tag[:MAX_HASHTAG] + "…", limit=MAX_HASHTAG)
        tags.append(tag)
    if len(tags) > MAX_HASHTAGS:
        if shopify:
            return tuple(tags[:MAX_HASHTAGS])
        raise _Invalid("hashtags_too_many", count=len(tags), limit=MAX_HASHTAGS)
    return tuple(tags)


def _slug(value: str) -> str:
    return _SLUG_BREAK.sub("-", value.lower()).strip("-")


def _parse_category(value: str) -> str:
    if not value:
        return ""
    _check_text(value)
    slug = _slug(value)
    if not slug:
        raise _Invalid("category_invalid", value=value)
    _check_length(slug, MAX_CATEGORY)
    return slug


def _parse_url(value: str) -> str | None:
    if not value:
        return None
    if len(value) > MAX_URL or _CONTROL_LINE.search(value) or _SPACE.search(value):
        raise _Invalid("url_invalid", value=value[:80])
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise _Invalid("url_invalid", value=value[:80]) from None
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(host):
        raise _Invalid("url_invalid", value=value[:80])
    return value


# -- one product candidate, from any format ------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    value: str
    line: int
    column: str


@dataclass
class _Candidate:
    """One product a file offers, as cells, before checking."""

    line: int
    cells: dict[str, _Cell]
    shopify: bool = False
    title_suffix: str = ""
    # Cells already known to be wrong (a JSON list where text belongs...), by field.
    problems: dict[str, _Invalid] = field(default_factory=dict)

    def cell(self, name: str) -> _Cell:
        return self.cells.get(name) or _Cell("", self.line, name)


class _Checker:
    """Turns candidates into CatalogRows or RowErrors, remembering SKUs across the file."""

    def __init__(self) -> None:
        self.rows: list[CatalogRow] = []
        self.errors: list[RowError] = []
        self.failed = 0
        self._seen_skus: dict[str, int] = {}
        self._reported: set[tuple[int, str, str]] = set()

    def check(self, candidate: _Candidate) -> None:
        found: list[tuple[int, RowError]] = []
        raw_sku = candidate.cell("sku").value
        sku_label = raw_sku[:MAX_SKU] or None

        def fail(name: str, problem: _Invalid) -> None:
            cell = candidate.cell(name)
            key = f"catalog_row.{problem.key}"
            reason = ROW_ERROR_TEXTS[problem.key].format(**problem.params)
            error = RowError(cell.line, cell.column, reason, sku_label, key, dict(problem.params))
            found.append((FIELDS.index(name), error))

        def parse(name: str, fn: Callable[[str], object]) -> object:
            known = candidate.problems.get(name)
            if known is not None:
                fail(name, known)
                return None
            try:
                return fn(candidate.cell(name).value)
            except _Invalid as problem:
                fail(name, problem)
                return None

        sku = parse("sku", _parse_sku)
        if isinstance(sku, str):
            first = self._seen_skus.setdefault(sku, candidate.line)
            if first != candidate.line:
                fail("sku", _Invalid("sku_duplicate", sku=sku, first_line=first))
        title = parse("title", _parse_title)
        if isinstance(title, str) and candidate.title_suffix:
            room = MAX_TITLE - len(candidate.title_suffix)
            if len(title) > room:
                title = title[: max(room - 1, 1)].rstrip() + "…"
            title = title + candidate.title_suffix
        description = parse("description", lambda v: _parse_description(v, plain=candidate.shopify))
        kind = parse("kind", _parse_kind)
        stock = parse("stock", lambda v: _parse_stock(v, clamp_negative=candidate.shopify))
        hashtags = parse("hashtags", lambda v: _parse_hashtags(v, shopify=candidate.shopify))
        category = parse("category", _parse_category)
        video_url = parse("video_url", _parse_url)
        shop_url = parse("shop_url", _parse_url)
        price = self._price(candidate, kind, fail)

        if found:
            found.sort(key=lambda item: item[0])  # in the order of the columns
            self._fail([error for _, error in found])
            return
        assert isinstance(sku, str) and isinstance(title, str)
        assert isinstance(description, str) and isinstance(kind, ProductKind)
        assert isinstance(stock, int) and isinstance(hashtags, tuple)
        assert isinstance(category, str) and isinstance(price, Money)
        self.rows.append(
            CatalogRow(
                line=candidate.line,
                sku=sku,
                title=title,
                description=description,
                price=price,
                stock=stock,
                hashtags=hashtags,
                category=category,
                kind=kind,
                video_url=video_url if isinstance(video_url, str) else None,
                shop_url=shop_url if isinstance(shop_url, str) else None,
            )
        )

    def _price(
        self, candidate: _Candidate, kind: object, fail: Callable[[str, _Invalid], None]
    ) -> Money | None:
        currency_ok = True
        try:
            if "currency" in candidate.problems:
                raise candidate.problems["currency"]
            currency = _parse_currency(candidate.cell("currency").value)
        except _Invalid as problem:
            fail("currency", problem)
            currency, currency_ok = None, False
        try:
            if "price" in candidate.problems:
                raise candidate.problems["price"]
            price = _parse_price(candidate.cell("price").value)
        except _Invalid as problem:
            fail("price", problem)
            return None
        if not currency_ok:
            return None
        if price.symbol is not None:
            if currency is None:
                if len(price.currencies) > 1:
                    choices = ", ".join(price.currencies)
                    fail(
                        "price",
                        _Invalid("price_symbol_ambiguous", symbol=price.symbol, choices=choices),
                    )
                    return None
                currency = price.currencies[0]
            elif currency not in price.currencies:
                fail(
                    "price",
                    _Invalid("price_symbol_mismatch", symbol=price.symbol, currency=currency),
                )
                return None
        currency = currency or DEFAULT_CURRENCY
        if currency == "XTR" and kind is not ProductKind.DIGITAL:
            if kind is not None:
                fail("currency", _Invalid("currency_xtr_physical"))
            return None
        decimals = CURRENCY_EXPONENTS[currency]
        if price.amount != price.amount.quantize(Decimal(1).scaleb(-decimals)):
            fail(
                "price",
                _Invalid("price_decimals", value=price.text, currency=currency, decimals=decimals),
            )
            return None
        money = Money.from_amount(price.amount, currency)
        if money.minor > MAX_PRICE_MINOR:
            fail("price", _Invalid("price_too_large", value=price.text))
            return None
        return money

    def fail_whole(self, line: int, key: str, **params: object) -> None:
        """A candidate refused as a whole (not an object, too many cells...)."""
        reason = ROW_ERROR_TEXTS[key].format(**params)
        self._fail([RowError(line, "", reason, None, f"catalog_row.{key}", dict(params))])

    def _fail(self, errors: list[RowError]) -> None:
        self.failed += 1
        for error in errors:
            # A Shopify product's title error is shared by its variants: say it once.
            mark = (error.line, error.column, error.reason)
            if mark not in self._reported:
                self._reported.add(mark)
                self.errors.append(error)


# -- headers -----------------------------------------------------------------------------


def _normal(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


_SHOPIFY_COLUMNS: dict[str, tuple[str, ...]] = {
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


def _is_shopify(names: set[str]) -> bool:
    has_title = "title" in names
    if "handle" in names and has_title and "variant price" in names:
        return True
    # Shopify's newer export names the columns "URL handle", "SKU", "Price".
    return "url handle" in names and has_title and ({"variant price", "price"} & names != set())


@dataclass(frozen=True)
class _Header:
    line: int
    index: dict[str, int]  # field -> column position
    labels: dict[str, str]  # field -> the column's name as the file spells it
    width: int
    ignored: tuple[str, ...]


def _header(cells: Sequence[str], line: int, columns: Mapping[str, tuple[str, ...]]) -> _Header:
    """Map a header to fields; raise CatalogFileError on a repeated known column."""
    by_name: dict[str, int] = {}
    ignored: list[str] = []
    for position, cell in enumerate(cells):
        name = _normal(cell)
        if not name:
            continue
        if name in by_name:
            if any(name in aliases for aliases in columns.values()):
                raise _file_error("duplicate_column", column=cell.strip())
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
    return _Header(line, index, labels, len(cells), tuple(ignored))


_NATIVE_COLUMNS: dict[str, tuple[str, ...]] = {name: (name,) for name in FIELDS}


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
            raise _file_error("bad_csv", line=start, detail=str(exc)) from None
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
        names = {_normal(cell) for cell in first[1]}
        if set(REQUIRED_COLUMNS) <= names or _is_shopify(names):
            return delimiter
        if len(first[1]) > best_width:
            best, best_width = delimiter, len(first[1])
    return best


def _parse_csv(text: str) -> ParsedCatalog:
    delimiter = _sniff_delimiter(text)
    records = _csv_records(text, delimiter)
    first = next(records, None)
    if first is None:  # pragma: no cover - _decode refuses blank files
        raise _file_error("empty")
    header_line, header_cells = first
    names = {_normal(cell) for cell in header_cells}
    if _is_shopify(names):
        return _parse_shopify(_header(header_cells, header_line, _SHOPIFY_COLUMNS), records)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise _file_error("missing_columns", missing=", ".join(missing))
    header = _header(header_cells, header_line, _NATIVE_COLUMNS)
    checker = _Checker()
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
            name: _Cell(record[pos].strip() if pos < len(record) else "", line, header.labels[name])
            for name, pos in header.index.items()
        }
        checker.check(_Candidate(line, cells))
    return _finish(checker, total, "csv", ignored=header.ignored)


# -- JSON --------------------------------------------------------------------------------


def _json_cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # numbers arrive as their literal text (see _parse_json)
        return value.strip()
    if isinstance(value, bool):
        raise _Invalid("json_type", found="true" if value else "false")
    if isinstance(value, list):
        if name == "hashtags" and all(isinstance(item, str) for item in value):
            return " ".join(item.strip() for item in value)
        raise _Invalid("json_type", found="a list")
    if isinstance(value, dict):
        raise _Invalid("json_type", found="an object")
    raise _Invalid("json_type", found=type(value).__name__)  # pragma: no cover


def _parse_json(text: str) -> ParsedCatalog:
    try:
        # Numbers stay the text they were written as: 12.345 must not become 12.34499...
        document = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise _file_error("bad_json", line=exc.lineno, column=exc.colno, detail=exc.msg) from None
    except RecursionError:
        raise _file_error("bad_json", line=1, column=1, detail="nested too deeply") from None
    if not isinstance(document, list):
        found = "an object" if isinstance(document, dict) else "a single value"
        raise _file_error("not_json_list", found=found)
    if not document:
        raise _file_error("no_rows")
    objects = [item for item in document if isinstance(item, dict)]
    if not objects:
        raise _file_error("not_json_list", found="a list without objects")
    keys = {_normal(str(key)) for item in objects for key in item}
    missing = [name for name in REQUIRED_COLUMNS if name not in keys]
    if missing:
        raise _file_error("missing_columns", missing=", ".join(missing))
    checker = _Checker()
    for position, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            checker.fail_whole(position, "json_not_object")
            continue
        cells: dict[str, _Cell] = {}
        type_problems: dict[str, _Invalid] = {}
        for key, value in item.items():
            name = _normal(str(key))
            if name not in FIELDS:
                continue
            try:
                cells[name] = _Cell(_json_cell(name, value), position, str(key))
            except _Invalid as problem:
                type_problems[name] = problem
                cells[name] = _Cell("", position, str(key))
        checker.check(_Candidate(position, cells, problems=type_problems))
    ignored = sorted({str(k) for item in objects for k in item if _normal(str(k)) not in FIELDS})
    return _finish(checker, len(document), "json", ignored=tuple(ignored))


# -- Shopify -----------------------------------------------------------------------------


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
    product: dict[str, _Cell] = field(default_factory=dict)  # product-level cells
    variants: list[tuple[int, dict[str, _Cell]]] = field(default_factory=list)


_PRODUCT_LEVEL = ("title", "body", "type", "product_category", "tags", "status", "gift_card")
_VARIANT_MARKERS = ("sku", "price", "option1", "option2", "option3")


def _parse_shopify(header: _Header, records: Iterator[tuple[int, list[str]]]) -> ParsedCatalog:
    products: dict[str, _ShopifyProduct] = {}
    checker = _Checker()
    current: _ShopifyProduct | None = None
    orphans = 0
    for line, record in records:
        cells = {
            name: _Cell(record[pos].strip() if pos < len(record) else "", line, header.labels[name])
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
    return _finish(checker, total, "shopify", skipped=skipped, ignored=header.ignored)


def _shopify_candidate(
    product: _ShopifyProduct, line: int, variant: dict[str, _Cell], several: bool
) -> _Candidate:
    top = product.product

    def product_cell(name: str, label: str) -> _Cell:
        return top.get(name) or _Cell("", product.first_line, label)

    options = [
        variant[name].value
        for name in ("option1", "option2", "option3")
        if name in variant and variant[name].value and variant[name].value != "Default Title"
    ]
    problems: dict[str, _Invalid] = {}
    sku_cell = variant.get("sku") or _Cell("", line, "Variant SKU")
    if not sku_cell.value:
        derived = product.handle
        if several:
            derived = f"{product.handle}-{_slug('-'.join(options)) or line}"
        if len(derived) > MAX_SKU:
            problems["sku"] = _Invalid("shopify_sku_missing")
        else:
            sku_cell = _Cell(derived, line, sku_cell.column)

    description = product_cell("body", "Body (HTML)")
    description = _Cell(html_to_text(description.value), description.line, description.column)
    category = top.get("type")
    if category is None:
        category = top.get("product_category")
        if category is not None:
            leaf = category.value.split(">")[-1].strip()
            category = _Cell(leaf, category.line, category.column)
    kind_value = "physical"
    shipping = variant.get("requires_shipping")
    gift = top.get("gift_card")
    if (shipping is not None and _truthy(shipping.value) is False) or (
        gift is not None and _truthy(gift.value) is True
    ):
        kind_value = "digital"

    cells: dict[str, _Cell] = {
        "sku": sku_cell,
        "title": product_cell("title", "Title"),
        "description": description,
        "price": variant.get("price") or _Cell("", line, "Variant Price"),
        "stock": variant.get("stock") or _Cell("", line, "Variant Inventory Qty"),
        "hashtags": product_cell("tags", "Tags"),
        "category": category or _Cell("", line, "Type"),
        "kind": _Cell(kind_value, line, shipping.column if shipping else "kind"),
    }
    if "currency" in variant:
        cells["currency"] = variant["currency"]
    suffix = ""
    if several:
        suffix = " – " + (" / ".join(options) or sku_cell.value)
    return _Candidate(line, cells, shopify=True, title_suffix=suffix, problems=problems)


# -- parse -------------------------------------------------------------------------------


def _finish(
    checker: _Checker,
    total: int,
    fmt: str,
    *,
    skipped: int = 0,
    ignored: tuple[str, ...] = (),
) -> ParsedCatalog:
    if total == 0 and skipped == 0:
        raise _file_error("no_rows")
    assert total == len(checker.rows) + checker.failed, "every product is stored or refused"
    return ParsedCatalog(
        rows=checker.rows,
        errors=checker.errors,
        total=total,
        format=fmt,
        skipped=skipped,
        ignored_columns=ignored,
    )


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
    text = _decode(data, filename)
    is_json = text.lstrip()[:1] in ("[", "{")
    parsed = _parse_json(text) if is_json else _parse_csv(text)
    log.debug(
        "parsed %s catalog %r: %d products, %d valid, %d refused",
        parsed.format, filename, parsed.total, len(parsed.rows), parsed.failed,
    )  # fmt: skip
    return parsed


# -- import ------------------------------------------------------------------------------


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class _Stored:
    merchant: Merchant
    outcomes: list[RowOutcome]
    ids: dict[str, int]


class CatalogImporter:
    """The one catalog importer behind the CLI and the bot.

    ``on_changed(products, progress)`` is called, from the importing thread, with the
    products an import created or updated, so the embedding pipeline can embed and index
    them and report its own ``"embedded"``/``"indexed"`` progress.
    """

    def __init__(
        self,
        worker: DatabaseWorker,
        on_changed: Callable[[list[Product], ProgressFn], None] | None = None,
    ) -> None:
        self._worker = worker
        self._on_changed = on_changed

    def import_path(
        self, path: Path | str, merchant_name: str, progress: ProgressFn | None = None
    ) -> ImportReport:
        """Import the catalog file at ``path`` for the merchant (created if new).

        Blocking: call it from the CLI or a worker thread, never on the event loop.

        Raises:
            CatalogFileError: the file cannot be read (the OS reason is in the message), is
                larger than 20 MB, or is not a catalog (see ``parse_catalog``).
            ValueError: ``merchant_name`` is blank.
        """
        report = progress or _no_progress
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise _file_error(
                    "too_large", size_mb=round(size / 2**20, 1), limit_mb=MAX_FILE_BYTES // 2**20
                )
            chunks: list[bytes] = []
            done = 0
            with path.open("rb") as handle:
                report("read", 0, size)
                while chunk := handle.read(1 << 20):
                    chunks.append(chunk)
                    done += len(chunk)
                    if done > MAX_FILE_BYTES:
                        raise _file_error(
                            "too_large",
                            size_mb=round(done / 2**20, 1),
                            limit_mb=MAX_FILE_BYTES // 2**20,
                        )
                    report("read", done, max(size, done))
        except OSError as exc:
            raise _file_error("unreadable", reason=exc.strerror or str(exc)) from exc
        return self._import(b"".join(chunks), path.name, merchant_name, report, read=False)

    def import_bytes(
        self,
        data: bytes,
        filename: str,
        merchant_name: str,
        progress: ProgressFn | None = None,
    ) -> ImportReport:
        """Import a catalog file's bytes (a bot upload) for the merchant (created if new).

        Valid rows are stored in one transaction, so an import that fails half way leaves
        the catalog as it was; bad rows are reported in ``ImportReport.errors``. Blocking:
        call it from a thread or the CLI, never on the event loop or the database thread.

        Raises:
            CatalogFileError: the file is not a readable catalog (see ``parse_catalog``);
                nothing is stored.
            ValueError: ``merchant_name`` is blank.
            Whatever ``on_changed`` raises, after the products are stored.
        """
        return self._import(data, filename, merchant_name, progress or _no_progress, read=True)

    def _import(
        self, data: bytes, filename: str, merchant_name: str, progress: ProgressFn, read: bool
    ) -> ImportReport:
        name = merchant_name.strip()
        if not name:
            raise ValueError("the merchant name is empty")
        started = time.perf_counter()
        if read:
            progress("read", len(data), len(data))
        try:
            parsed = parse_catalog(data, filename)
        except CatalogFileError as exc:
            log.info("catalog %r for %s refused: %s", filename, name, exc)
            raise
        progress("checked", parsed.total, parsed.total)

        stored = self._worker.call(_store_rows, name, parsed.rows, progress)
        counts = {outcome: 0 for outcome in RowOutcome}
        changed: list[int] = []
        for row, outcome in zip(parsed.rows, stored.outcomes, strict=True):
            counts[outcome] += 1
            if outcome is not RowOutcome.UNCHANGED:
                changed.append(stored.ids[row.sku])
        report = ImportReport(
            merchant=stored.merchant,
            format=parsed.format,
            total=parsed.total,
            created=counts[RowOutcome.CREATED],
            updated=counts[RowOutcome.UPDATED],
            unchanged=counts[RowOutcome.UNCHANGED],
            failed=parsed.failed,
            errors=parsed.errors,
            product_ids=[stored.ids[row.sku] for row in parsed.rows],
            changed_ids=changed,
            skipped=parsed.skipped,
            ignored_columns=parsed.ignored_columns,
        )
        log.info(
            "imported %s catalog %r for %s in %.2fs: %s",
            parsed.format, filename, name, time.perf_counter() - started, report.summary(),
        )  # fmt: skip
        if changed and self._on_changed is not None:
            found = self._worker.call(Store.get_products, changed)
            self._on_changed([found[pid] for pid in changed if pid in found], progress)
        return report


def _store_rows(
    store: Store, merchant_name: str, rows: list[CatalogRow], progress: ProgressFn
) -> _Stored:
    """On the database thread: the merchant and every row, in one transaction."""
    if not rows:
        merchant = store.merchant_by_name(merchant_name)
        assert merchant is not None
        progress("stored", 0, 0)
        return _Stored(merchant, [], {})
    outcomes: list[RowOutcome] = []
    with store.db.atomic():
        merchant = store.merchant_by_name(merchant_name)
        assert merchant is not None
        for start in range(0, len(rows), _STORE_CHUNK):
            outcomes.extend(store.upsert_rows(merchant.id, rows[start : start + _STORE_CHUNK]))
            progress("stored", len(outcomes), len(rows))
        ids = store.product_ids_by_sku(merchant.id, [row.sku for row in rows])
    return _Stored(merchant, outcomes, ids)
