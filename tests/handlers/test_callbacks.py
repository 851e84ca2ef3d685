"""Callback data is built and parsed in one place: what a codec builds it parses back, and
anything forged, stale or too long parses to nothing."""

from __future__ import annotations

import re

import pytest

from reelcart.handlers.kit.callbacks import (
    ADMIN,
    ADMIN_MENU,
    MERCHANT,
    BasketButton,
    Pressed,
    RefundsButton,
    basket_data,
    parse_basket_data,
    parse_refunds_data,
    refunds_data,
)


def test_what_the_admin_codec_builds_it_parses_back() -> None:
    assert ADMIN.data("qx", 12, "prohibited", 3) == "adm:qx:12:prohibited:3"
    assert ADMIN.parse("adm:qx:12:prohibited:3") == Pressed("qx", ("12", "prohibited", "3"))
    assert ADMIN.parse(ADMIN_MENU) == Pressed("menu", (None, None, None))
    assert MERCHANT.parse(MERCHANT.data("p", 7, 2)) == Pressed("p", ("7", "2"))


@pytest.mark.parametrize(
    "data",
    ["adm:nope", "adm:qa:12:3:4:5", "adm:qa:-1", "adm:q:X", "mer:p:1:abc", "adm", "", None],
)
def test_forged_or_stale_data_parses_to_nothing(data: str | None) -> None:
    assert ADMIN.parse(data) is None
    assert MERCHANT.parse(data) is None


def test_a_button_the_codec_could_not_read_back_is_never_built() -> None:
    with pytest.raises(ValueError):
        ADMIN.data("nope")
    with pytest.raises(ValueError):
        ADMIN.data("q", "x" * 19)  # longer than an argument may be


def test_the_panel_never_claims_the_refunds_screens() -> None:
    assert re.match(ADMIN.pattern, "adm:qa:1:0")
    assert re.match(ADMIN.pattern, "adm:menu")
    assert not re.match(ADMIN.pattern, refunds_data())
    assert not re.match(ADMIN.pattern, refunds_data("y", 5))
    assert parse_refunds_data(refunds_data()) == RefundsButton()
    assert parse_refunds_data(refunds_data("o", 5)) == RefundsButton("o", 5)
    assert parse_refunds_data("adm:refunds:z:5") is None


def test_basket_buttons_round_trip() -> None:
    assert parse_basket_data(basket_data("add", 9)) == BasketButton("add", 9)
    assert parse_basket_data(basket_data("pay")) == BasketButton("pay")
    assert parse_basket_data("bk:add") is None
    assert parse_basket_data("bk:pay:9") is None
