"""What the shopper reads around buying: /orders with a bad argument, /forget's summary, and
how a card looks when its product is sold out or has no hashtags."""

from __future__ import annotations

from reelcart.domain import Language
from reelcart.handlers.feed import render
from reelcart.sandbox.views import BotMessage
from reelcart.storage.products import get_product
from tests.handlers.conftest import Harness


def product_id(harness: Harness, sku: str) -> int:
    found = harness.shop.db.call(
        lambda store: store.db.execute("SELECT id FROM products WHERE sku = ?", [sku]).fetchone()
    )
    return int(found[0])


async def open_card(harness: Harness, user_id: int, sku: str) -> BotMessage:
    shopper = harness.user(user_id)
    await shopper.send_command("/start", f"p_{product_id(harness, sku)}")
    return await shopper.wait_for(lambda m: m.media_kind is not None)


async def test_orders_with_something_that_is_not_a_number_says_how_to_use_it(
    harness: Harness,
) -> None:
    shopper = harness.user(2001)
    await shopper.send_command("/orders", "abc")
    reply = await shopper.wait_for()
    assert reply.text == (
        "“abc” is not an order number. Send /orders to list your orders, "
        "or /orders 12 to see order #12."
    )
    await shopper.send_command("/orders", "#999")  # a number, just not theirs
    assert (await shopper.wait_for()).text.startswith("That order isn't among yours.")


async def test_forget_counts_one_unpaid_invoice_in_the_singular(harness: Harness) -> None:
    shopper = harness.user(2002)
    card = await open_card(harness, shopper.id, "B1")  # digital: an invoice in Stars
    await shopper.press(card, "🛒")
    await shopper.wait_for(lambda m: m.invoice is not None)
    await shopper.send_command("/forget")
    confirm = await shopper.wait_for(lambda m: m.text.startswith("🗑 Erase everything"))
    await shopper.press(confirm, "🗑")
    done = await shopper.wait_for(lambda m: m.text.startswith("🗑 Erased:"))
    assert "• 1 invoice you did not pay" in done.text.splitlines()
    assert "checkouts" not in done.text and "(s)" not in done.text


def test_the_forget_summary_speaks_plural_in_both_languages() -> None:
    from reelcart.handlers.support.privacy import counted

    assert counted(Language.EN, "privacy.erased_checkouts", 3) == "3 invoices you did not pay"
    assert counted(Language.FR, "privacy.erased_checkouts", 1) == "1 facture non payée"
    assert counted(Language.FR, "privacy.erased_reactions", 1).startswith("1 réaction ")
    assert counted(Language.EN, "privacy.erased_shops", 1) == "your link to 1 shop (suspended)"


async def test_a_sold_out_card_offers_no_buy_button(harness: Harness) -> None:
    sold_out = await open_card(harness, 2003, "S3")  # stock 0
    labels = [str(b["text"]) for b in sold_out.buttons]
    assert not any(label.startswith("🛒") for label in labels), labels
    assert "Sold out" in sold_out.text
    in_stock = await open_card(harness, 2003, "S1")
    assert any(str(b["text"]).startswith("🛒") for b in in_stock.buttons)


async def test_a_card_without_hashtags_has_no_double_blank_line(harness: Harness) -> None:
    pid = product_id(harness, "P1")
    harness.shop.db.call(
        lambda store: store.db.execute("UPDATE products SET hashtags = '' WHERE id = ?", [pid])
    )
    product = harness.shop.db.call(get_product, pid)
    assert product.hashtags == ()
    text = render.caption(product, Language.EN)
    assert "\n\n\n" not in text
    assert text == (
        "<b>Monstera plant</b>\n€35.00 · Test Shop\n\nLarge leaf house plant for bright rooms"
    )


async def test_sales_and_upload_refuse_a_non_merchant_in_the_same_words(
    harness: Harness,
) -> None:
    stranger = harness.user(2004)
    answers = []
    for command in ("/sales", "/upload", "/sales"):
        await stranger.send_command(command)
        answers.append((await stranger.wait_for()).text)
    assert answers == ["This is for merchants. Send /merchant to apply for a shop."] * 3
    # Shipping an order, which goes through the same check, refuses the same way.
    await stranger.send_command("/sales", "ship 1 1Z999AA1")
    assert (await stranger.wait_for()).text == answers[0]
