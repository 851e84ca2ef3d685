"""The fulfilment worker on a real database, with a fake at the services' port to Telegram:
one order per charge, at most one receipt, the merchant told at least once, refunds, and a
crash injected at each moment of a payment (as ``REELCART_TEST_CRASH`` does end to end)."""

from __future__ import annotations

import os

import pytest

from reelcart.bot import crash_hook
from reelcart.config import TEST_CRASH_POINTS
from reelcart.domain import OrderStatus
from reelcart.services.fulfilment import (
    CRASH_AFTER_MERCHANT_NOTICE,
    CRASH_AFTER_RECEIPT_SEND,
    CRASH_POINTS,
    Crash,
    Fulfilment,
    never_crash,
)
from reelcart.services.messenger import Button, Media, MediaKind, Outcome, Status
from reelcart.services.orders import Payment
from tests.commerce.conftest import Catalog, payment_for
from tests.fake_messenger import FakeMessenger

SHOPPER, OTHER, MERCHANT, ADMIN = 501, 502, 900, 7001
RECEIPT, NOTICE = "🧾 <b>Receipt", "🛍 <b>New order"


class Crashed(BaseException):
    """The process died here (BaseException: nothing on the way catches it)."""


def crash_at(point: str) -> Crash:
    def crash(at: str) -> None:
        if at == point:
            raise Crashed(at)

    return crash


def fulfilment(
    catalog: Catalog, messenger: FakeMessenger, crash: Crash | None = None
) -> Fulfilment:
    catalog.sql("UPDATE merchants SET owner_user_id = ? WHERE id = ?", MERCHANT, catalog.roast_id)
    worker = Fulfilment(catalog.orders, catalog.shop.feed, frozenset({ADMIN}), messenger)
    if crash is not None:
        worker.crash = crash
    return worker


async def paid(catalog: Catalog, sku: str = "C1", user_id: int = SHOPPER) -> Payment:
    """The payment of an invoice for one ``sku`` (physical ones shipped express)."""
    checkout = await catalog.orders.checkout_product(user_id, catalog.ids[sku])
    if checkout.physical:
        total = checkout.total.minor + 990
        return payment_for(user_id, checkout.payload, checkout.currency, total, option="express")
    return payment_for(user_id, checkout.payload, checkout.currency, checkout.total.minor)


def texts(messenger: FakeMessenger, user_id: int, start: str) -> list[str]:
    return [text for text in messenger.to(user_id) if text.startswith(start)]


def test_the_crash_points_are_the_ones_the_setting_accepts() -> None:
    assert set(CRASH_POINTS) == TEST_CRASH_POINTS


def test_the_entry_point_ends_the_process_at_the_armed_moment_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    assert crash_hook(None) is never_crash
    crash = crash_hook(CRASH_AFTER_RECEIPT_SEND)
    for moment in CRASH_POINTS:
        crash(moment)
    assert exits == [70]


async def test_a_payment_tells_the_shopper_once_and_the_merchant_once(catalog: Catalog) -> None:
    messenger = FakeMessenger()
    worker = fulfilment(catalog, messenger)
    payment = await paid(catalog)
    order = await worker.take_payment(payment)
    assert (await worker.take_payment(payment)).id == order.id  # Telegram delivered it again
    [receipt] = [sent for sent in messenger.requests if sent.user_id == SHOPPER]
    assert receipt.text.startswith(f"{RECEIPT}: order {order.number}</b> · Roast Co")
    assert [[b.callback_data for b in row] for row in receipt.buttons] == [
        [f"or:clip:{order.id}:y", f"or:clip:{order.id}:n"]
    ]
    [notice] = [sent for sent in messenger.requests if sent.user_id == MERCHANT]
    assert notice.text.startswith(f"{NOTICE} {order.number}</b> from Ana")
    assert list(notice.buttons) == [
        [Button(f"📦 Mark {order.number} shipped", f"sl:ship:{order.id}")]
    ]
    assert len(messenger.requests) == 2
    assert catalog.sql("SELECT count(*), receipt_state FROM orders") == [(1, "sent")]
    assert await catalog.orders.undelivered(grace=0) == []


@pytest.mark.parametrize("moment", CRASH_POINTS)
async def test_a_crash_at_any_moment_makes_one_order_and_one_receipt(
    catalog: Catalog, moment: str
) -> None:
    messenger = FakeMessenger()
    payment = await paid(catalog, "E1")  # Stars, the e2e crash tests' case
    with pytest.raises(Crashed):
        await fulfilment(catalog, messenger, crash_at(moment)).take_payment(payment)
    restarted = fulfilment(catalog, messenger)  # the next start
    await restarted.recover(grace=0.0)
    await restarted.take_payment(payment)  # and Telegram delivers the payment again
    assert catalog.sql("SELECT count(*), status FROM orders") == [(1, "paid")]
    assert len(texts(messenger, SHOPPER, RECEIPT)) == 1
    notices = texts(messenger, MERCHANT, NOTICE)
    assert len(notices) == (2 if moment == CRASH_AFTER_MERCHANT_NOTICE else 1), moment
    expected = "unknown" if moment == CRASH_AFTER_RECEIPT_SEND else "sent"  # never sent twice
    assert catalog.sql("SELECT receipt_state FROM orders") == [(expected,)]
    assert await catalog.orders.undelivered(grace=0) == []


