"""Every text reelcart shows a person, in English and French.

Texts are ``str.format`` templates keyed by a dotted name. Values that come from users or
merchants are HTML-escaped by the caller (the handlers render with ``parse_mode=HTML``).
A test checks that both catalogs have the same keys and the same placeholders, and that no
feature module redefines another's key.
"""

from __future__ import annotations

from decimal import Decimal

from reelcart.domain import Language, Money
from reelcart.i18n import commerce, en, fr, merchants

# The core texts live in en.py / fr.py; each later feature keeps both languages of its own
# texts side by side in one module exposing EN and FR.
_FEATURES = (commerce, merchants)
CATALOGS: dict[Language, dict[str, str]] = {
    Language.EN: {**en.MESSAGES, **{k: v for f in _FEATURES for k, v in f.EN.items()}},
    Language.FR: {**fr.MESSAGES, **{k: v for f in _FEATURES for k, v in f.FR.items()}},
}


def t(language: Language | str, key: str, /, **params: object) -> str:
    """The text ``key`` in ``language``, formatted with ``params``.

    An unknown key is a programming error and raises KeyError; a test walks every key used.
    """
    catalog = CATALOGS[Language(language)]
    template = catalog[key]
    return template.format(**params) if params else template


def format_price(price: Money, language: Language | str) -> str:
    """A price as people read it: ``€19.99`` in English, ``19,99 €`` in French, ``⭐ 50``."""
    if price.currency == "XTR":
        return f"⭐ {price.minor}"
    amount: Decimal = price.amount
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(price.currency)
    number = f"{amount:,.{price.exponent}f}"
    if Language(language) is Language.FR:
        # French groups thousands with a narrow no-break space and uses a decimal comma.
        number = number.replace(",", "\u202f").replace(".", ",")
        return f"{number}\u00a0{symbol or price.currency}"
    return f"{symbol}{number}" if symbol else f"{number} {price.currency}"


__all__ = ["CATALOGS", "format_price", "t"]
