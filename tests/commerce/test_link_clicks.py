"""A shop link followed again and again counts once per shopper, product and hour."""

from __future__ import annotations

from reelcart.domain import EventKind
from reelcart.services.links import CLICK_WINDOW_S
from tests.commerce.conftest import Catalog

SHOPPER, OTHER = 601, 602


def clicks(catalog: Catalog) -> list[tuple[int, int]]:
    rows = catalog.sql(
        "SELECT user_id, product_id FROM events WHERE kind = ? ORDER BY id",
        EventKind.SHOP_CLICK.value,
    )
    return [(user, product) for user, product in rows]


async def test_a_replayed_token_redirects_every_time_but_counts_once_an_hour(
    catalog: Catalog,
) -> None:
    links = catalog.shop.links
    now = [1_800_000_000.0]
    links.clock = lambda: now[0]
    c1, c2 = catalog.ids["C1"], catalog.ids["C2"]
    token = links.token(c1, SHOPPER)

    targets = {await links.follow(token) for _ in range(5)}
    assert len(targets) == 1 and None not in targets  # every replay still redirects
    assert clicks(catalog) == [(SHOPPER, c1)]

    # Within the hour nothing more counts for this shopper and product, whatever the token.
    now[0] += CLICK_WINDOW_S - 1
    assert await links.follow(token) is not None
    assert await links.follow(links.token(c1, SHOPPER)) is not None
    assert clicks(catalog) == [(SHOPPER, c1)]
    # Another product, or another shopper, is a click of its own.
    await links.follow(links.token(c2, SHOPPER))
    await links.follow(links.token(c1, OTHER))
    assert clicks(catalog) == [(SHOPPER, c1), (SHOPPER, c2), (OTHER, c1)]

    # An hour after the counted click, the same token counts again.
    now[0] += 1
    await links.follow(token)
    await links.follow(token)
    assert clicks(catalog) == [(SHOPPER, c1), (SHOPPER, c2), (OTHER, c1), (SHOPPER, c1)]