async def test_only_a_receipt_that_certainly_did_not_arrive_is_sent_again(
    catalog: Catalog,
) -> None:
    messenger = FakeMessenger()
    worker = fulfilment(catalog, messenger)
    messenger.script[SHOPPER] = [Outcome.retry_later(3.0, "429")]
    messenger.script[OTHER] = [Outcome.unknown("read timeout")]  # it may have arrived
    messenger.script[MERCHANT] = [Outcome.retry_later(1.0, "502"), Outcome.unknown("dropped")]
    await worker.take_payment(await paid(catalog, "E1", SHOPPER))
    await worker.take_payment(await paid(catalog, "E1", OTHER))
    states = catalog.sql("SELECT user_id, receipt_state FROM orders ORDER BY id")
    assert states == [(SHOPPER, "pending"), (OTHER, "unknown")]
    await worker.recover(grace=0.0)
    assert len(texts(messenger, SHOPPER, RECEIPT)) == 1
    assert texts(messenger, OTHER, RECEIPT) == []
    tries = [sent.user_id for sent in messenger.requests]
    assert tries.count(SHOPPER) == 2 and tries.count(OTHER) == 1
    # The merchant's notices go until they certainly arrived: at least once each.
    assert len(texts(messenger, MERCHANT, NOTICE)) == 2
    assert await catalog.orders.undelivered(grace=0) == []


async def test_stars_paid_for_what_sold_out_go_back_once_telegram_takes_the_refund(
    catalog: Catalog,
) -> None:
    messenger = FakeMessenger()
    worker = fulfilment(catalog, messenger)
    won, lost = await paid(catalog, "E2", SHOPPER), await paid(catalog, "E2", OTHER)
    await worker.take_payment(won)
    messenger.refund_outcomes = [Outcome.retry_later(1.0, "Bad Gateway")]
    order = await worker.take_payment(lost)
    assert messenger.refunds == [lost.charge_id]
    assert (await catalog.orders.order(order.id)).status is OrderStatus.REFUND_PENDING
    assert messenger.to(OTHER) == [f"↩️ Your ⭐ 950 for order {order.number} are being refunded."]
    await worker.recover(grace=0.0)  # Telegram takes it this time
    assert (await catalog.orders.order(order.id)).status is OrderStatus.REFUNDED
    assert messenger.to(OTHER)[1:] == [f"↩️ Your ⭐ 950 for order {order.number} were refunded."]
    assert messenger.refunds == [lost.charge_id] * 2
    await worker.recover(grace=0.0)
    assert len(messenger.to(OTHER)) == 2 and len(messenger.refunds) == 2


async def test_a_refund_telegram_refuses_says_why_and_changes_nothing(catalog: Catalog) -> None:
    messenger = FakeMessenger()
    worker = fulfilment(catalog, messenger)
    order = await worker.take_payment(await paid(catalog, "E1"))
    messenger.refund_outcomes = [Outcome.failed("CHARGE_NOT_FOUND")]
    refused = await worker.refund(order, by=ADMIN)
    assert refused.outcome.status is Status.FAILED and refused.outcome.detail == "CHARGE_NOT_FOUND"
    assert refused.order.status is OrderStatus.PAID
    done = await worker.refund(order, by=ADMIN)
    assert done.outcome.ok and done.order.status is OrderStatus.REFUNDED


async def test_shipping_and_the_preparation_clip_reach_the_shopper(catalog: Catalog) -> None:
    messenger = FakeMessenger()
    worker = fulfilment(catalog, messenger)
    order = await worker.take_payment(await paid(catalog))
    shipped = await catalog.orders.ship(MERCHANT, order.id, "1Z999AA10123456784")
    await worker.shipped(shipped)
    assert messenger.to(SHOPPER)[-1] == (
        f"🚚 Your order {order.number} from Roast Co has shipped! "
        "Tracking number: <code>1Z999AA10123456784</code>"
    )
    outcome = await worker.share_preparation_clip(order, "video-file-id")
    assert outcome.ok
    assert messenger.requests[-1].media == Media(MediaKind.VIDEO, "video-file-id")
    assert messenger.requests[-1].text == f"🎬 The shop filmed packing your order {order.number}!"
