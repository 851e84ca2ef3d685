"""The order service on a real SQLite file: invoices, pre-checkout, orders exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from reelcart.domain import (
    AlreadyPaid,
    CurrencyNotSupported,
    Delivery,
    EventKind,
    ForgedPayload,
    Money,
    NoLongerSold,
    NotAMerchant,
    OrderNotFound,
    OrderStatus,
    PaymentRejected,
    PaymentsNotConfigured,
    PriceChanged,
    ProductStatus,
    SoldOut,
)
from reelcart.services.orders import (
    BasketConflict,
    BasketEmpty,
    BasketFull,
    InvalidTracking,
    OrderNotShippable,
    charge_price,
)
from reelcart.storage.merchants import set_merchant_owner
from tests.commerce.conftest import Catalog, open_shop, payment_for

SHOPPER, OTHER, MERCHANT = 501, 502, 900


def set_price(catalog: Catalog, sku: str, minor: int) -> None:
    catalog.sql("UPDATE products SET price_minor = ? WHERE id = ?", minor, catalog.ids[sku])


async def test_a_digital_price_becomes_stars_at_the_documented_rate(catalog: Catalog) -> None:
    assert charge_price(catalog.product("E1")) == Money(150, "XTR")  # €2.99 x 50, rounded up
    assert charge_price(catalog.product("C1")) == Money(1490, "EUR")
    with pytest.raises(CurrencyNotSupported):
        charge_price(catalog.product("Y2"))  # no Stars rate for yen


async def test_the_payload_is_short_signed_and_bound_to_the_shopper(catalog: Catalog) -> None:
    checkout = await catalog.orders.checkout_product(SHOPPER, catalog.ids["E1"])
    assert checkout.currency == "XTR" and checkout.total == Money(150, "XTR")
    assert checkout.catalog_total == Money(299, "EUR")
    assert len(checkout.payload.encode()) <= 128
    orders = catalog.orders
    await orders.pre_checkout(SHOPPER, checkout.payload, "XTR", 150, None)
    draft, signature = checkout.payload.rsplit(".", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    forgeries = [
        f"{draft}.{flipped}",  # altered signature
        checkout.payload.replace(f".{checkout.draft_id}.", f".{checkout.draft_id + 1}."),
        "rc1.1.AAAAAAAAAAAAAAAAAAAAAA",
        "anything",
        "",
    ]
    for forged in forgeries:
        with pytest.raises(ForgedPayload):
            await orders.pre_checkout(SHOPPER, forged, "XTR", 150, None)
    with pytest.raises(ForgedPayload):  # someone else's invoice
        await orders.pre_checkout(OTHER, checkout.payload, "XTR", 150, None)


async def test_pre_checkout_declines_what_changed_since_the_invoice(catalog: Catalog) -> None:
    orders = catalog.orders
    card = await orders.checkout_product(SHOPPER, catalog.ids["C1"])
    await orders.pre_checkout(SHOPPER, card.payload, "EUR", 1490 + 490, "standard")
    with pytest.raises(PaymentRejected):  # a shipping option that was never offered
        await orders.pre_checkout(SHOPPER, card.payload, "EUR", 1490 + 490, "drone")
    with pytest.raises(PaymentRejected):  # a total that is not the invoice's
        await orders.pre_checkout(SHOPPER, card.payload, "EUR", 1, "standard")
    with pytest.raises(CurrencyNotSupported):
        await orders.pre_checkout(SHOPPER, card.payload, "USD", 1490 + 490, "standard")

    set_price(catalog, "C1", 1690)
    with pytest.raises(PriceChanged) as changed:
        await orders.pre_checkout(SHOPPER, card.payload, "EUR", 1490 + 490, "standard")
    assert changed.value.params == {"title": "Ethiopian coffee beans", "price": Money(1690, "EUR")}
    set_price(catalog, "C1", 1490)

    catalog.sql("UPDATE products SET stock = 0 WHERE id = ?", catalog.ids["C1"])
    with pytest.raises(SoldOut):
        await orders.pre_checkout(SHOPPER, card.payload, "EUR", 1490 + 490, "standard")
    catalog.sql("UPDATE products SET stock = 5, status = 'paused' WHERE id = ?", catalog.ids["C1"])
    with pytest.raises(NoLongerSold):
        await orders.pre_checkout(SHOPPER, card.payload, "EUR", 1490 + 490, "standard")
    catalog.sql("UPDATE products SET status = 'active', currency = 'XYZ' WHERE id = ?",
                catalog.ids["C1"])  # fmt: skip
    with pytest.raises(CurrencyNotSupported):
        await orders.pre_checkout(SHOPPER, card.payload, "EUR", 1490 + 490, "standard")


async def test_what_cannot_be_paid_in_the_chat_says_why(catalog: Catalog, tmp_path: Path) -> None:
    orders = catalog.orders
    with pytest.raises(CurrencyNotSupported):  # no shipping rates in yen
        await orders.checkout_product(SHOPPER, catalog.ids["Y1"])
    with pytest.raises(CurrencyNotSupported):
        await orders.checkout_product(SHOPPER, catalog.ids["Y2"])
    no_provider = await asyncio.to_thread(
        open_shop, tmp_path / "other" / "shop.db", payment_provider_token=""
    )
    try:
        with pytest.raises(PaymentsNotConfigured):
            await no_provider.orders.checkout_product(SHOPPER, no_provider.ids["C1"])
        stars = await no_provider.orders.checkout_product(SHOPPER, no_provider.ids["E1"])
        assert stars.currency == "XTR"  # Stars need no provider
    finally:
        await asyncio.to_thread(no_provider.shop.close)


async def test_a_payment_makes_exactly_one_order_and_takes_stock_once(catalog: Catalog) -> None:
    orders = catalog.orders
    checkout = await orders.checkout_product(SHOPPER, catalog.ids["C1"])
    rates = await orders.shipping_options(SHOPPER, checkout.payload)
    assert [(r.option_id, r.amount_minor) for r in rates] == [("standard", 490), ("express", 990)]
    payment = payment_for(SHOPPER, checkout.payload, "EUR", 1490 + 990, option="express")
    first, again = await asyncio.gather(
        orders.record_payment(payment), orders.record_payment(payment)
    )
    assert sorted([first.created, again.created]) == [False, True]
    order = first.order
    assert order.id == again.order.id and order.status is OrderStatus.PAID
    assert order.total == Money(2480, "EUR") and order.shipping == Money(990, "EUR")
    assert order.address is not None and order.address.city == "Paris"
    assert order.recipient == "Ana" and order.merchant_name == "Roast Co"
    assert catalog.product("C1").stock == 9
    assert catalog.sql("SELECT count(*) FROM orders") == [(1,)]
    buys = catalog.sql("SELECT count(*) FROM events WHERE kind = ?", EventKind.BUY.value)
    assert buys == [(1,)]
    with pytest.raises(AlreadyPaid):  # the same invoice cannot be paid a second time
        await orders.pre_checkout(SHOPPER, checkout.payload, "EUR", 2480, "express")
    with (
        sqlite3.connect(catalog.shop.settings.db_path) as db,
        pytest.raises(sqlite3.IntegrityError),
    ):
        db.execute(  # and the database itself refuses a second order for the charge
            "INSERT INTO orders (charge_id, user_id, merchant_id, kind, status, currency, "
            "goods_minor, total_minor, created_at) VALUES (?, 1, 1, 'physical', 'paid', 'EUR', "
            "1, 1, 0)",
            [payment.charge_id],
        )


async def test_the_last_item_paid_twice_refunds_stars_and_flags_cards(catalog: Catalog) -> None:
    orders = catalog.orders
    # Stars: two shoppers pass pre-checkout for the one course left.
    first = await orders.checkout_product(SHOPPER, catalog.ids["E2"])
    second = await orders.checkout_product(OTHER, catalog.ids["E2"])
    total = first.total.minor
    await orders.pre_checkout(SHOPPER, first.payload, "XTR", total, None)
    await orders.pre_checkout(OTHER, second.payload, "XTR", total, None)
    won = await orders.record_payment(payment_for(SHOPPER, first.payload, "XTR", total))
    lost = await orders.record_payment(payment_for(OTHER, second.payload, "XTR", total))
    assert won.order.status is OrderStatus.PAID
    assert lost.order.status is OrderStatus.REFUND_PENDING
    assert lost.order.problem == "sold_out:Latte art course"
    assert catalog.product("E2").stock == 0
    refunded = await orders.mark_refunded(lost.order.id)
    assert refunded.status is OrderStatus.REFUNDED

    # Card: the same race flags the order for a person instead.
    a = await orders.checkout_product(SHOPPER, catalog.ids["C2"])
    b = await orders.checkout_product(OTHER, catalog.ids["C2"])
    await orders.record_payment(payment_for(SHOPPER, a.payload, "EUR", 1740, option="standard"))
    flagged = await orders.record_payment(
        payment_for(OTHER, b.payload, "EUR", 1740, option="standard")
    )
    assert flagged.order.status is OrderStatus.NEEDS_ATTENTION
    assert catalog.product("C2").stock == 0  # never negative


async def test_a_payment_with_a_forged_payload_is_kept_and_flagged(catalog: Catalog) -> None:
    recorded = await catalog.orders.record_payment(
        payment_for(SHOPPER, "rc1.77.AAAAAAAAAAAAAAAAAAAAAA", "XTR", 50)
    )
    assert recorded.order.status is OrderStatus.REFUND_PENDING
    assert recorded.order.problem == "unverified" and recorded.order.merchant_id == 0


async def test_journaled_payments_without_an_order_are_found_again(catalog: Catalog) -> None:
    orders = catalog.orders
    checkout = await orders.checkout_product(SHOPPER, catalog.ids["E1"])
    payment = payment_for(SHOPPER, checkout.payload, "XTR", 150)
    await orders.journal([payment, payment])
    pending = await orders.unprocessed_payments(grace=0)
    assert [p.charge_id for p in pending] == [payment.charge_id]
    assert pending[0] == payment
    assert await orders.unprocessed_payments(grace=3600) == []  # too fresh for the job
    recorded = await orders.record_payment(pending[0])
    assert recorded.created
    assert await orders.unprocessed_payments(grace=0) == []
    assert [o.id for o in await orders.undelivered(grace=0)] == [recorded.order.id]
    assert await orders.begin_receipt(recorded.order.id) is Delivery.PENDING
    await orders.end_receipt(recorded.order.id, Delivery.SENT)
    await orders.merchant_notified(recorded.order.id)
    assert await orders.undelivered(grace=0) == []


async def test_a_receipt_is_marked_before_and_after_its_send_so_it_never_goes_twice(
    catalog: Catalog,
) -> None:
    orders = catalog.orders
    made = []
    for _ in range(2):
        checkout = await orders.checkout_product(SHOPPER, catalog.ids["E1"])
        made.append(
            (
                await orders.record_payment(payment_for(SHOPPER, checkout.payload, "XTR", 150))
            ).order.id
        )
    cut, flooded = made
    # The bot stops while the first receipt's request is out: the next run cannot know
    # whether it arrived, so it settles it as unknown and never sends it again.
    assert await orders.begin_receipt(cut) is Delivery.PENDING
    assert await orders.begin_receipt(cut) is Delivery.SENDING
    assert await orders.begin_receipt(cut) is Delivery.UNKNOWN
    assert (await orders.order(cut)).receipt_sent
    # A 429 kept the second from the shopper: it is due again, and then sent once.
    assert await orders.begin_receipt(flooded) is Delivery.PENDING
    await orders.end_receipt(flooded, Delivery.PENDING)
    assert [o.id for o in await orders.undelivered(grace=0)] == [cut, flooded]  # merchants
    assert await orders.begin_receipt(flooded) is Delivery.PENDING
    await orders.end_receipt(flooded, Delivery.SENT)
    assert await orders.begin_receipt(flooded) is Delivery.SENT
    states = catalog.sql("SELECT receipt_state FROM orders ORDER BY id")
    assert states == [("unknown",), ("sent",)]
    with pytest.raises(OrderNotFound):
        await orders.begin_receipt(10**9)


async def test_the_basket_holds_one_merchant_and_pays_once(catalog: Catalog) -> None:
    orders = catalog.orders
    with pytest.raises(BasketEmpty):
        await orders.checkout_basket(SHOPPER)
    await orders.add_to_basket(SHOPPER, catalog.ids["C1"])
    await orders.add_to_basket(SHOPPER, catalog.ids["C1"])
    view = await orders.add_to_basket(SHOPPER, catalog.ids["C2"])
    assert view.count == 3 and view.total == Money(2 * 1490 + 1250, "EUR")
    with pytest.raises(BasketConflict) as other_shop:
        await orders.add_to_basket(SHOPPER, catalog.ids["S1"])
    assert other_shop.value.params == {"merchant": "Roast Co"}
    with pytest.raises(BasketConflict):  # a digital product is paid in Stars, not by card
        await orders.add_to_basket(SHOPPER, catalog.ids["E1"])
    with pytest.raises(BasketFull):  # only one espresso in stock
        await orders.add_to_basket(SHOPPER, catalog.ids["C2"])
    checkout = await orders.checkout_basket(SHOPPER)
    assert [(line.title, line.quantity, line.amount.minor) for line in checkout.lines] == [
        ("Ethiopian coffee beans", 2, 2980),
        ("Espresso dark roast", 1, 1250),
    ]
    total = checkout.total.minor + 490
    await orders.pre_checkout(SHOPPER, checkout.payload, "EUR", total, "standard")
    recorded = await orders.record_payment(
        payment_for(SHOPPER, checkout.payload, "EUR", total, option="standard")
    )
    assert [line.quantity for line in recorded.order.lines] == [2, 1]
    assert (await orders.basket(SHOPPER)).items == ()  # paid: the basket is empty again
    assert catalog.product("C1").stock == 8 and catalog.product("C2").stock == 0


async def test_a_stars_basket_is_one_line_in_stars(catalog: Catalog) -> None:
    orders = catalog.orders
    await orders.add_to_basket(SHOPPER, catalog.ids["E1"])
    await orders.add_to_basket(SHOPPER, catalog.ids["E2"])
    checkout = await orders.checkout_basket(SHOPPER)
    assert checkout.currency == "XTR" and checkout.total == Money(150 + 950, "XTR")
    catalog.sql("UPDATE products SET status = ? WHERE id = ?", ProductStatus.PAUSED.value,
                catalog.ids["E2"])  # fmt: skip
    with pytest.raises(NoLongerSold):
        await orders.checkout_basket(SHOPPER)
    view = await orders.remove_from_basket(SHOPPER, catalog.ids["E2"])
    assert [product.sku for product, _ in view.items] == ["E1"]


async def test_nobody_sees_or_ships_anothers_order(catalog: Catalog) -> None:
    orders = catalog.orders
    checkout = await orders.checkout_product(SHOPPER, catalog.ids["C1"])
    recorded = await orders.record_payment(
        payment_for(SHOPPER, checkout.payload, "EUR", 1980, option="standard")
    )
    order = recorded.order
    assert (await orders.order_of_shopper(SHOPPER, order.id)).id == order.id
    with pytest.raises(OrderNotFound):
        await orders.order_of_shopper(OTHER, order.id)
    assert await orders.orders_of(OTHER) == []
    with pytest.raises(NotAMerchant):
        await orders.ship(OTHER, order.id, "1Z999AA1")
    # The owner of another merchant cannot ship it either.
    catalog.shop.db.call(lambda store: set_merchant_owner(store, catalog.stride_id, OTHER))
    with pytest.raises(OrderNotFound):
        await orders.ship(OTHER, order.id, "1Z999AA1")
    catalog.shop.db.call(lambda store: set_merchant_owner(store, catalog.roast_id, MERCHANT))
    with pytest.raises(InvalidTracking):
        await orders.ship(MERCHANT, order.id, "<script>")
    shipped = await orders.ship(MERCHANT, order.id, "  1Z999AA1  0123 ")
    assert shipped.status is OrderStatus.SHIPPED and shipped.tracking == "1Z999AA1 0123"
    assert (await orders.orders_of(SHOPPER))[0].tracking == "1Z999AA1 0123"
    merchant, sales = await orders.sales(MERCHANT)
    assert merchant.name == "Roast Co" and [o.id for o in sales] == [order.id]

    stars = await orders.checkout_product(SHOPPER, catalog.ids["E1"])
    digital = await orders.record_payment(payment_for(SHOPPER, stars.payload, "XTR", 150))
    with pytest.raises(OrderNotShippable):
        await orders.ship(MERCHANT, digital.order.id, "1Z999AA1")


async def test_a_preparation_clip_is_shared_only_with_consent(catalog: Catalog) -> None:
    orders = catalog.orders
    catalog.shop.db.call(lambda store: set_merchant_owner(store, catalog.roast_id, MERCHANT))
    checkout = await orders.checkout_product(SHOPPER, catalog.ids["C1"])
    order = (
        await orders.record_payment(
            payment_for(SHOPPER, checkout.payload, "EUR", 1980, option="standard")
        )
    ).order
    product = catalog.ids["C1"]
    with pytest.raises(OrderNotFound):  # only the shopper decides
        await orders.set_clip_consent(OTHER, order.id, True)
    with pytest.raises(NotAMerchant):  # only the order's shop films it
        await orders.add_preparation_clip(OTHER, order.id, "file-1")
    await orders.add_preparation_clip(MERCHANT, order.id, "file-1", 3, 240, 426)
    assert orders.social_clip(product, OTHER, card_id=2) is None  # no consent yet
    await orders.set_clip_consent(SHOPPER, order.id, True)
    clip = orders.social_clip(product, OTHER, card_id=2)
    assert clip is not None and clip.file_id == "file-1"
    assert orders.social_clip(product, OTHER, card_id=3) is None  # every other card
    assert orders.social_clip(product, SHOPPER, card_id=2) is None  # not their own
    await orders.set_clip_consent(SHOPPER, order.id, False)
    assert orders.social_clip(product, OTHER, card_id=2) is None


async def test_forgetting_a_shopper_keeps_orders_without_the_person(catalog: Catalog) -> None:
    orders = catalog.orders
    catalog.shop.db.call(lambda store: set_merchant_owner(store, catalog.roast_id, MERCHANT))
    checkout = await orders.checkout_product(SHOPPER, catalog.ids["C1"])
    payment = payment_for(SHOPPER, checkout.payload, "EUR", 1980, option="standard")
    order = (await orders.record_payment(payment)).order
    await orders.set_clip_consent(SHOPPER, order.id, True)
    await orders.add_preparation_clip(MERCHANT, order.id, "file-1")
    assert await orders.anonymize(SHOPPER) == 1
    kept = await orders.order(order.id)
    assert (kept.recipient, kept.address, kept.total) == (None, None, order.total)
    assert orders.social_clip(catalog.ids["C1"], OTHER, card_id=2) is None
    raw = catalog.sql("SELECT raw FROM payment_inbox WHERE charge_id = ?", payment.charge_id)
    assert "Rivoli" not in raw[0][0] and payment.charge_id in raw[0][0]
