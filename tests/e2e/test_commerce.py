"""Buying in the chat and following shop links, against the real bot process.

One bot (polling) serves most tests, with a payment provider, an admin, a public URL and
a merchant owner for the coffee roaster. The crash tests start their own processes.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
import pytest_asyncio

from reelcart.launch import BotProcess
from reelcart.sandbox import BotApiError, SandboxServer, SimulatedUser
from reelcart.sandbox.views import BotMessage
from tests.e2e.conftest import Template

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PROVIDER = "284685063:TEST:reelcart-e2e"
MERCHANT_ID = 7001  # owns roastandpour (coffee)
ADMIN_ID = 7002
_ids = itertools.count(7100)


def sql(db_path: Path, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(query, params).fetchall()


@dataclass
class Shop:
    server: SandboxServer
    bot: BotProcess
    db_path: Path
    merchant: SimulatedUser
    admin: SimulatedUser

    def product(self, sku: str) -> int:
        return int(sql(self.db_path, "SELECT id FROM products WHERE sku = ?", sku)[0][0])

    def stock(self, sku: str) -> int:
        return int(sql(self.db_path, "SELECT stock FROM products WHERE sku = ?", sku)[0][0])

    def orders_of(self, user_id: int) -> list[tuple]:
        return sql(
            self.db_path,
            "SELECT id, status, total_minor, currency FROM orders WHERE user_id = ? ORDER BY id",
            user_id,
        )

    def set(self, sku: str, column: str, value: object) -> None:
        assert column in {"price_minor", "stock", "status", "currency"}
        sql(self.db_path, f"UPDATE products SET {column} = ? WHERE sku = ?", value, sku)

    def shopper(self, name: str = "Ines", language: str = "en") -> SimulatedUser:
        return SimulatedUser(self.server, next(_ids), name, language_code=language)


def bot_env(**extra: str) -> dict[str, str]:
    return {
        "REELCART_PAYMENT_PROVIDER_TOKEN": PROVIDER,
        "REELCART_ADMIN_IDS": str(ADMIN_ID),
        **extra,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(template: Template, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    db_path = template.copy_to(tmp_path_factory.mktemp("commerce"))
    sql(db_path, "UPDATE merchants SET owner_user_id = ? WHERE name = 'roastandpour'", MERCHANT_ID)
    async with SandboxServer() as server:
        bot = BotProcess(server.root_url, server.token, db_path, extra_env=bot_env())
        bot.extra_env["REELCART_PUBLIC_URL"] = bot.base_url  # tracked shop links
        await bot.start()
        merchant = SimulatedUser(server, MERCHANT_ID, "Marco")
        admin = SimulatedUser(server, ADMIN_ID, "Ada")
        for person in (merchant, admin):
            await person.send_command("/start")
            await person.wait_for()
        try:
            yield Shop(server, bot, db_path, merchant, admin)
        finally:
            assert await bot.stop() == 0, bot.tail()


async def open_card(user: SimulatedUser, product_id: int) -> BotMessage:
    await user.send_command("/start", f"p_{product_id}")
    return await user.wait_for(lambda m: m.media_kind is not None)


async def invoice_for(user: SimulatedUser, product_id: int) -> BotMessage:
    card = await open_card(user, product_id)
    answer = await user.press(card, "🛒")
    assert answer.text and answer.text.startswith(("🛒 Here is your invoice", "🛒 Voici")), answer
    return await user.wait_for(lambda m: m.invoice is not None)


async def bot_call(server: SandboxServer, method: str, **params: object) -> Any:
    """Call the Bot API as the bot, waiting out flood control like a bot would."""
    while True:
        try:
            return await server.call(method, **params)
        except BotApiError as exc:
            if exc.error_code != 429:
                raise
            await asyncio.sleep(float((exc.parameters or {}).get("retry_after", 1)))


def receipts(user: SimulatedUser) -> list[BotMessage]:
    return [m for m in user.messages if m.text.startswith("🧾 Receipt")]


# -- 1. buying in the chat -----------------------------------------------------------------


async def test_a_physical_product_is_paid_by_card_with_shipping(shop: Shop) -> None:
    user = shop.shopper("Ines")
    stock = shop.stock("COF-001")
    invoice = await invoice_for(user, shop.product("COF-001"))
    assert invoice.invoice is not None
    assert (invoice.invoice["currency"], invoice.invoice["total_amount"]) == ("EUR", 1450)
    assert [b["text"] for b in invoice.buttons] == ["Pay €14.50", "🧺 Add to basket instead"]

    paid = await user.pay(invoice, shipping_option_id="express", timeout=5)
    assert paid.ok and paid.total_amount == 1450 + 990
    assert paid.pre_checkout_latency is not None and paid.pre_checkout_latency < 2
    receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    number = receipt.text.split("order ", 1)[1].split(" ", 1)[0]
    assert "Ethiopia Yirgacheffe Whole Bean Coffee ×1: €14.50" in receipt.text
    assert "Shipping (Express (1-2 days)): €9.90" in receipt.text
    assert "Total paid: €24.40" in receipt.text
    assert "Ship to: Ines, 1 Rue de Rivoli, 75001 Paris, FR" in receipt.text
    assert {b["text"] for b in receipt.buttons} == {"✅ Yes, share it", "🙅 Keep it private"}
    assert shop.stock("COF-001") == stock - 1

    notice = await shop.merchant.wait_for(lambda m: f"New order {number}" in m.text)
    assert "from Ines" in notice.text and "1 Rue de Rivoli, 75001 Paris, FR" in notice.text
    assert "Total paid: €24.40" in notice.text
    assert notice.buttons[0]["text"] == f"📦 Mark {number} shipped"

    await user.send_command("/orders")
    listing = await user.wait_for(lambda m: m.text.startswith("📦 Your orders"))
    assert [b["text"] for b in listing.buttons] == [
        f"{number} · Ethiopia Yirgacheffe Wh… · €24.40 · 💳 paid, being prepared"
    ]


async def test_the_merchant_ships_with_a_tracking_number_and_the_shopper_is_told(
    shop: Shop,
) -> None:
    user = shop.shopper("Jon")
    invoice = await invoice_for(user, shop.product("COF-002"))
    assert (await user.pay(invoice, timeout=5)).ok
    receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    number = receipt.text.split("order ", 1)[1].split(" ", 1)[0]
    merchant = shop.merchant

    await merchant.send_command("/sales")
    sales = await merchant.wait_for(lambda m: m.text.startswith("🛍 Orders of roastandpour"))
    assert f"{number} · 💳 paid, being prepared · €17.80" in sales.text
    await merchant.press(sales, f"📦 Mark {number} shipped")
    prompt = await merchant.wait_for(lambda m: m.text.startswith("📦✏️"))
    await merchant.send_text("<b>", reply_to=prompt)
    # (Other tests' orders reach this merchant too: wait for the answer, not any message.)
    bad = await merchant.wait_for(lambda m: m.text.startswith("A tracking number"))
    assert bad.text.startswith("A tracking number is 3 to 64")
    await merchant.send_text("1Z999AA10123456784", reply_to=prompt)
    done = await merchant.wait_for(lambda m: m.text.startswith("✅ Order"))
    assert done.text == (
        f"✅ Order {number} is marked shipped (tracking 1Z999AA10123456784); the shopper was told."
    )
    told = await user.wait_for(lambda m: m.text.startswith("🚚"))
    assert told.text == (
        f"🚚 Your order {number} from roastandpour has shipped! Tracking number: 1Z999AA10123456784"
    )
    # The command form updates the tracking number.
    await merchant.send_command("/sales", f"ship {number} LX123456789FR")
    updated = await merchant.wait_for(lambda m: "LX123456789FR" in m.text)
    assert updated.text.startswith("✅ Order")
    await user.send_command("/orders", number)
    details = await user.wait_for(lambda m: "Status:" in m.text)
    assert "Status: 🚚 shipped" in details.text
    assert "Tracking number: LX123456789FR" in details.text


async def test_a_digital_product_is_paid_in_stars_and_a_duplicate_makes_one_order(
    shop: Shop,
) -> None:
    user = shop.shopper("Kim")
    invoice = await invoice_for(user, shop.product("BOK-007"))  # €2.99
    assert invoice.invoice is not None
    assert (invoice.invoice["currency"], invoice.invoice["total_amount"]) == ("XTR", 150)
    paid = await user.pay(invoice, duplicate_delivery=True, timeout=5)
    assert paid.ok and paid.currency == "XTR"
    receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    assert "Poems for Rainy Tuesdays ×1: ⭐ 150" in receipt.text
    assert "Total paid: ⭐ 150" in receipt.text and not receipt.buttons
    await user.send_command("/orders")
    await user.wait_for(lambda m: m.text.startswith("📦 Your orders"))
    assert len(receipts(user)) == 1  # the duplicate update made no second receipt...
    assert [row[1:] for row in shop.orders_of(user.id)] == [("paid", 150, "XTR")]  # ...nor order


async def test_the_basket_gathers_one_merchants_products_and_pays_once(shop: Shop) -> None:
    user = shop.shopper("Lou")
    first = await invoice_for(user, shop.product("COF-005"))
    added = await user.press(first, "🧺")
    assert (
        added.text
        == "🧺 Added. Your basket: 1 item(s) from roastandpour. Send /basket to pay once."
    )
    second = await invoice_for(user, shop.product("COF-008"))
    await user.press(second, "🧺")
    other = await invoice_for(user, shop.product("PLT-002"))
    refused = await user.press(other, "🧺")
    assert refused.text is not None and refused.text.startswith(
        "🧺 Your basket holds products from roastandpour"
    )
    await user.send_command("/basket")
    basket = await user.wait_for(lambda m: m.text.startswith("🧺 Your basket at roastandpour"))
    assert "Total: €24.90 + shipping" in basket.text
    await user.press(basket, "💳 Pay")
    invoice = await user.wait_for(lambda m: m.invoice is not None)
    assert invoice.invoice is not None and invoice.invoice["total_amount"] == 1100 + 1390
    paid = await user.pay(invoice, shipping_option_id="standard", timeout=5)
    assert paid.ok and paid.total_amount == 2490 + 490
    receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    assert "Cold Brew Coffee Pouches, Coarse Grind ×1: €11.00" in receipt.text
    assert "Sumatra Mandheling Dark Roast Coffee ×1: €13.90" in receipt.text
    assert len(shop.orders_of(user.id)) == 1
    await user.send_command("/basket")
    assert (await user.wait_for()).text.startswith("🧺 Your basket is empty")


# -- 2. pre-checkout: forged, changed, sold out, paused, unknown currency ------------------


async def test_a_forged_or_borrowed_invoice_is_declined_before_money_moves(shop: Shop) -> None:
    owner, thief = shop.shopper("Mia"), shop.shopper("Ned")
    mine = await invoice_for(owner, shop.product("BOK-001"))
    await thief.send_command("/start")
    await thief.wait_for()
    payload = shop.server.state.chats[owner.id].find(mine.message_id).invoice.payload  # type: ignore[union-attr]
    for forged in (payload, payload[:-2] + "xx", "rc1.1.AAAAAAAAAAAAAAAAAAAAAA"):
        sent = await bot_call(
            shop.server,
            "sendInvoice",
            chat_id=thief.id,
            title="Free book",
            description="Forged",
            payload=forged,
            currency="XTR",
            prices=[{"label": "Book", "amount": 1}],
        )
        result = await thief.pay(sent["message_id"], timeout=5)
        assert result.status == "declined", result
        assert result.error_message == (
            "This invoice wasn't issued to you by reelcart, so it can't be paid. "
            "Tap 🛒 on a card for your own."
        )
    assert shop.orders_of(thief.id) == []
    assert not shop.server.state.star_charges or all(
        charge.user_id != thief.id for charge in shop.server.state.star_charges.values()
    )


async def test_what_changed_since_the_invoice_is_declined_with_the_reason(shop: Shop) -> None:
    user = shop.shopper("Oli", language="fr")
    cases = [
        ("HPH-006", "price_minor", 4290, "Le prix de « Kids Volume-Limited Wireless Headphones "
         "» est passé à 42,90\u00a0€ depuis ta facture."),
        ("HPH-008", "stock", 0, "Désolé, « Dual-Driver Wired In-Ear Monitors » a été épuisé "
         "pendant ton paiement."),
        ("HPH-002", "status", "paused", "« True Wireless Earbuds with Charging Case » n'est plus "
         "en vente."),
        ("HPH-007", "currency", "XYZ", "Les prix en XYZ ne peuvent pas être payés dans le chat."),
    ]  # fmt: skip
    for sku, column, value, reason in cases:
        stock = shop.stock(sku)
        invoice = await invoice_for(user, shop.product(sku))
        shop.set(sku, column, value)  # the merchant changes it meanwhile
        result = await user.pay(invoice, timeout=5)
        assert result.status == "declined", (sku, result)
        assert result.error_message is not None and result.error_message.startswith(reason)
        assert shop.stock(sku) == (0 if column == "stock" else stock)
    assert shop.orders_of(user.id) == []
    # And a product in a currency Telegram doesn't take can't even get an invoice.
    card = await open_card(user, shop.product("HPH-007"))
    answer = await user.press(card, "🛒")
    assert answer.show_alert and answer.text is not None
    assert answer.text.startswith("Les prix en XYZ ne peuvent pas être payés dans le chat.")


# -- 3. orders that are never lost, never doubled -------------------------------------------


async def test_the_last_item_paid_twice_in_stars_refunds_the_second(shop: Shop) -> None:
    shop.set("CRS-002", "stock", 1)
    a, b = shop.shopper("Pia"), shop.shopper("Quin")
    invoices = [await invoice_for(a, shop.product("CRS-002")),
                await invoice_for(b, shop.product("CRS-002"))]  # fmt: skip
    results = await asyncio.gather(a.pay(invoices[0], timeout=5), b.pay(invoices[1], timeout=5))
    assert all(result.ok for result in results)  # both passed pre-checkout
    outcomes = [
        await user.wait_for(lambda m: m.text.startswith(("🧾 Receipt", "😔"))) for user in (a, b)
    ]
    texts = sorted(message.text[0] for message in outcomes)
    assert texts == ["😔", "🧾"], [m.text for m in outcomes]
    loser = outcomes[0] if outcomes[0].text.startswith("😔") else outcomes[1]
    assert "sold out just before your payment went through, so your ⭐ 1950 were refunded" in (
        loser.text
    )
    charges = shop.server.state.star_charges
    refunded = [c for c in charges.values() if c.refunded and c.user_id in (a.id, b.id)]
    assert len(refunded) == 1
    assert shop.stock("CRS-002") == 0
    statuses = sorted(row[1] for user in (a, b) for row in shop.orders_of(user.id))
    assert statuses == ["paid", "refunded"]


async def test_the_last_item_paid_twice_by_card_is_flagged_to_merchant_and_admins(
    shop: Shop,
) -> None:
    shop.set("COF-006", "stock", 1)
    a, b = shop.shopper("Rae"), shop.shopper("Sol")
    invoices = [await invoice_for(a, shop.product("COF-006")),
                await invoice_for(b, shop.product("COF-006"))]  # fmt: skip
    results = await asyncio.gather(a.pay(invoices[0], timeout=5), b.pay(invoices[1], timeout=5))
    assert all(result.ok for result in results)
    outcomes = [
        await user.wait_for(lambda m: m.text.startswith(("🧾 Receipt", "😔"))) for user in (a, b)
    ]
    loser = next(m for m in outcomes if m.text.startswith("😔"))
    assert "sold out just before. The shop and our team were told" in loser.text
    number = loser.text.split("order ", 1)[1].split(" ", 1)[0]
    flagged = await shop.merchant.wait_for(lambda m: m.text.startswith(f"⚠️ Order {number}"))
    assert "needs attention" in flagged.text and "sold out" in flagged.text
    admin = await shop.admin.wait_for(lambda m: m.text.startswith(f"⚠️ Order {number}"))
    assert "€22.70 by card" in admin.text  # €17.80 + €4.90 standard shipping
    statuses = sorted(row[1] for user in (a, b) for row in shop.orders_of(user.id))
    assert statuses == ["needs_attention", "paid"] and shop.stock("COF-006") == 0


async def test_nobody_sees_another_shoppers_order(shop: Shop) -> None:
    owner, other = shop.shopper("Tea"), shop.shopper("Uma")
    invoice = await invoice_for(owner, shop.product("BOK-002"))
    assert (await owner.pay(invoice, timeout=5)).ok
    receipt = await owner.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    order_id = receipt.text.split("order #", 1)[1].split(" ", 1)[0]
    await other.send_command("/orders", f"#{order_id}")
    refused = await other.wait_for()
    assert refused.text == "That order isn't among yours. /orders lists your orders."
    for data in (f"or:show:{order_id}", f"or:clip:{order_id}:y"):
        answer = await other.press_data(refused, data)
        assert answer.text == "That order isn't among yours. /orders lists your orders."
    await other.send_command("/sales", f"ship {order_id} 1Z999AA1")
    assert (await other.wait_for()).text == (
        "This is for merchants. Send /merchant to apply for a shop."
    )
    await other.send_command("/orders")
    assert (await other.wait_for()).text == "You have no orders yet. Tap 🛒 on a card to buy."
    # A merchant sees only its own shop's orders: this book is not the roaster's.
    await shop.merchant.send_command("/sales", f"ship {order_id} 1Z999AA1")
    reply = await shop.merchant.wait_for(lambda m: "not one of your shop's orders" in m.text)
    assert reply.text == f"Order #{order_id} is not one of your shop's orders."
    assert shop.orders_of(owner.id)[0][1] == "paid"


# -- 3b. admins refund Stars -----------------------------------------------------------------


async def test_an_admin_refunds_a_stars_payment_and_others_cannot(shop: Shop) -> None:
    user = shop.shopper("Val")
    invoice = await invoice_for(user, shop.product("BOK-003"))
    paid = await user.pay(invoice, timeout=5)
    receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    number = receipt.text.split("order ", 1)[1].split(" ", 1)[0]

    # A shopper pressing the admin button (forged, or an old panel) is politely refused.
    refused = await user.press_data(receipt, "adm:refunds")
    assert refused.show_alert and refused.text == "Sorry, this is for reelcart admins only."
    order_id = number.lstrip("#")
    refused = await user.press_data(receipt, f"adm:refunds:y:{order_id}")
    assert refused.text == "Sorry, this is for reelcart admins only."
    assert shop.orders_of(user.id)[0][1] == "paid"

    admin = shop.admin
    anchor = admin.last_message
    assert anchor is not None
    await admin.press_data(anchor, "adm:refunds")
    panel = await admin.wait_for(lambda m: m.text.startswith("↩️ Stars payments you can refund"))
    await admin.press(panel, number)
    confirm = await admin.wait_for(lambda m: m.text.startswith("Refund ⭐ 300 to Val"))
    done = await admin.press(confirm, "↩️ Refund")
    assert done.text == f"✅ Order {number} refunded: ⭐ 300 back to Val."
    told = await user.wait_for(lambda m: m.text.startswith("↩️"))
    assert told.text == f"↩️ Your ⭐ 300 for order {number} were refunded."
    assert shop.orders_of(user.id)[0][1] == "refunded"
    assert paid.telegram_payment_charge_id is not None
    assert shop.server.state.star_charges[paid.telegram_payment_charge_id].refunded
    again = await admin.press_data(anchor, f"adm:refunds:y:{order_id}")
    assert again.text == f"Order {number} was refunded already."


# -- 4. the shop link ---------------------------------------------------------------------


async def test_a_shop_link_counts_the_click_and_redirects_with_utm(shop: Shop) -> None:
    user = shop.shopper("Wes")
    product_id = shop.product("PLT-001")
    card = await open_card(user, product_id)
    url = str(card.button("🔗")["url"])
    assert url.startswith(f"{shop.bot.base_url}/go/")

    def clicks() -> int:
        return len(sql(shop.db_path, "SELECT 1 FROM events WHERE user_id = ? AND "
                       "product_id = ? AND kind = 'shop_click'", user.id, product_id))  # fmt: skip

    async with aiohttp.ClientSession() as session:
        async with session.get(url, allow_redirects=False) as response:
            assert response.status == 302
            target = urlsplit(response.headers["Location"])
        assert (target.netloc, target.path) == (
            "greenhall.example",
            "/products/monstera-deliciosa-in-17-cm-pot",
        )
        assert dict(parse_qsl(target.query)) == {
            "utm_source": "telegram",
            "utm_medium": "reelcart",
            "utm_campaign": "greenhall",
            "utm_content": "PLT-001",
        }
        assert clicks() == 1
        token = url.rsplit("/", 1)[1]
        product, who, issued, signature = token.split(".")
        for bad in (
            f"{product}.{who}.{issued}.{signature[::-1]}",
            f"{product}.{who}1.{issued}.{signature}",
            token[:-1],
            "nothing",
        ):
            async with session.get(f"{shop.bot.base_url}/go/{bad}", allow_redirects=False) as r:
                assert r.status == 404, bad
    assert clicks() == 1


# -- 5. order-preparation clips -------------------------------------------------------------


async def test_a_preparation_clip_reaches_the_shopper_and_with_consent_the_feed(
    shop: Shop,
) -> None:
    from reelcart import demo_data

    user = shop.shopper("Xia")
    invoice = await invoice_for(user, shop.product("COF-007"))
    assert (await user.pay(invoice, timeout=5)).ok
    receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    number = receipt.text.split("order ", 1)[1].split(" ", 1)[0]
    consent = await user.press(receipt, "✅ Yes, share it")
    assert consent.text == (
        f"✅ Thanks! The packing clip of order {number} may appear in other shoppers' feeds."
    )
    clip = demo_data.clip_path("COF-007")
    assert clip is not None
    stranger = shop.shopper("Yan")
    await stranger.send_command("/start")
    await stranger.wait_for()
    await stranger.send_video("packing.mp4", clip.read_bytes(), caption=number, duration=3)
    assert (await stranger.wait_for()).text == (
        f"Only the shop of order {number} can send its packing clip."
    )
    merchant = shop.merchant
    await merchant.send_video("packing.mp4", clip.read_bytes(), caption=number, duration=3,
                              width=240, height=426)  # fmt: skip
    saved = await merchant.wait_for(lambda m: m.text.startswith("🎬 Clip saved"))
    assert "it may appear in other shoppers' feeds" in saved.text
    sent = await user.wait_for(lambda m: m.media_kind == "video")
    assert sent.text == f"🎬 The shop filmed packing your order {number}!"

    # Other shoppers see it on the product's card every other time it comes up.
    viewer = shop.shopper("Zoe")
    cards = [await open_card(viewer, shop.product("COF-007")) for _ in range(2)]
    social = [card for card in cards if card.text.startswith("📦 Packed for a shopper")]
    assert len(social) == 1
    assert social[0].file_id == sent.file_id
    labels = [str(b["text"]).split(" ")[0] for b in social[0].buttons]
    assert labels[:4] == ["❤️", "👎", "⏭", "🛒"]  # a full card, linked to the product


# -- 3c. a crash between the payment and the order write -------------------------------------


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_crash_between_payment_and_order_write_loses_and_doubles_nothing(
    template: Template, tmp_path: Path, mode: str
) -> None:
    db_path = template.copy_to(tmp_path)
    webhook = mode == "webhook"
    async with SandboxServer() as server:
        crashing = BotProcess(
            server.root_url,
            server.token,
            db_path,
            webhook=webhook,
            extra_env=bot_env(REELCART_TEST_CRASH="before_order_write"),
        )
        await crashing.start()
        user = SimulatedUser(server, 7900, "Ada")
        product_id = int(sql(db_path, "SELECT id FROM products WHERE sku = 'BOK-004'")[0][0])
        invoice = await invoice_for(user, product_id)
        paid = await user.pay(invoice, timeout=5)
        assert paid.ok and paid.update_id is not None
        assert await crashing.wait_exit(30) == 70, crashing.tail()
        assert sql(db_path, "SELECT count(*) FROM orders") == [(0,)]
        # The worst case: Telegram already counts the update as received, never resends it.
        server.state.updates.confirm(paid.update_id + 1)

        restarted = BotProcess(
            server.root_url, server.token, db_path, webhook=webhook, extra_env=bot_env()
        )
        await restarted.start()
        try:
            receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"), timeout=30)
            assert "Total paid: ⭐ 425" in receipt.text
            # ...and when Telegram does deliver it again, still one order, one receipt.
            await redeliver_and_fence(user, paid.update_id)
        finally:
            # The fence: a graceful stop finishes every update taken from the queue,
            # the redelivered payment among them (it came before /orders).
            assert await restarted.stop() == 0, restarted.tail()
        assert len(receipts(user)) == 1
        rows = sql(db_path, "SELECT charge_id, status FROM orders")
        assert rows == [(paid.telegram_payment_charge_id, "paid")]


async def redeliver_and_fence(user: SimulatedUser, update_id: int) -> None:
    """Telegram delivers the payment update again; /orders, sent after it, is answered
    only once the bot has taken the redelivered update from the queue."""
    user.redeliver(update_id)
    await user.send_command("/orders")
    listing = await user.wait_for(lambda m: m.text.startswith("📦 Your orders"))
    assert len(listing.buttons) == 1


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for recorded state (the database) to satisfy ``condition``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


# The moments of a payment, in order, and what the recovery owes after a crash at each.
MOMENTS = [
    "before_order_write",  # journaled, no order: the recovery makes it and tells everyone
    "after_order_write",  # an order, nobody told yet
    "after_receipt_send",  # the receipt went out, not recorded yet: never sent again
    "after_receipt_recorded",  # the merchant not told yet
    "after_merchant_notice",  # the merchant told, not recorded: told again (at least once)
]


@pytest.mark.parametrize("moment", MOMENTS)
async def test_a_crash_at_any_moment_of_a_payment_makes_one_order_and_one_receipt(
    template: Template, tmp_path: Path, moment: str
) -> None:
    db_path = template.copy_to(tmp_path)
    product_id, merchant_id = sql(
        db_path, "SELECT id, merchant_id FROM products WHERE sku = 'BOK-004'"
    )[0]
    sql(db_path, "UPDATE merchants SET owner_user_id = ? WHERE id = ?", MERCHANT_ID, merchant_id)
    async with SandboxServer() as server:
        crashing = BotProcess(
            server.root_url, server.token, db_path, extra_env=bot_env(REELCART_TEST_CRASH=moment)
        )
        await crashing.start()
        merchant = SimulatedUser(server, MERCHANT_ID, "Marco")
        await merchant.send_command("/start")
        await merchant.wait_for()
        user = SimulatedUser(server, 7901, "Ada")
        paid = await user.pay(await invoice_for(user, int(product_id)), timeout=5)
        assert paid.ok and paid.update_id is not None
        assert await crashing.wait_exit(30) == 70, crashing.tail()
        server.state.updates.confirm(paid.update_id + 1)  # Telegram will not send it again

        def recovered() -> bool:
            return sql(
                db_path,
                "SELECT count(*) FROM orders WHERE receipt_sent_at IS NOT NULL "
                "AND merchant_notified_at IS NOT NULL",
            ) == [(1,)]

        restarted = BotProcess(server.root_url, server.token, db_path, extra_env=bot_env())
        await restarted.start()
        try:
            receipt = await user.wait_for(lambda m: m.text.startswith("🧾 Receipt"), timeout=30)
            assert "Total paid: ⭐ 425" in receipt.text
            await until(recovered)
            await redeliver_and_fence(user, paid.update_id)
        finally:
            assert await restarted.stop() == 0, restarted.tail()
        assert len(receipts(user)) == 1, [m.text[:40] for m in receipts(user)]
        rows = sql(db_path, "SELECT charge_id, status FROM orders")
        assert rows == [(paid.telegram_payment_charge_id, "paid")]
        notices = [m for m in merchant.messages if m.text.startswith("🛍 New order")]
        assert len(notices) == (2 if moment == "after_merchant_notice" else 1), moment
