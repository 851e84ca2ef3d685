"""One product of a catalog file checked: its cells in, a ``CatalogRow`` or its errors out.

Every format (``formats``, ``shopify``) turns what it reads into a ``Candidate`` per
product; one ``RowChecker`` per file checks them, remembers the SKUs already seen, and
ends as the file's ``ParsedCatalog``.

Validation decisions, in one place (each error's English and French text is in the
translation catalogs, under ``catalog_row.<key>``):

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

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from reelcart.catalog.cells import (
    MAX_PRICE_MINOR,
    MAX_SKU,
    MAX_TITLE,
    parse_category,
    parse_currency,
    parse_description,
    parse_hashtags,
    parse_kind,
    parse_price,
    parse_sku,
    parse_stock,
    parse_title,
    parse_url,
)
from reelcart.catalog.columns import FIELDS
from reelcart.catalog.problems import InvalidCell, file_error, row_error
from reelcart.domain import CURRENCY_EXPONENTS, Money, ProductKind
from reelcart.domain.catalog import CatalogRow, RowError

DEFAULT_CURRENCY = "EUR"


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
class Cell:
    """One cell's trimmed text, and where it is: its line and its column as the file names it."""

    value: str
    line: int
    column: str


@dataclass
class Candidate:
    """One product a file offers, as cells, before checking."""

    line: int
    cells: dict[str, Cell]
    shopify: bool = False
    title_suffix: str = ""
    # Cells already known to be wrong (a JSON list where text belongs...), by field.
    problems: dict[str, InvalidCell] = field(default_factory=dict)

    def cell(self, name: str) -> Cell:
        """The cell of field ``name``; a blank one where the file has no such column."""
        return self.cells.get(name) or Cell("", self.line, name)


class RowChecker:
    """Turns candidates into CatalogRows or RowErrors, remembering SKUs across the file."""

    def __init__(self) -> None:
        self.rows: list[CatalogRow] = []
        self.errors: list[RowError] = []
        self.failed = 0
        self._seen_skus: dict[str, int] = {}
        self._reported: set[tuple[int, str, str]] = set()

    def check(self, candidate: Candidate) -> None:
        """Add the candidate to ``rows``, or its problems (in column order) to ``errors``."""
        found: list[tuple[int, RowError]] = []
        raw_sku = candidate.cell("sku").value
        sku_label = raw_sku[:MAX_SKU] or None

        def fail(name: str, problem: InvalidCell) -> None:
            cell = candidate.cell(name)
            error = row_error(cell.line, cell.column, problem.key, problem.params, sku_label)
            found.append((FIELDS.index(name), error))

        def parse(name: str, fn: Callable[[str], object]) -> object:
            known = candidate.problems.get(name)
            if known is not None:
                fail(name, known)
                return None
            try:
                return fn(candidate.cell(name).value)
            except InvalidCell as problem:
                fail(name, problem)
                return None

        sku = parse("sku", parse_sku)
        if isinstance(sku, str):
            first = self._seen_skus.setdefault(sku, candidate.line)
            if first != candidate.line:
                fail("sku", InvalidCell("sku_duplicate", sku=sku, first_line=first))
        title = parse("title", parse_title)
        if isinstance(title, str) and candidate.title_suffix:
            room = MAX_TITLE - len(candidate.title_suffix)
            if len(title) > room:
                title = title[: max(room - 1, 1)].rstrip() + "…"
            title = title + candidate.title_suffix
        description = parse("description", lambda v: parse_description(v, plain=candidate.shopify))
        kind = parse("kind", parse_kind)
        stock = parse("stock", lambda v: parse_stock(v, clamp_negative=candidate.shopify))
        hashtags = parse("hashtags", lambda v: parse_hashtags(v, shopify=candidate.shopify))
        category = parse("category", parse_category)
        video_url = parse("video_url", parse_url)
        shop_url = parse("shop_url", parse_url)
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
        self, candidate: Candidate, kind: object, fail: Callable[[str, InvalidCell], None]
    ) -> Money | None:
        currency_ok = True
        try:
            if "currency" in candidate.problems:
                raise candidate.problems["currency"]
            currency = parse_currency(candidate.cell("currency").value)
        except InvalidCell as problem:
            fail("currency", problem)
            currency, currency_ok = None, False
        try:
            if "price" in candidate.problems:
                raise candidate.problems["price"]
            price = parse_price(candidate.cell("price").value)
        except InvalidCell as problem:
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
                        InvalidCell("price_symbol_ambiguous", symbol=price.symbol, choices=choices),
                    )
                    return None
                currency = price.currencies[0]
            elif currency not in price.currencies:
                fail(
                    "price",
                    InvalidCell("price_symbol_mismatch", symbol=price.symbol, currency=currency),
                )
                return None
        currency = currency or DEFAULT_CURRENCY
        if currency == "XTR" and kind is not ProductKind.DIGITAL:
            if kind is not None:
                fail("currency", InvalidCell("currency_xtr_physical"))
            return None
        decimals = CURRENCY_EXPONENTS[currency]
        if price.amount != price.amount.quantize(Decimal(1).scaleb(-decimals)):
            fail(
                "price",
                InvalidCell(
                    "price_decimals", value=price.text, currency=currency, decimals=decimals
                ),
            )
            return None
        money = Money.from_amount(price.amount, currency)
        if money.minor > MAX_PRICE_MINOR:
            fail("price", InvalidCell("price_too_large", value=price.text))
            return None
        return money

    def fail_whole(self, line: int, key: str, **params: object) -> None:
        """A candidate refused as a whole (not an object, too many cells...)."""
        self._fail([row_error(line, "", key, params)])

    def _fail(self, errors: list[RowError]) -> None:
        self.failed += 1
        for error in errors:
            # A Shopify product's title error is shared by its variants: say it once.
            mark = (error.line, error.column, error.reason)
            if mark not in self._reported:
                self._reported.add(mark)
                self.errors.append(error)

    def finish(
        self, total: int, fmt: str, *, skipped: int = 0, ignored: tuple[str, ...] = ()
    ) -> ParsedCatalog:
        """The file's result, once every one of its ``total`` products has been checked.

        Raises:
            CatalogFileError: the file offers no product at all (``no_rows``).
        """
        if total == 0 and skipped == 0:
            raise file_error("no_rows")
        assert total == len(self.rows) + self.failed, "every product is stored or refused"
        return ParsedCatalog(
            rows=self.rows,
            errors=self.errors,
            total=total,
            format=fmt,
            skipped=skipped,
            ignored_columns=ignored,
        )
