"""One cell of a catalog row, read and checked: text, SKU, price, stock, hashtags, links.

Each ``parse_*`` function takes a cell's trimmed text and returns its value, or raises
``InvalidCell`` with the message key of what is wrong; ``validation`` applies them to a
whole row (the rules, in one list, are in its docstring).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from reelcart.catalog.problems import InvalidCell
from reelcart.domain import CURRENCY_EXPONENTS, ProductKind

MAX_SKU = 64
MAX_TITLE = 120
MAX_DESCRIPTION = 4000
MAX_CATEGORY = 50
MAX_HASHTAGS = 10
MAX_HASHTAG = 50
MAX_URL = 2048
MAX_STOCK = 1_000_000_000
MAX_PRICE_MINOR = 10**11

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
            raise InvalidCell("line_break")
        raise InvalidCell("control_char", char=f"U+{ord(char):04X}")
    if not allow_html and _looks_like_html(value):
        raise InvalidCell("html")
    if _looks_like_formula(value):
        raise InvalidCell("formula", char=value[0])


def _check_length(value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidCell("too_long", length=len(value), limit=limit)


def parse_sku(value: str) -> str:
    """A SKU: not blank, no spaces, at most ``MAX_SKU`` characters."""
    if not value:
        raise InvalidCell("sku_required")
    if _SPACE.search(value):
        raise InvalidCell("sku_spaces")
    _check_text(value)
    if len(value) > MAX_SKU:
        raise InvalidCell("sku_too_long", length=len(value), limit=MAX_SKU)
    return value


def parse_title(value: str) -> str:
    """A title: not blank, one line of plain text, at most ``MAX_TITLE`` characters."""
    if not value:
        raise InvalidCell("title_required")
    _check_text(value)
    _check_length(value, MAX_TITLE)
    return value


def parse_description(value: str, *, plain: bool = False) -> str:
    """A description, line breaks kept (as ``\\n``); ``plain``: HTML already stripped."""
    value = _LINE_BREAKS.sub("\n", value)
    _check_text(value, multiline=True, allow_html=plain)
    _check_length(value, MAX_DESCRIPTION)
    return value


def parse_kind(value: str) -> ProductKind:
    """``physical`` or ``digital`` in any case; blank is physical."""
    if not value:
        return ProductKind.PHYSICAL
    try:
        return ProductKind(value.lower())
    except ValueError:
        raise InvalidCell("kind_invalid", value=value) from None


def parse_currency(value: str) -> str | None:
    """The ISO code, or None when the cell is blank."""
    if not value:
        return None
    code = value.upper()
    if code not in CURRENCY_EXPONENTS:
        raise InvalidCell("currency_unknown", value=value)
    return code


@dataclass(frozen=True)
class Price:
    """A price cell read: the amount, and the currency symbol or code written with it."""

    amount: Decimal
    symbol: str | None
    currencies: tuple[str, ...]  # what the symbol can mean; empty without one
    text: str


def parse_price(value: str) -> Price:
    """``12.50``, ``12,50``, ``€12.50`` or ``12.50 EUR``: more than 0, no thousands marks.

    Whether the symbol agrees with the currency, and the decimals, are checked with the
    row (``validation``), which knows the currency.
    """
    if not value:
        raise InvalidCell("price_required")
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
            raise InvalidCell("price_thousands")
        raise InvalidCell("price_invalid", value=value)
    whole, fraction = number.group(2), number.group(3) or ""
    try:
        amount = Decimal(f"{sign}{whole}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise InvalidCell("price_invalid", value=value) from None
    if amount <= 0:
        raise InvalidCell("price_not_positive")
    return Price(amount, symbol, currencies, value)


def parse_stock(value: str, *, clamp_negative: bool = False) -> int:
    """A whole number of items, blank 0; negative is an error, or 0 if ``clamp_negative``."""
    if not value:
        return 0
    match = _WHOLE.fullmatch(value)
    if match is None:
        raise InvalidCell("stock_not_whole", value=value)
    if len(match.group(2)) > 12:
        raise InvalidCell("stock_too_large", value=value)
    stock = int(match.group(2))
    if match.group(1) == "-" and stock:
        if clamp_negative:
            return 0
        raise InvalidCell("stock_negative")
    if stock > MAX_STOCK:
        raise InvalidCell("stock_too_large", value=value)
    return stock


def _normalize_tag(raw: str) -> str:
    tag = _TAG_JOIN.sub("_", raw.strip().lstrip("#").strip().lower())
    tag = _NON_WORD.sub("", tag)
    return _UNDERSCORES.sub("_", tag).strip("_")


def parse_hashtags(value: str, *, shopify: bool = False) -> tuple[str, ...]:
    """Normalised tags, duplicates dropped; more than ``MAX_HASHTAGS`` is an error, except
    for Shopify tags (comma-separated phrases), which keep their first ten."""
    # Shopify tags are comma-separated phrases ("Summer sale"); ours are words.
    raw_tags = value.split(",") if shopify else _TAG_SPLIT.split(value)
    tags: list[str] = []
    for raw in raw_tags:
        tag = _normalize_tag(raw)
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_HASHTAG:
            raise InvalidCell("hashtag_too_long", tag=tag[:MAX_HASHTAG] + "…", limit=MAX_HASHTAG)
        tags.append(tag)
    if len(tags) > MAX_HASHTAGS:
        if shopify:
            return tuple(tags[:MAX_HASHTAGS])
        raise InvalidCell("hashtags_too_many", count=len(tags), limit=MAX_HASHTAGS)
    return tuple(tags)


def slug(value: str) -> str:
    """Lowercase words joined by ``-``: ``Home & Garden`` -> ``home-garden``."""
    return _SLUG_BREAK.sub("-", value.lower()).strip("-")


def parse_category(value: str) -> str:
    """The category as a slug; blank stays blank."""
    if not value:
        return ""
    _check_text(value)
    category = slug(value)
    if not category:
        raise InvalidCell("category_invalid", value=value)
    _check_length(category, MAX_CATEGORY)
    return category


def parse_url(value: str) -> str | None:
    """An http(s) URL with a host, or None when the cell is blank."""
    if not value:
        return None
    if len(value) > MAX_URL or _CONTROL_LINE.search(value) or _SPACE.search(value):
        raise InvalidCell("url_invalid", value=value[:80])
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidCell("url_invalid", value=value[:80]) from None
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(host):
        raise InvalidCell("url_invalid", value=value[:80])
    return value
