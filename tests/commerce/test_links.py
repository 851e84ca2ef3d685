"""Tracked shop links: signed tokens, UTM parameters, counted clicks."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from reelcart.domain import EventKind
from tests.commerce.conftest import Catalog

SHOPPER = 601


def clicks(catalog: Catalog) -> int:
    rows = catalog.sql("SELECT count(*) FROM events WHERE kind = ?", EventKind.SHOP_CLICK.value)
    return int(rows[0][0])


async def test_a_card_links_through_reelcart_and_the_click_counts(catalog: Catalog) -> None:
    links = catalog.shop.links
    product = catalog.product("C1")
    url = links.url_for(product, SHOPPER)
    assert url is not None and url.startswith("https://bot.example/go/")
    token = url.rsplit("/", 1)[1]
    assert len(token) <= 48 and all(c.isalnum() or c in "._-" for c in token)
    target = await links.follow(token)
    assert target is not None
    parts = urlsplit(target)
    assert (parts.netloc, parts.path) == ("roast.example", "/c1")
    assert parse_qsl(parts.query) == [
        ("ref", "feed"),  # the shop's own parameter is kept
        ("utm_source", "telegram"),
        ("utm_medium", "reelcart"),
        ("utm_campaign", "Roast Co"),
        ("utm_content", "C1"),
    ]
    assert clicks(catalog) == 1
    rows = catalog.sql("SELECT user_id, product_id FROM events WHERE kind = 'shop_click'")
    assert rows == [(SHOPPER, product.id)]
    await links.follow(token, count=False)  # a HEAD request: redirected, not counted
    assert clicks(catalog) == 1


async def test_a_tampered_token_leads_nowhere_and_counts_nothing(catalog: Catalog) -> None:
    links = catalog.shop.links
    token = links.token(catalog.ids["C1"], SHOPPER)
    product, user, issued, signature = token.split(".")
    other_product = links.token(catalog.ids["C2"], SHOPPER).split(".")[0]
    tampered = [
        ".".join((other_product, user, issued, signature)),  # another product
        ".".join((product, "zz", issued, signature)),  # another shopper
        ".".join((product, user, issued, signature[::-1])),
        token + "x",
        "",
        "../../etc/passwd",
    ]
    for bad in tampered:
        assert await links.follow(bad) is None, bad
    assert clicks(catalog) == 0


async def test_without_a_public_url_the_button_goes_straight_to_the_shop(
    catalog: Catalog,
) -> None:
    links = catalog.shop.links
    links.public_url = None
    assert not links.tracked
    assert links.url_for(catalog.product("C1"), SHOPPER) == "https://roast.example/c1?ref=feed"
    assert links.url_for(catalog.product("E2"), SHOPPER) is None  # no shop URL: no button
