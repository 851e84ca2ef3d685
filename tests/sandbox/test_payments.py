"""Telegram Payments: invoice rules, the checkout flow, duplicates, refunds."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, LabeledPrice, ShippingOption, Update
from telegram.error import BadRequest

from reelcart.sandbox import QueryDeadlines, SandboxServer, SimulatedUser

from .conftest import ALICE, answering

TEST_PROVIDER = "284685063:TEST:NjRhZTk4"


async def stars_invoice(bot: Bot, payload: str = "order-1", amount: int = 250) -> int:
    message = await bot.send_invoice(
        ALICE, "Sneaker", "White leather sneaker", payload, "XTR", [LabeledPrice("Sneaker", amount)]
    )
    assert message.invoice is not None and message.invoice.total_amount == amount
    return message.message_id


async def test_invoice_rules(bot: Bot, alice: SimulatedUser) -> None:
    price = [LabeledPrice("Sneaker", 250)]
    with pytest.raises(BadRequest, match=r"(?i)currency_invalid"):
        await bot.send_invoice(ALICE, "Sneaker", "d", "p", "ABC", price)
    with pytest.raises(BadRequest, match=r"(?i)stars_invoice_invalid"):
        await bot.send_invoice(
            ALICE, "Sneaker", "d", "p", "XTR", price, provider_token=TEST_PROVIDER
        )
    with pytest.raises(BadRequest, match=r"(?i)stars_invoice_invalid"):
        await bot.send_invoice(
            ALICE, "Sneaker", "d", "p", "XTR", [LabeledPrice("a", 1), LabeledPrice("b", 2)]
        )
    with pytest.raises(BadRequest, match=r"(?i)payment_provider_invalid"):
        await bot.send_invoice(ALICE, "Sneaker", "d", "p", "EUR", [LabeledPrice("a", 4900)])
    with pytest.raises(BadRequest, match=r"(?i)invoice title"):
        await bot.send_invoice(ALICE, "x" * 33, "d", "p", "XTR", price)
    with pytest.raises(BadRequest, match=r"(?i)invoice_payload_invalid"):
        await bot.send_invoice(ALICE, "Sneaker", "d", "p" * 129, "XTR", price)


async def test_stars_payment_with_duplicate_delivery(bot: Bot, alice: SimulatedUser) -> None:
    invoice_id = await stars_invoice(bot)
    payments: list[Update] = []
    both_seen = asyncio.Event()

    async def shop(update: Update) -> None:
        if update.pre_checkout_query is not None:
            assert update.pre_checkout_query.invoice_payload == "order-1"
            await update.pre_checkout_query.answer(ok=True)
        if update.message is not None and update.message.successful_payment is not None:
            payments.append(update)
            if len(payments) == 2:
                both_seen.set()

    async with answering(bot, shop):
        result = await alice.pay(invoice_id, duplicate_delivery=True, timeout=5)
        assert result.ok and result.total_amount == 250 and result.currency == "XTR"
        await asyncio.wait_for(both_seen.wait(), 5)
    first, second = payments
    assert first.update_id == second.update_id == result.update_id
    assert first.message is not None and first.message.successful_payment is not None
    paid = first.message.successful_payment
    assert paid.telegram_payment_charge_id == result.telegram_payment_charge_id
    assert paid.provider_payment_charge_id
    assert first.message.from_user is not None and first.message.from_user.id == ALICE
    transactions = await bot.get_star_transactions()
    assert [t.amount for t in transactions.transactions] == [250]


async def test_declined_and_refunded_payments(bot: Bot, alice: SimulatedUser) -> None:
    await stars_invoice(bot, "order-2")
    decline = True

    async def shop(update: Update) -> None:
        if update.pre_checkout_query is not None:
            if decline:
                await update.pre_checkout_query.answer(ok=False, error_message="Sold out")
            else:
                await update.pre_checkout_query.answer(ok=True)

    async with answering(bot, shop):
        declined = await alice.pay(alice.messages[-1], timeout=5)
        assert (declined.status, declined.error_message) == ("declined", "Sold out")
        decline = False
        paid = await alice.pay(alice.messages[-1], timeout=5)
        assert paid.ok
    assert paid.telegram_payment_charge_id is not None
    assert await bot.refund_star_payment(ALICE, paid.telegram_payment_charge_id)
    with pytest.raises(BadRequest, match=r"(?i)charge_already_refunded"):
        await bot.refund_star_payment(ALICE, paid.telegram_payment_charge_id)
    refunded = [u for u in await bot.get_updates() if u.message and u.message.refunded_payment]
    assert len(refunded) == 1


async def test_flexible_invoice_runs_the_shipping_query(bot: Bot, alice: SimulatedUser) -> None:
    await bot.send_invoice(
        ALICE,
        "Boots",
        "Leather boots",
        "order-3",
        "EUR",
        [LabeledPrice("Boots", 8900)],
        provider_token=TEST_PROVIDER,
        is_flexible=True,
        need_name=True,
    )
    seen: dict[str, object] = {}

    async def shop(update: Update) -> None:
        if update.shipping_query is not None:
            seen["address"] = update.shipping_query.shipping_address.city
            await update.shipping_query.answer(
                ok=True,
                shipping_options=[
                    ShippingOption("std", "Standard", [LabeledPrice("Shipping", 500)]),
                    ShippingOption("exp", "Express", [LabeledPrice("Shipping", 1500)]),
                ],
            )
        if update.pre_checkout_query is not None:
            seen["total"] = update.pre_checkout_query.total_amount
            seen["option"] = update.pre_checkout_query.shipping_option_id
            await update.pre_checkout_query.answer(ok=True)

    async with answering(bot, shop):
        result = await alice.pay(alice.messages[-1], shipping_option_id="exp", timeout=5)
    assert result.ok and result.total_amount == 10400
    assert seen == {"address": "Paris", "total": 10400, "option": "exp"}
    assert result.message is not None
    assert result.message["successful_payment"]["order_info"]["name"] == "Alice"
    assert result.provider_payment_charge_id and result.provider_payment_charge_id.startswith("ch_")


async def test_pre_checkout_deadline() -> None:
    deadlines = QueryDeadlines(pre_checkout=0.3)
    async with SandboxServer(limits=None, deadlines=deadlines) as server:
        shopper = SimulatedUser(server, ALICE, "Alice")
        await shopper.send_command("start")
        async with Bot(server.token, base_url=server.base_url) as bot:
            invoice_id = await stars_invoice(bot)
            result = await shopper.pay(invoice_id)
            assert result.status == "timeout" and not result.ok
            late = [u.pre_checkout_query for u in await bot.get_updates() if u.pre_checkout_query]
            with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                await late[0].answer(ok=True)
            assert not [
                u for u in await bot.get_updates() if u.message and u.message.successful_payment
            ]


async def test_invoice_link_can_be_paid(bot: Bot, alice: SimulatedUser) -> None:
    link = await bot.create_invoice_link(
        "Gift card", "A gift card", "gift-1", "XTR", [LabeledPrice("Gift card", 100)]
    )
    assert link.startswith("https://t.me/$")

    async def shop(update: Update) -> None:
        if update.pre_checkout_query is not None:
            await update.pre_checkout_query.answer(ok=True)

    async with answering(bot, shop):
        result = await alice.pay(link, timeout=5)
    assert result.ok and result.total_amount == 100
