"""Every text reelcart shows a person, in English and French.

Texts are ``str.format`` templates keyed by a dotted name. Values that come from users or
merchants are HTML-escaped by the caller (the handlers render with ``parse_mode=HTML``).
A test checks that both catalogs have the same keys and the same placeholders.
"""

from __future__ import annotations

from decimal import Decimal

from reelcart.domain import Language, Money
from reelcart.i18n.en import MESSAGES as EN
from reelcart.i18n.fr import MESSAGES as FR

CATALOGS: dict[Language, dict[str, str]] = {Language.EN: EN, Language.FR: FR}


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
