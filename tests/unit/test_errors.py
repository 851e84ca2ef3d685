"""Every domain error carries its message one way: a ``message_key`` and the ``params`` that
fill it; the handlers' one translator reads nothing else."""

from __future__ import annotations

from reelcart.domain import (
    CatalogFileError,
    Language,
    Money,
    NameTaken,
    PriceChanged,
    ReelcartError,
)
from reelcart.handlers.kit.errors import error_text
from reelcart.services.merchants import InvalidInput


def test_an_error_names_its_class_message_and_keeps_its_params() -> None:
    error = PriceChanged("price moved", title="Beans", price=Money(1690, "EUR"))

    assert error.message_key == "commerce.declined_price"
    assert error.params == {"title": "Beans", "price": Money(1690, "EUR")}
    assert str(error) == "price moved"


def test_an_error_may_name_a_more_precise_message() -> None:
    plain = ReelcartError("for the log", message_key="merchant.name_taken")
    typed = InvalidInput("merchant.price_invalid", example="12.50")
    catalog = CatalogFileError("error.catalog_file.too_large", text="too big", size_mb=21.0)

    assert (plain.message_key, plain.params) == ("merchant.name_taken", {})
    assert (typed.message_key, typed.params) == ("merchant.price_invalid", {"example": "12.50"})
    assert (catalog.message_key, catalog.params) == (
        "error.catalog_file.too_large",
        {"size_mb": 21.0},
    )
    assert str(catalog) == "too big"
    # The class's own message is untouched by one error naming another.
    assert InvalidInput.message_key == "merchant.invalid"
    assert NameTaken("Roast Co").message_key == "merchant.name_taken"


def test_the_translator_fills_the_message_from_the_params() -> None:
    error = PriceChanged(title="<Beans>", price=Money(1690, "EUR"))

    assert error_text(Language.EN, error) == (
        "The price of “<Beans>” changed to €16.90 since your invoice. Nothing was charged: "
        "tap 🛒 again to buy at the new price."
    )
    assert "“&lt;Beans&gt;”" in error_text(Language.EN, error, escape=True)
    assert "16,90\u00a0€" in error_text(Language.FR, error)
