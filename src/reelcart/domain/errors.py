"""The domain errors. Each names the message a person reads (``message_key``) and carries
what fills its placeholders (``params``); the handlers translate them, in one place."""

from __future__ import annotations


class ReelcartError(Exception):
    """Base of the domain errors; the handlers turn each into a localized message.

    ``message_key`` is the class's message unless the error names a more precise one
    (``message_key=`` or a subclass's own argument); keyword arguments become ``params``,
    the message's placeholders. Positional arguments are for ``str()``: logs, not people.
    """

    message_key: str = "error.generic"

    def __init__(self, *args: object, message_key: str | None = None, **params: object) -> None:
        super().__init__(*args)
        if message_key is not None:
            self.message_key = message_key
        self.params: dict[str, object] = params


class ProductNotFound(ReelcartError):
    message_key = "error.product_not_found"


class ProductUnavailable(ReelcartError):
    """The product is paused, deleted or sold out."""

    message_key = "error.product_unavailable"


class OutOfStock(ProductUnavailable):
    message_key = "error.out_of_stock"


class StaleCard(ReelcartError):
    """A button from a card that is no longer the current one (or from before a restart)."""

    message_key = "error.stale_card"


class AlreadyAnswered(StaleCard):
    """The same button pressed twice: the first press counted, this one changes nothing."""

    message_key = "feed.already"


class CatalogFileError(ReelcartError):
    """A catalog file that cannot be read at all: nothing from it is imported.

    ``message_key`` says what exactly is wrong (``error.catalog_file.<why>``) and ``params``
    fill its placeholders, so the bot can say it in the merchant's language; ``str()`` of
    the error is the English text.
    """

    message_key = "error.catalog_file"

    def __init__(
        self, message_key: str = "error.catalog_file", /, *, text: str = "", **params: object
    ) -> None:
        super().__init__(text or message_key, message_key=message_key, **params)


# -- commerce: the reasons a payment is declined -----------------------------------------


class PaymentRejected(ReelcartError):
    """A checkout step refused before money moved; ``params`` fill the message's placeholders."""

    message_key = "commerce.declined"


class ForgedPayload(PaymentRejected):
    """An invoice payload reelcart did not sign, or signed for another shopper or amount."""

    message_key = "commerce.declined_forged"


class PriceChanged(PaymentRejected):
    """A product's price changed after the invoice was sent (``title``, ``price``)."""

    message_key = "commerce.declined_price"


class SoldOut(PaymentRejected):
    """Not enough stock left for the invoice (``title``)."""

    message_key = "commerce.declined_sold_out"


class NoLongerSold(PaymentRejected):
    """The product was paused or removed after the invoice was sent (``title``)."""

    message_key = "commerce.declined_unavailable"


class AlreadyPaid(PaymentRejected):
    """This invoice was paid already; a second payment would buy twice."""

    message_key = "commerce.declined_already_paid"


class CurrencyNotSupported(PaymentRejected):
    """The product's currency cannot be paid in the chat (``currency``)."""

    message_key = "commerce.currency_unsupported"


class PaymentsNotConfigured(ReelcartError):
    """A physical product, but no payment provider token is configured."""

    message_key = "commerce.no_provider"


class OrderNotFound(ReelcartError):
    """No such order among the ones this person may see."""

    message_key = "commerce.order_not_found"


# -- merchants -----------------------------------------------------------------------------


class NotAMerchant(ReelcartError):
    """The user runs no approved shop (or it is suspended): merchant commands refuse."""

    message_key = "merchant.not_merchant"


class ApplicationWaiting(NotAMerchant):
    message_key = "merchant.application_waiting"


class ApplicationRejected(NotAMerchant):
    message_key = "merchant.application_rejected"


class MerchantSuspended(NotAMerchant):
    message_key = "merchant.suspended"


class NameTaken(ReelcartError):
    """Another shop already uses this name."""

    message_key = "merchant.name_taken"


class AlreadyMerchant(ReelcartError):
    """The user already runs (or has applied for) a shop."""

    message_key = "merchant.already"
