"""The demo's shopping scene: buy by card and in Stars, follow a tracked shop link.

Played after the feed scene by ``reelcart demo``: Camille buys a bag of coffee (card,
shipping address, express shipping) and an e-book (Telegram Stars), the roaster's owner
gets the order and ships it, and Camille's tap on 🔗 goes through reelcart's ``/go/`` link,
which counts the click and redirects to the shop with UTM parameters.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiohttp

from reelcart.demo.transcript import DemoContext, Transcript, plain
from reelcart.domain import Money
from reelcart.i18n import format_price
from reelcart.sandbox import SimulatedUser
from reelcart.sandbox.views import BotMessage
from reelcart.storage.database import open_database
from reelcart.storage.merchants import merchant_by_name, set_merchant_owner
from reelcart.storage.store import Store

SHOPPER_ID = 424242  # Camille, from the feed scene
MERCHANT_ID = 900002
MERCHANT = "roastandpour"
PHYSICAL, DIGITAL, LINKED = "COF-001", "BOK-007", "PLT-001"


def _query(db_path: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, params).fetchall()


def _product(db_path: Path, sku: str) -> tuple[int, str]:
    row = _query(db_path, "SELECT id, title FROM products WHERE sku = ?", sku)[0]
    return int(row[0]), str(row[1])


def _give_owner(db_path: Path, merchant: str, user_id: int) -> None:
    """Make ``user_id`` the owner of ``merchant`` (the bot process shares the WAL file)."""
    db = open_database(db_path)
    try:
        store = Store(db)
        found = merchant_by_name(store, merchant, create=False)
        assert found is not None
        set_merchant_owner(store, found.id, user_id)
    finally:
        db.close()


def _bot(transcript: Transcript, message: BotMessage, limit: int, prefix: str = "🤖 ") -> None:
    lines = [line for line in plain(message.text).splitlines() if line.strip()]
    for index, line in enumerate(lines[:limit]):
        transcript.say((prefix if index == 0 else "   ") + line)


async def _buy(shopper: SimulatedUser, product_id: int) -> BotMessage:
    await shopper.send_command("/start", f"p_{product_id}")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    await shopper.press(card, "🛒")
    return await shopper.wait_for(lambda m: m.invoice is not None)


async def commerce_scene(ctx: DemoContext) -> None:
    """Buy one physical and one digital product, ship one, follow one shop link."""
    say = ctx.transcript.say
    server, db_path = ctx.server, ctx.db_path
    say("🛒 Buying in the chat (the sandbox plays Telegram Payments: a test card, test Stars)")
    await asyncio.to_thread(_give_owner, db_path, MERCHANT, MERCHANT_ID)
    merchant = SimulatedUser(server, MERCHANT_ID, "Marco", language_code="en")
    await merchant.send_command("/start")
    await merchant.wait_for()
    say(f"👤 Marco runs the shop “{MERCHANT}” on reelcart and has started the bot")

    shopper = SimulatedUser(server, SHOPPER_ID, "Camille", language_code="en")
    say("👤 Camille: /lang → English")
    await shopper.send_command("/lang")
    prompt = await shopper.wait_for(lambda m: bool(m.buttons))
    await shopper.press(prompt, "l:en")
    await shopper.wait_for(lambda m: m.message_id == prompt.message_id)

    coffee_id, coffee = _product(db_path, PHYSICAL)
    say(f"👤 Camille opens “{coffee}” and taps 🛒")
    invoice = await _buy(shopper, coffee_id)
    say(f"🤖 invoice “{invoice.invoice and invoice.invoice['title']}”   [{_labels(invoice)}]")
    paid = await shopper.pay(invoice, shipping_option_id="express", timeout=10)
    latency = (paid.pre_checkout_latency or 0) * 1000
    total = format_price(Money(paid.total_amount, paid.currency), "en")
    say(
        f"👤 Camille pays by card, ships to Paris, picks Express → {total} "
        f"(pre-checkout answered in {latency:.0f} ms)"
    )
    receipt = await shopper.wait_for(lambda m: m.text.startswith("🧾"))
    _bot(ctx.transcript, receipt, 6)
    number = receipt.text.split("order ", 1)[1].split(" ", 1)[0]
    notice = await merchant.wait_for(lambda m: f"New order {number}" in m.text)
    _bot(ctx.transcript, notice, 7, prefix="🤖 → Marco: ")

    book_id, book = _product(db_path, DIGITAL)
    say(f"👤 Camille opens the e-book “{book}” and taps 🛒")
    invoice = await _buy(shopper, book_id)
    say(f"🤖 invoice “{invoice.invoice and invoice.invoice['title']}”   [{_labels(invoice)}]")
    paid = await shopper.pay(invoice, timeout=10)
    say(f"👤 Camille pays ⭐ {paid.total_amount} in Telegram Stars")
    receipt = await shopper.wait_for(lambda m: m.text.startswith("🧾"))
    _bot(ctx.transcript, receipt, 3)

    say(f"👤 Marco: /sales ship {number} 1Z999AA10123456784")
    await merchant.send_command("/sales", f"ship {number} 1Z999AA10123456784")
    await merchant.wait_for()
    shipped = await shopper.wait_for(lambda m: m.text.startswith("🚚"))
    _bot(ctx.transcript, shipped, 1, prefix="🤖 → Camille: ")

    say("👤 Camille: /orders")
    await shopper.send_command("/orders")
    orders = await shopper.wait_for(lambda m: m.text.startswith("📦"))
    _bot(ctx.transcript, orders, 1)
    for button in orders.buttons[:2]:
        say(f"   • {button['text']}")

    plant_id, plant = _product(db_path, LINKED)
    await shopper.send_command("/start", f"p_{plant_id}")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    link = str(card.button("🔗")["url"])
    shown = link if len(link) < 60 else link[:57] + "…"
    say(f"👤 Camille taps 🔗 Shop on “{plant}” → GET {shown}")
    async with (
        aiohttp.ClientSession() as session,
        session.get(link, allow_redirects=False) as response,
    ):
        location = response.headers.get("Location", "")
        say(f"🌐 {response.status} → {location}")
    clicks, shop = _query(
        db_path,
        "SELECT count(*), m.name FROM events e JOIN products p ON p.id = e.product_id "
        "JOIN merchants m ON m.id = p.merchant_id WHERE e.kind = 'shop_click' AND p.id = ?",
        plant_id,
    )[0]
    say(f"📈 shop clicks counted for “{plant}”: {clicks} (for the ranking and {shop}'s stats)")


def _labels(message: BotMessage) -> str:
    return " | ".join(str(button["text"]) for button in message.buttons)
