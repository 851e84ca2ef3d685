"""What a product costs in the chat.

Physical products are paid by card through the payment provider, in the product's own
currency. Digital products are paid in Telegram Stars (XTR): a price in another currency
is converted at the fixed rates of ``STARS_PER_UNIT`` (1 EUR = 50 Stars, rounded up).
"""

from __future__ import annotations

import math
from decimal import Decimal

from reelcart.domain import CURRENCY_EXPONENTS, CurrencyNotSupported, Money, Product, ProductKind

STARS = "XTR"
# Fixed conversion of a digital product's catalog price to Telegram Stars: Stars per unit
# of the currency (a Star costs a shopper about 2 euro cents). Rounded up, at least 1.
STARS_PER_UNIT: dict[str, Decimal] = {
    "EUR": Decimal(50),
    "USD": Decimal(46),
    "GBP": Decimal(58),
    "CHF": Decimal(53),
}
MAX_STARS = 100_000  # Telegram's ceiling for one Stars invoice


def charge_price(product: Product) -> Money:
    """What the shopper pays per unit in the chat: Stars for digital, the price otherwise.

    Raises CurrencyNotSupported when the product's currency cannot be paid in the chat.
    """
    price = product.price
    if product.kind is ProductKind.DIGITAL:
        if price.currency == STARS:
            return price
        rate = STARS_PER_UNIT.get(price.currency)
        if rate is None:
            raise CurrencyNotSupported(currency=price.currency)
        return Money(max(1, math.ceil(price.amount * rate)), STARS)
    if price.currency == STARS or price.currency not in CURRENCY_EXPONENTS:
        raise CurrencyNotSupported(currency=price.currency)
    return price


__all__ = ["MAX_STARS", "STARS", "STARS_PER_UNIT", "charge_price"]
