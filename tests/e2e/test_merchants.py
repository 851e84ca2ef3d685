"""Merchants and admins run the shop from the chat: the real bot process, the sandbox, the
real model. Each test brings its own merchants and shoppers, so they do not depend on
each other's order; the admin is one person throughout."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from reelcart import demo_data
from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxLimits, SandboxServer, SimulatedUser
from reelcart.sandbox.views import BotMessage
from tests.e2e.conftest import Template

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ADMIN_ID = 910001
_ids = itertools.count(920001)
TEA_CSV = (demo_data.catalog_path().parent / "catalog_with_errors.csv").read_bytes()
CLIP = (demo_data.clip_path("COF-001") or Path()).read_bytes()


@dataclass
class Shop:
    server: SandboxServer
    bot: BotProcess
    db_path: Path
    admin: SimulatedUser

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql, params).fetchall()

    def value(self, sql: str, *params: object) -> object:
        found = self.query(sql, *params)
        return found[0][0] if found else None

    def file(self, message: BotMessage) -> bytes:
        """The bytes of a file the bot sent."""
        assert message.file_id is not None
        record = self.server.state.files.get(message.file_id)
        assert record is not None
        return record.data

    def user(self, name: str, language: str = "en") -> SimulatedUser:
        user_id = next(_ids)
        return SimulatedUser(
            self.server, user_id, name, username=f"{name.lower()}{user_id}", language_code=language
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(template: Template, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    db_path = template.copy_to(tmp_path_factory.mktemp("merchants"))
    # Every test's notifications land in the one admin's chat: at Telegram's ~1 message a
    # second per chat the suite would mostly wait. The bot-wide limit stays Telegram's.
    limits = SandboxLimits(per_chat_per_second=5.0, per_chat_burst=20)
    async with SandboxServer(limits=limits) as server:
        admin = SimulatedUser(server, ADMIN_ID, "Ada", username="ada_admin")
        server.state.open_chat(admin.account)  # she has talked to the bot before
        bot = BotProcess(
            server.root_url, server.token, db_path, extra_env={"REELCART_ADMIN_IDS": str(ADMIN_ID)}
        )
        await bot.start()
        try:
            yield Shop(server, bot, db_path, admin)
        finally:
            code = await bot.stop()
            (db_path.parent / "bot.log").write_text("\n".join(bot.log))
            assert code == 0, bot.tail()


# -- helpers -----------------------------------------------------------------------------------


def text_has(*parts: str) -> Callable[[BotMessage], bool]:
    return lambda message: all(part in message.text for part in parts)


async def become_merchant(shop: Shop, user: SimulatedUser, name: str) -> int:
    """Apply with /merchant in one go and have the admin approve; returns the merchant id."""
    await user.send_command("/merchant", f"{name} https://{name.lower().replace(' ', '')}.example")
    await user.wait_for(text_has("📨"))
    note = await shop.admin.wait_for(text_has(f"New shop: {name}"))
    await shop.admin.press(note, "✅")
    await user.wait_for(text_has("🎉"))
    merchant_id = shop.value("SELECT id FROM merchants WHERE name = ?", name)
    assert isinstance(merchant_id, int)
    return merchant_id


async def upload(user: SimulatedUser, filename: str, data: bytes) -> BotMessage:
    """Send a catalog file; the status message once it says how the import ended."""
    await user.send_document(filename, data)
    return await user.wait_for(lambda m: m.edited and m.text[:1] in ("✅", "❌"), timeout=60)


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def product_row(sku: str, title: str, price: str = "12.00", **extra: str) -> dict[str, str]:
    row = {
        "sku": sku, "title": title, "description": f"{title}, made with care.", "price": price,
        "currency": "EUR", "stock": "5", "hashtags": "#tea", "category": "tea",
        "kind": "physical", "shop_url": "",
    }  # fmt: skip
    row.update(extra)
    return row


def pid(shop: Shop, sku: str, merchant_id: int) -> int:
    found = shop.value(
        "SELECT id FROM products WHERE sku = ? AND merchant_id = ?", sku, merchant_id
    )
    assert isinstance(found, int), sku
    return found


async def set_trusted(shop: Shop, merchant_id: int, trusted: bool) -> None:
    """The admin trusts (or stops trusting) a merchant from the panel."""
    panel = shop.admin.last_message
    assert panel is not None
    answer = await shop.admin.press_data(panel, f"adm:mt:{merchant_id}:{int(trusted)}")
    assert answer.text is not None and ("trusted" in answer.text), answer
    assert shop.value("SELECT trusted FROM merchants WHERE id = ?", merchant_id) == int(trusted)


# -- 1. becoming a merchant --------------------------------------------------------------------


async def test_a_shop_applies_and_only_an_admin_approves_it(shop: Shop) -> None:
    alice = shop.user("Alice")
    await alice.send_command("/upload")
    assert (await alice.wait_for()).text == (
        "This is for merchants. Send /merchant to apply for a shop."
    )
    await alice.send_command("/merchant", "OnlyAName")
    assert (await alice.wait_for()).text.startswith("To apply, send /merchant")
    await alice.send_command("/merchant")
    assert "What is its name?" in (await alice.wait_for()).text
    await alice.send_text("Leaf & Kettle")
    assert "Leaf & Kettle" in (await alice.wait_for()).text
    await alice.send_text("not a link")
    assert (await alice.wait_for()).text.startswith("That isn't a web address")
    await alice.send_text("https://leafandkettle.example")
    applied = await alice.wait_for()
    assert "Your application for Leaf & Kettle went to the admins" in applied.text

    note = await shop.admin.wait_for(text_has("New shop: Leaf & Kettle"))
    assert "https://leafandkettle.example" in note.text
    assert [b["text"] for b in note.buttons] == ["✅ Approve", "❌ Reject"]
    approve = str(note.button("✅")["callback_data"])

    await alice.send_command("/products")
    assert "still waiting for an admin" in (await alice.wait_for()).text
    # Alice forges the admin's button: refused, nothing changes.
    assert (await alice.press_data(applied, approve)).text == "This is for reelcart's admins only."
    assert shop.value("SELECT state FROM merchants WHERE name = 'Leaf & Kettle'") == "applied"
    assert "upload" not in {c["command"] for c in alice.visible_commands()}

    await shop.admin.press(note, "✅")
    approved = await alice.wait_for(text_has("is approved"))
    assert approved.text.startswith("🎉 Your shop Leaf & Kettle is approved!")
    menu = {c["command"] for c in alice.visible_commands()}
    assert {"upload", "products", "stats", "sales", "feed"} <= menu
    assert "admin" not in {c["command"] for c in alice.visible_commands()}
    # A second tap (or a second admin) changes nothing.
    assert (await shop.admin.press_data(note, approve)).text.startswith("Already decided")
    assert shop.value("SELECT trusted FROM merchants WHERE name = 'Leaf & Kettle'") == 0

    # A rejected applicant is told, and may apply again.
    bob = shop.user("Bob")
    await bob.send_command("/merchant", "Leaf & kettle https://copycat.example")
    assert (await bob.wait_for()).text.startswith("Another shop already has that name")
    await bob.send_command("/merchant", "Bob's Bargains https://bob.example")
    await bob.wait_for(text_has("went to the admins"))
    note = await shop.admin.wait_for(text_has("New shop: Bob's Bargains"))
    await shop.admin.press(note, "❌")
    assert "was not approved" in (await bob.wait_for(text_has("not approved"))).text
    await bob.send_command("/stats")
    assert "not approved" in (await bob.wait_for()).text


# -- 2. uploading a catalog --------------------------------------------------------------------


async def test_an_upload_reports_each_row_and_returns_the_failed_ones(shop: Shop) -> None:
    alice = shop.user("Alice")
    merchant_id = await become_merchant(shop, alice, "Kettle Corner")
    await alice.send_command("/upload")
    assert "Send me your catalog as a file" in (await alice.wait_for()).text
    report = await upload(alice, "catalog_with_errors.csv", TEA_CSV)
    lines = report.text.splitlines()
    assert lines[0] == "✅ catalog_with_errors.csv imported"
    assert lines[1] == "6 created · 0 updated · 0 unchanged · 4 failed"
    assert "6 product(s) wait for moderation" in report.text
    assert "• line 4, title: the title is empty" in report.text
    assert "• line 6, price: the price must be more than 0" in report.text
    # One status message, edited as the import went (read, checked, ... indexed).
    history = shop.server.state.chats[alice.id].messages[report.message_id].history
    assert any("⏳ Importing" in (v.get("text") or "") for v in history)
    failed = await alice.wait_for(lambda m: m.media_kind == "document")
    assert failed.data["document"]["file_name"] == "catalog_with_errors-failed-rows.csv"
    rows = list(csv.reader(io.StringIO(shop.file(failed).decode("utf-8-sig"))))
    assert rows[0] == ["line", "column", "sku", "reason"]
    assert [row[:3] for row in rows[1:]] == [
        ["4", "title", "TEA-003"], ["6", "price", "TEA-005"], ["9", "currency", "TEA-008"],
        ["11", "stock", "TEA-010"],
    ]  # fmt: skip
    await shop.admin.wait_for(text_has("6 product(s) from Kettle Corner wait for moderation"))
    # Nothing of it reaches shoppers before a moderator approves it.
    shopper = shop.user("Sam")
    await shopper.send_command("/search", "first flush darjeeling black tea")
    found = await shopper.wait_for()
    assert "Darjeeling" not in json.dumps(found.buttons)
    statuses = shop.query("SELECT moderation FROM products WHERE merchant_id = ?", merchant_id)
    assert {row[0] for row in statuses} == {"pending"}
    # The same file again changes nothing.
    again = await upload(alice, "catalog_with_errors.csv", TEA_CSV)
    assert "0 created · 0 updated · 6 unchanged · 4 failed" in again.text


async def test_bad_files_are_refused_clearly_and_change_nothing(shop: Shop) -> None:
    bob = shop.user("Bob")
    merchant_id = await become_merchant(shop, bob, "Bob Goods")
    # Too large: refused from its size, before any download.
    await bob.send_document("huge.csv", b"sku,title,price\n" + b"x" * (21 * 1024 * 1024))
    refused = await bob.wait_for()
    assert refused.text == (
        "❌ Nothing imported from huge.csv: the file is 21.0 MB; the limit is 20 MB: "
        "split it into smaller files"
    )
    # Not a catalog.
    refused = await upload(bob, "contacts.csv", b"name,email\nAnn,ann@example.com\n")
    assert refused.text == (
        "❌ Nothing imported from contacts.csv: this is not a catalog: the first line must name "
        "the columns sku, title and price (missing: sku, title, price)"
    )
    # An unknown encoding (Latin-1, not UTF-8).
    latin = "sku,title,price\nB1,Théière en fonte,30.00\n".encode("latin-1")
    refused = await upload(bob, "latin.csv", latin)
    assert refused.text.startswith("❌ Nothing imported from latin.csv: the file is not UTF-8")
    # A spreadsheet workbook.
    refused = await upload(bob, "catalog.xlsx", b"PK\x03\x04" + b"\x00" * 64)
    assert "this is a spreadsheet workbook, not a CSV file" in refused.text
    assert shop.value("SELECT count(*) FROM products WHERE merchant_id = ?", merchant_id) == 0

    # Formulas in cells are refused, and never reach the failed-rows file as formulas.
    rows = [
        product_row("B-1", "Cast iron teapot", "30.00"),
        product_row("=1+1", "Sneaky", "5.00"),
        product_row("B-3", '=HYPERLINK("http://evil.example","Click")', "5.00"),
        product_row("B-4", "@SUM(A1:A9)", "5.00"),
    ]
    report = await upload(bob, "formulas.csv", csv_bytes(rows))
    assert "1 created · 0 updated · 0 unchanged · 3 failed" in report.text
    assert "looks like a spreadsheet formula (it starts with =)" in report.text
    failed = await bob.wait_for(lambda m: m.media_kind == "document")
    cells = [
        cell
        for row in csv.reader(io.StringIO(shop.file(failed).decode("utf-8-sig")))
        for cell in row
    ]
    assert "'=1+1" in cells
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells), cells

    # A French merchant reads all of it in French.
    fabien = shop.user("Fabien", "fr")
    await become_merchant(shop, fabien, "Chez Fabien")
    refused = await upload(fabien, "latin.csv", latin)
    assert refused.text.startswith(
        "❌ Rien n'a été importé de latin.csv : le fichier n'est pas en UTF-8"
    )
    report = await upload(fabien, "catalog_with_errors.csv", TEA_CSV)
    assert "6 créés · 0 modifiés · 0 inchangés · 4 en échec" in report.text
    assert "• ligne 4, title : le titre est vide" in report.text
    failed = await fabien.wait_for(lambda m: m.media_kind == "document")
    first = next(csv.reader(io.StringIO(shop.file(failed).decode("utf-8-sig"))))
    assert first == ["ligne", "colonne", "sku", "raison"]
    # Usage errors explain the usage.
    await bob.send_command("/upload", "now")
    assert (await bob.wait_for()).text.startswith("/upload takes no arguments")


# -- clips -------------------------------------------------------------------------------------


async def test_a_video_captioned_with_a_sku_becomes_that_products_clip(shop: Shop) -> None:
    carla = shop.user("Carla")
    merchant_id = await become_merchant(shop, carla, "Carla Crafts")
    await upload(carla, "c.csv", csv_bytes([product_row("CC-1", "Hand-thrown mug")]))
    product_id = pid(shop, "CC-1", merchant_id)
    await carla.send_video("mug.mp4", CLIP, caption="CC-1", duration=3, width=240, height=426)
    attached = await carla.wait_for()
    assert attached.text == (
        "🎬 Clip attached to “Hand-thrown mug” (CC-1).\n"
        "⏳ It waits for moderation before shoppers see it."
    )
    source, file_id = shop.query(
        "SELECT source, file_id FROM clips WHERE product_id = ?", product_id
    )[0]
    kept = await asyncio.to_thread(Path(str(source)).read_bytes)
    assert kept == CLIP and file_id  # kept beside the database, and its file_id cached
    await carla.send_video("mug.mp4", CLIP)
    assert "with the product's SKU as its caption" in (await carla.wait_for()).text
    await carla.send_video("mug.mp4", CLIP, caption="NOPE-9")
    assert (await carla.wait_for()).text == "No product with SKU NOPE-9 in your catalog."
    # Another merchant's SKU is not found either (and nothing of theirs changes).
    dan = shop.user("Dan")
    await become_merchant(shop, dan, "Dan Depot")
    await dan.send_video("mug.mp4", CLIP, caption="CC-1")
    assert (await dan.wait_for()).text == "No product with SKU CC-1 in your catalog."
    # A shopper's video is not a clip.
    shopper = shop.user("Sam")
    await shopper.send_video("mug.mp4", CLIP, caption="CC-1")
    assert "This is for merchants" in (await shopper.wait_for()).text


# -- 5. brand safety: the moderation queue -----------------------------------------------------


async def test_moderators_see_flags_approve_and_reject_with_a_reason(shop: Shop) -> None:
    erin = shop.user("Erin")
    merchant_id = await become_merchant(shop, erin, "Erin Espresso")
    rows = [
        product_row("E-1", "Espresso beans from Brazil", "14.00", category="coffee",
                    hashtags="#coffee", video_url="https://cdn.example/e1.mp4"),
        product_row("E-2", "Counterfeit replica espresso machine", "499.00", category="coffee",
                    hashtags="#coffee"),
    ]  # fmt: skip
    await upload(erin, "e.csv", csv_bytes(rows))
    first, second = pid(shop, "E-1", merchant_id), pid(shop, "E-2", merchant_id)
    # The admins were told; the notice opens the queue at this merchant's products.
    notice = await shop.admin.wait_for(text_has("2 product(s) from Erin Espresso"))
    await shop.admin.send_command("/admin")
    panel = await shop.admin.wait_for(text_has("Admin panel"))
    labels = [str(b["text"]) for b in panel.buttons]
    assert "💸 Refunds" in labels and any(label.startswith("🛡 Moderation (") for label in labels)
    assert panel.button("💸")["callback_data"] == "adm:refunds"
    await shop.admin.press(notice, "🛡 Open the queue")
    seen: dict[int, BotMessage] = {}
    for _ in range(2):
        item = await shop.admin.wait_for(lambda m: m.message_id == notice.message_id and m.edited)
        for product_id in (first, second):
            if f"adm:qa:{product_id}:" in json.dumps(item.buttons):
                seen[product_id] = item
        await shop.admin.press(item, "⏭")
    # What the last ⏭ shows, before going on, as a person would: the edit read next is then
    # the answer to the next tap.
    await shop.admin.wait_for(lambda m: m.message_id == notice.message_id and m.edited)
    clean, flagged = seen[first], seen[second]
    # E-1's only flag: its clip's link (cdn.example) does not answer with a video.
    assert "• the clip looks broken" in clean.text and "blocklisted" not in clean.text
    assert "Erin Espresso (not trusted)" in flagged.text
    assert "• blocklisted word(s): counterfeit, replica" in flagged.text
    assert "× the coffee median" in flagged.text and "• no clip" in flagged.text

    await shop.admin.press_data(flagged, f"adm:qr:{second}:0")
    reasons = await shop.admin.wait_for(text_has("Why is “Counterfeit replica"))
    await shop.admin.press(reasons, "it isn't allowed on reelcart")
    told = await erin.wait_for(text_has("was not approved"))
    assert told.text == (
        "❌ “Counterfeit replica espresso machine” was not approved: it isn't allowed on "
        "reelcart. Fix it and upload it again (/products shows its state)."
    )
    current = await shop.admin.wait_for(lambda m: m.message_id == notice.message_id and m.edited)
    assert f"adm:qa:{first}:" in json.dumps(current.buttons)  # the rest of Erin's products
    await shop.admin.press(current, "✅")
    assert "is approved and now in the feed" in (await erin.wait_for(text_has("approved"))).text
    assert shop.query(
        "SELECT id, moderation FROM products WHERE merchant_id = ? ORDER BY id", merchant_id
    ) == [(first, "approved"), (second, "rejected")]
    # Only the approved product reaches shoppers.
    shopper = shop.user("Sam")
    await shopper.send_command("/start", f"p_{second}")
    assert (await shopper.wait_for()).text == "That product isn't available right now."
    await shopper.send_command("/start", f"p_{first}")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)
    assert card.text.startswith("Espresso beans from Brazil")
    # Every decision is in the audit log.
    actions = shop.query(
        "SELECT action, target_id FROM audit_log WHERE target_kind = 'product' "
        "AND target_id IN (?, ?)",
        first,
        second,
    )
    assert sorted(actions) == sorted([("product.approve", first), ("product.reject", second)])
    await shop.admin.send_command("/admin")
    panel = await shop.admin.wait_for(text_has("Admin panel"))
    await shop.admin.press(panel, "📜")
    log_page = await shop.admin.wait_for(lambda m: m.message_id == panel.message_id and m.edited)
    assert "Audit log" in log_page.text and "product rejected" in log_page.text
    assert f"{ADMIN_ID} · ❌ product rejected · product #{second}" in log_page.text


# -- 4. isolation, and refusals ----------------------------------------------------------------


async def test_a_merchant_never_reaches_another_merchants_products_or_stats(shop: Shop) -> None:
    fay, gus = shop.user("Fay"), shop.user("Gus")
    fay_id = await become_merchant(shop, fay, "Fay Finds")
    await become_merchant(shop, gus, "Gus Gear")
    await upload(fay, "f.csv", csv_bytes([product_row("F-1", "Fay's linen towel", "19.00")]))
    await upload(gus, "g.csv", csv_bytes([product_row("G-1", "Gus's rope", "7.00")]))
    fay_product = pid(shop, "F-1", fay_id)
    before = shop.query("SELECT price_minor, stock, status FROM products WHERE id = ?", fay_product)

    await gus.send_command("/products")
    listing = await gus.wait_for(text_has("Gus Gear"))
    assert "Gus's rope" in json.dumps(listing.buttons, ensure_ascii=False)
    assert "Fay" not in json.dumps(listing.buttons, ensure_ascii=False)
    # Forged buttons naming Fay's product: every one is refused and nothing changes.
    for data in (
        f"mer:p:{fay_product}:0", f"mer:pause:{fay_product}:0", f"mer:delok:{fay_product}:0",
        f"mer:price:{fay_product}", f"mer:stock:{fay_product}", f"mer:view:{fay_product}",
    ):  # fmt: skip
        answer = await gus.press_data(listing, data)
        assert answer.text == "That product isn't in your catalog.", data
    await gus.send_text("0")  # would be a stock answer, had a prompt been opened
    assert (
        shop.query("SELECT price_minor, stock, status FROM products WHERE id = ?", fay_product)
        == before
    )
    # Fay's orders: Gus neither lists nor ships them.
    with sqlite3.connect(shop.db_path) as db:
        order_id = db.execute(
            "INSERT INTO orders (charge_id, user_id, merchant_id, kind, status, currency, "
            "goods_minor, total_minor, created_at) VALUES (?, ?, ?, 'physical', 'paid', 'EUR', "
            "1900, 1900, ?)",
            [f"charge-{fay_product}", fay.id, fay_id, time.time()],
        ).lastrowid
        db.execute(
            "INSERT INTO order_lines (order_id, product_id, sku, title, quantity, unit_minor, "
            "currency) VALUES (?, ?, 'F-1', 'Fay''s linen towel', 1, 1900, 'EUR')",
            [order_id, fay_product],
        )
    await gus.send_command("/sales")
    assert "Fay" not in (await gus.wait_for()).text
    answer = await gus.press_data(listing, f"sl:ship:{order_id}")
    assert answer.text == f"Order #{order_id} is not one of your shop's orders."
    await fay.send_command("/sales")
    assert "Fay's linen towel" in (await fay.wait_for(text_has("Fay Finds"))).text
    # Gus's stats hold only Gus's products, whatever he asks for.
    await gus.send_command("/stats", "all")
    stats = await gus.wait_for(lambda m: m.media_kind == "photo")
    assert "Gus Gear" in stats.text and "Fay" not in stats.text
    await gus.press(stats, "📋")
    table = await gus.wait_for(text_has("per product"))
    assert "Fay" not in table.text
    # Merchant commands and admin buttons from a shopper are refused; nothing changes.
    shopper = shop.user("Sam")
    for command in ("/upload", "/products", "/stats"):
        await shopper.send_command(command)
        assert (await shopper.wait_for()).text.startswith("This is for merchants")
    await shopper.send_command("/admin")
    answer_message = await shopper.wait_for()
    assert answer_message.text == "This is for reelcart's admins only."
    rate_before = shop.query("SELECT * FROM shop_settings")
    for data in (f"adm:qa:{fay_product}:0", f"adm:ub:{fay.id}:1", "adm:sd:30", "adm:bcgo:1",
                 f"adm:mx:{fay_id}:1", "adm:menu"):  # fmt: skip
        answer = await shopper.press_data(answer_message, data)
        assert answer.text == "This is for reelcart's admins only.", data
    assert shop.query("SELECT * FROM shop_settings") == rate_before
    assert shop.value("SELECT suspended FROM merchants WHERE id = ?", fay_id) == 0
    assert shop.value("SELECT count(*) FROM user_flags WHERE user_id = ?", fay.id) == 0


# -- 3. managing products ----------------------------------------------------------------------


async def test_products_pause_price_stock_preview_and_delete(shop: Shop) -> None:
    hana = shop.user("Hana")
    merchant_id = await become_merchant(shop, hana, "Hana Home")
    rows = [product_row(f"H-{n}", f"Hana vase number {n}", f"{20 + n}.00") for n in range(1, 11)]
    await set_trusted(shop, merchant_id, True)  # her products go live without moderation
    report = await upload(hana, "h.csv", csv_bytes(rows))
    assert "10 product(s) are live in the feed" in report.text
    await set_trusted(shop, merchant_id, False)
    await hana.send_command("/products", "abc")
    assert (await hana.wait_for()).text.startswith("Send /products, or /products page")
    await hana.send_command("/products")
    listing = await hana.wait_for(text_has("Hana Home: 10 product(s), page 1 of 2"))
    assert len([b for b in listing.buttons if str(b["text"]).startswith("🟢")]) == 8
    await hana.press(listing, "▶️")
    page2 = await hana.wait_for(lambda m: m.message_id == listing.message_id and m.edited)
    assert "page 2 of 2" in page2.text
    await hana.press(page2, "🟢 Hana vase number 9")
    detail = await hana.wait_for(text_has("Hana vase number 9", "In the feed"))
    product_id = pid(shop, "H-9", merchant_id)

    assert (await hana.press(detail, "⏸")).text == "⏸ Hana vase number 9 is paused"
    detail = await hana.wait_for(text_has("Paused"))
    assert shop.value("SELECT status FROM products WHERE id = ?", product_id) == "paused"
    assert (await hana.press(detail, "▶️")).text == "▶️ Hana vase number 9 is back"
    detail = await hana.wait_for(text_has("In the feed"))

    await hana.press(detail, "💶")
    assert "Send the new price of “Hana vase number 9” in EUR" in (await hana.wait_for()).text
    await hana.send_text("twelve")
    assert (await hana.wait_for()).text == "That isn't a price. Write it like 12.50."
    await hana.send_text("12.345")
    assert (await hana.wait_for()).text == "EUR prices have at most 2 decimals."
    await hana.send_text("13,50")
    changed = await hana.wait_for(text_has("now costs"))
    assert changed.text.startswith("✅ “Hana vase number 9” now costs €13.50.")
    assert "The change waits for moderation" in changed.text  # Hana is not trusted
    assert shop.value("SELECT price_minor FROM products WHERE id = ?", product_id) == 1350

    await hana.press(changed, "📦")
    await hana.wait_for(text_has("Send the new stock"))
    await hana.send_text("-2")
    assert (await hana.wait_for()).text.startswith("Send the stock as a whole number")
    await hana.send_text("0")
    sold_out = await hana.wait_for(text_has("0 in stock"))
    assert "“Hana vase number 9”: 0 in stock." in sold_out.text
    # /cancel drops a question; the next text is not taken as an answer.
    await hana.press(sold_out, "📦")
    await hana.wait_for(text_has("Send the new stock"))
    await hana.send_command("/cancel")
    assert (await hana.wait_for()).text == "OK, cancelled."
    await hana.send_text("99")
    assert "stock" not in (await hana.wait_for()).text
    assert shop.value("SELECT stock FROM products WHERE id = ?", product_id) == 0

    await hana.press(sold_out, "👁")
    preview = await hana.wait_for(lambda m: m.media_kind is not None)
    assert preview.text.startswith("👁 Preview: this is how shoppers see it.")
    assert "Hana vase number 9" in preview.text
    assert (await hana.press(preview, "❤️")).text.startswith("This is a preview")

    await hana.press(sold_out, "🗑")
    confirm = await hana.wait_for(text_has("Delete “Hana vase number 9”?"))
    assert (await hana.press(confirm, "🗑 Yes")).text == "🗑 Hana vase number 9 is deleted"
    after = await hana.wait_for(text_has("9 product(s)"))
    assert "Hana vase number 9" not in json.dumps(after.buttons, ensure_ascii=False)
    assert shop.value("SELECT status FROM products WHERE id = ?", product_id) == "deleted"


# -- 8. restock alerts -------------------------------------------------------------------------


async def like_product(user: SimulatedUser, product_id: int) -> None:
    await user.send_command("/start", f"p_{product_id}")
    card = await user.wait_for(lambda m: m.media_kind is not None)
    await user.press(card, "❤️")


async def test_shoppers_who_liked_a_sold_out_product_are_told_once_when_it_is_back(
    shop: Shop,
) -> None:
    ivy = shop.user("Ivy")
    merchant_id = await become_merchant(shop, ivy, "Ivy Ink")
    await set_trusted(shop, merchant_id, True)
    await upload(ivy, "i.csv", csv_bytes([product_row("I-1", "Fountain pen ink, blue", stock="1")]))
    product_id = pid(shop, "I-1", merchant_id)
    fan, other_fan, stranger = shop.user("Fan"), shop.user("Otherfan"), shop.user("Stranger")
    await like_product(fan, product_id)
    await like_product(other_fan, product_id)
    await stranger.send_command("/start", f"p_{product_id}")  # saw it, did not like it
    await stranger.wait_for(lambda m: m.media_kind is not None)

    async def set_stock(value: str) -> None:
        await ivy.send_command("/products")
        listing = await ivy.wait_for(text_has("Ivy Ink"))
        await ivy.press(listing, f"mer:p:{product_id}:0")
        detail = await ivy.wait_for(text_has("Fountain pen ink"))
        await ivy.press(detail, "📦")
        await ivy.wait_for(text_has("Send the new stock"))
        await ivy.send_text(value)
        await ivy.wait_for(text_has(f"{value} in stock"))

    await set_stock("0")
    await set_stock("5")
    alert = await fan.wait_for(text_has("Back in stock"), timeout=15)
    assert alert.text.startswith("🔔 Back in stock: Fountain pen ink, blue (€12.00).")
    await fan.press(alert, "🎬")
    card = await fan.wait_for(lambda m: m.media_kind is not None)
    assert card.text.startswith("Fountain pen ink, blue")
    await other_fan.wait_for(text_has("Back in stock"), timeout=15)
    await set_stock("7")  # more stock is not "back in stock" again
    assert shop.value("SELECT count(*) FROM restocks WHERE product_id = ?", product_id) == 1
    # Wait on recorded state, not time: every alert of this restock settled (a message is
    # marked sent only after Telegram took it), and no restock of it left unhandled.
    unsettled = (
        "SELECT (SELECT count(*) FROM restock_alerts WHERE product_id = ? "
        "AND state IN ('pending', 'sending')) + (SELECT count(*) FROM restocks "
        "WHERE product_id = ? AND handled_at IS NULL)"
    )
    for _ in range(300):
        if not shop.value(unsettled, product_id, product_id):
            break
        await asyncio.sleep(0.05)
    assert shop.value(unsettled, product_id, product_id) == 0
    everyone = [fan, other_fan, stranger]
    told = [sum("Back in stock" in m.text for m in user.messages) for user in everyone]
    assert told == [1, 1, 0]
    assert (
        shop.value(
            "SELECT count(*) FROM restock_alerts WHERE product_id = ? AND state = 'sent'",
            product_id,
        )
        == 2
    )


# -- 7 and 3. inline sharing with a creator's code, and /stats ---------------------------------


async def test_inline_shares_carry_the_creators_code_and_stats_show_what_it_brought(
    shop: Shop,
) -> None:
    jo = shop.user("Jo")
    merchant_id = await become_merchant(shop, jo, "Jo Jams")
    await set_trusted(shop, merchant_id, True)
    rows = [
        product_row("J-1", "Wild strawberry jam", "6.50", category="jam", hashtags="#jam"),
        product_row("J-2", "Bitter orange marmalade", "7.00", category="jam", hashtags="#jam"),
    ]
    await upload(jo, "j.csv", csv_bytes(rows))
    await jo.send_video("jam.mp4", CLIP, caption="J-1", duration=3, width=240, height=426)
    await jo.wait_for(text_has("Clip attached"))
    jam = pid(shop, "J-1", merchant_id)

    creator, friend = shop.user("Cleo"), shop.user("Finn")
    answer = await creator.inline_query("strawberry jam for breakfast", chat_type="group")
    assert answer.is_personal
    result = next(r for r in answer.results if r["id"] == f"p{jam}")
    assert result["type"] == "video" and result["title"] == "Wild strawberry jam"
    link = result["reply_markup"]["inline_keyboard"][0][0]["url"]
    code = shop.value("SELECT code FROM referral_codes WHERE user_id = ?", creator.id)
    assert link == f"https://t.me/{shop.server.bot_username}?start=p_{jam}_r_{code}"
    await creator.choose_inline_result(str(result["id"]), "strawberry jam for breakfast")
    # The friend opens the shared link: the product's card, and a visit for the creator.
    await friend.send_command("/start", f"p_{jam}_r_{code}")
    card = await friend.wait_for(lambda m: m.media_kind == "video")
    assert card.text.startswith("Wild strawberry jam")
    await friend.press(card, "❤️")
    await creator.send_command("/start", f"p_{jam}_r_{code}")  # the creator's own click
    await creator.wait_for(lambda m: m.media_kind == "video")
    assert shop.query("SELECT creator_id, visitor_id FROM referral_clicks WHERE product_id = ?",
                      jam) == [(creator.id, friend.id)]  # fmt: skip
    # A forged code counts nothing.
    await friend.send_command("/start", f"p_{jam}_r_zzzzzzzz")
    await friend.wait_for(lambda m: m.media_kind == "video")

    await jo.send_command("/stats", "banana")
    assert (await jo.wait_for()).text.startswith("Send /stats, or /stats 7")
    await jo.send_command("/stats")
    stats = await jo.wait_for(lambda m: m.media_kind == "photo")
    assert shop.file(stats).startswith(b"\x89PNG")
    assert stats.text.startswith("📊 Jo Jams · 30 days")
    assert "❤️ 1 likes" in stats.text
    assert "🤝 Creators' links: 1 visits, 0 purchases (@cleo" in stats.text
    assert "1. Wild strawberry jam: " in stats.text
    await jo.press(stats, "mer:st:7")
    week = await jo.wait_for(lambda m: m.message_id == stats.message_id and m.edited)
    assert week.text.startswith("📊 Jo Jams · 7 days") and week.media_kind == "photo"
    await jo.press(week, "📋")
    table = await jo.wait_for(text_has("per product"))
    assert "• Wild strawberry jam: " in table.text
    assert "🤝 1 visits, 0 purchases from creators" in table.text


# -- 6. the admin's settings, trust and suspension, bans ---------------------------------------


async def test_admin_settings_persist_and_suspension_and_bans_take_effect(shop: Shop) -> None:
    admin = shop.admin
    await admin.send_command("/admin", "now")
    assert (await admin.wait_for()).text == "/admin takes no arguments: it opens the panel."
    await admin.send_command("/admin")
    panel = await admin.wait_for(text_has("Admin panel"))
    await admin.press(panel, "⚙️")
    settings = await admin.wait_for(lambda m: m.message_id == panel.message_id and m.edited)
    assert "Discovery: 10% of cards" in settings.text and "at most 3 card(s)" in settings.text
    assert (await admin.press(settings, "adm:sd:20")).text == "✅ Saved and applied"
    settings = await admin.wait_for(text_has("Discovery: 20%"))
    assert "• 20%" in [b["text"] for b in settings.buttons]
    await admin.press(settings, "adm:sm:2")
    await admin.wait_for(text_has("at most 2 card(s)"))
    assert dict(shop.query("SELECT key, value FROM shop_settings")) == {
        "discovery_rate": "0.2", "max_merchant_run": "2",
    }  # fmt: skip

    # Suspending a merchant closes their commands and takes their products out of the feed.
    kim = shop.user("Kim")
    merchant_id = await become_merchant(shop, kim, "Kim Knits")
    await set_trusted(shop, merchant_id, True)
    await upload(kim, "k.csv", csv_bytes([product_row("K-1", "Chunky wool scarf")]))
    scarf = pid(shop, "K-1", merchant_id)
    await admin.press_data(settings, f"adm:m:{merchant_id}")
    detail = await admin.wait_for(text_has("Kim Knits", "Trusted"))
    await admin.press(detail, "⛔")
    assert "suspended" in (await kim.wait_for(text_has("suspended"))).text
    await kim.send_command("/products")
    assert (await kim.wait_for()).text.startswith("⛔ Your shop is suspended")
    assert "upload" not in {c["command"] for c in kim.visible_commands()}
    shopper = shop.user("Sam")
    await shopper.send_command("/start", f"p_{scarf}")
    assert (await shopper.wait_for()).text == "That product isn't available right now."
    await admin.press(await admin.wait_for(text_has("Suspended")), "✅ Reinstate")
    await kim.wait_for(text_has("active again"))
    await kim.send_command("/products")
    assert "Kim Knits" in (await kim.wait_for()).text

    # The merchants list, the applications screen and global stats with a chart.
    await admin.press_data(panel, "adm:ms:0")
    listing = await admin.wait_for(text_has("Merchants (page 1 of"))
    first = shop.query(
        "SELECT name FROM merchants WHERE state = 'approved' ORDER BY lower(name), id LIMIT 8"
    )
    shown = [str(b["text"]) for b in listing.buttons if str(b["text"])[:1] in "⭐🏪⛔"]
    assert [label.split(" ", 1)[1].rsplit(" · ", 1)[0] for label in shown] == [
        row[0] for row in first
    ]
    await admin.press_data(panel, "adm:apps:0")
    await admin.wait_for(lambda m: "Application" in m.text or "No applications" in m.text)
    await admin.press_data(panel, "adm:stats")
    chart = await admin.wait_for(lambda m: m.media_kind == "photo")
    assert shop.file(chart).startswith(b"\x89PNG")
    assert chart.text.startswith("reelcart · 30 days") and "👥" in chart.text
    await admin.press(chart, "adm:st:7")
    week = await admin.wait_for(lambda m: m.message_id == chart.message_id and m.edited)
    assert week.text.startswith("reelcart · 7 days")

    # Bans: by id from the panel; the banned user is stopped; unbanning lets them back.
    await admin.press_data(panel, "adm:users")
    await admin.wait_for(text_has("send a user id"))
    await admin.send_text("not-a-user")
    assert (await admin.wait_for()).text.startswith("No user not-a-user")
    await admin.send_text(str(shopper.id))
    profile = await admin.wait_for(text_has(f"id {shopper.id}"))
    await admin.press(profile, "🚫 Ban")
    await admin.wait_for(text_has("🚫 banned"))
    await shopper.send_command("/feed")
    assert (await shopper.wait_for()).text.startswith("You can't use reelcart any more")
    await admin.send_command("/admin")
    await admin.wait_for(text_has("Admin panel"))
    answer = await admin.press_data(profile, f"adm:ub:{ADMIN_ID}:1")
    assert answer.text == "Admins can't be banned."
    await admin.press_data(profile, f"adm:ub:{shopper.id}:0")
    await shopper.send_command("/feed")
    assert (await shopper.wait_for()).media_kind is not None
    actions = [row[0] for row in shop.query("SELECT action FROM audit_log ORDER BY id")]
    for action in ("settings.discovery_rate", "settings.max_merchant_run", "merchant.suspend",
                   "merchant.reinstate", "user.ban", "user.unban", "merchant.trust"):  # fmt: skip
        assert action in actions
    await admin.press_data(profile, "adm:sd:10")  # back to the defaults for the other tests
    await admin.press_data(profile, "adm:sm:3")


# -- 6. broadcasts -----------------------------------------------------------------------------


async def test_a_broadcast_reaches_every_shopper_once_and_skips_who_blocked_the_bot(
    shop: Shop,
) -> None:
    listeners = [shop.user(f"Listener{n}") for n in range(3)]
    for listener in listeners:
        await listener.send_command("/help")
        await listener.wait_for()
    gone = shop.user("Gone")
    await gone.send_command("/help")
    await gone.wait_for()
    await gone.block_bot()
    for _ in range(50):
        if shop.value("SELECT blocked_at FROM user_flags WHERE user_id = ?", gone.id):
            break
        await asyncio.sleep(0.1)
    admin = shop.admin
    await admin.send_command("/admin")
    panel = await admin.wait_for(text_has("Admin panel"))
    await admin.press(panel, "📣")
    ask = await admin.wait_for(text_has("Send me the message for all"))
    audience = int(ask.text.split("for all ")[1].split(" ")[0])
    expected = shop.value(
        "SELECT count(*) FROM users WHERE id NOT IN (SELECT user_id FROM user_flags "
        "WHERE banned_at IS NOT NULL OR blocked_at IS NOT NULL)"
    )
    assert audience == expected
    await admin.send_text("🍓 Jam week: every jam ships free until Sunday!")
    preview = await admin.wait_for(text_has("Preview"))
    assert "🍓 Jam week" in preview.text
    assert (await admin.press(preview, "✅ Send")).text == f"📣 Sending to {audience} shoppers"
    # A second tap on the old preview does not start it twice.
    again = await admin.press_data(preview, str(preview.button("✅")["callback_data"]))
    assert again.text == "This broadcast was already started or cancelled."
    done = await admin.wait_for(text_has("done"), timeout=30)
    assert done.message_id == preview.message_id  # one message, edited as it went
    assert f"{audience} sent, 0 blocked the bot, 0 failed (of {audience}" in done.text
    for listener in listeners:
        assert sum("Jam week" in m.text for m in listener.messages) == 1
    assert not any("Jam week" in m.text for m in gone.messages)


# -- 9. your data ------------------------------------------------------------------------------


async def test_mydata_exports_everything_and_forget_erases_it(shop: Shop) -> None:
    lea = shop.user("Lea")
    await lea.send_command("/feed")
    card = await lea.wait_for(lambda m: m.media_kind is not None)
    await lea.press(card, "❤️")
    await lea.wait_for(lambda m: m.message_id == card.message_id and m.edited)
    await lea.send_command("/mydata")
    export = await lea.wait_for(lambda m: m.media_kind == "document")
    assert export.text.startswith("📄 Everything reelcart holds about you")
    data = json.loads(shop.file(export))
    assert data["user_id"] == lea.id
    assert data["tables"]["users"][0]["first_name"] == "Lea"
    kinds = {event["kind"] for event in data["tables"]["events"]}
    assert {"impression", "like"} <= kinds
    assert all(event["user_id"] == lea.id for event in data["tables"]["events"])

    await lea.send_command("/forget")
    confirm = await lea.wait_for(text_has("Erase everything"))
    await lea.press(confirm, "Keep")
    assert (await lea.wait_for(text_has("nothing was erased"))).message_id == confirm.message_id
    assert shop.value("SELECT count(*) FROM events WHERE user_id = ?", lea.id) == 3
    await lea.send_command("/forget")
    confirm = await lea.wait_for(text_has("Erase everything"))
    await lea.press(confirm, "🗑")
    erased = await lea.wait_for(text_has("Erased"))
    assert "• your profile (name, language, interests)" in erased.text
    assert "• 3 reactions (likes, swipes, views)" in erased.text
    assert "• 2 cards shown to you" in erased.text
    for table, column in (("events", "user_id"), ("cards", "user_id"), ("users", "id")):
        assert shop.value(f"SELECT count(*) FROM {table} WHERE {column} = ?", lea.id) == 0
    await lea.send_command("/likes")
    assert (await lea.wait_for()).text.startswith("No likes yet")
    await lea.send_command("/mydata", "please")
    assert (await lea.wait_for()).text.startswith("/mydata takes no arguments")


# -- command menus and /help -------------------------------------------------------------------


async def test_menus_and_help_show_each_person_their_commands(shop: Shop) -> None:
    shopper = shop.user("Sam")
    await shopper.send_command("/help")
    text = (await shopper.wait_for()).text
    assert "/merchant: sell on reelcart" in text and "/forget: erase your data" in text
    assert "/upload" not in text and "/admin" not in text
    commands = {c["command"] for c in shopper.visible_commands()}
    assert {"merchant", "mydata", "forget"} <= commands
    assert not commands & {"upload", "products", "stats", "admin"}
    assert "admin" in {c["command"] for c in shop.admin.visible_commands()}
    await shop.admin.send_command("/help")
    assert "/admin: moderation" in (await shop.admin.wait_for(text_has("/admin"))).text
    mo = shop.user("Mo")
    await become_merchant(shop, mo, "Mo Maps")
    await mo.send_command("/help")
    assert "/upload: send a catalog file" in (await mo.wait_for(text_has("/upload"))).text


# -- 2 and 6. crashes: an upload and a broadcast cut short by kill -9 --------------------------


async def test_a_crash_mid_upload_or_mid_broadcast_loses_nothing_and_doubles_nothing(
    template: Template, tmp_path: Path
) -> None:
    db_path = template.copy_to(tmp_path)
    owner_id, admin_id = 960001, 960002
    recipients = list(range(961001, 961041))
    with sqlite3.connect(db_path) as db:
        db.execute(
            "INSERT INTO merchants (name, shop_url, owner_user_id, created_at, state, trusted) "
            "VALUES ('Crash Co', 'https://crash.example', ?, 0, 'approved', 1)",
            [owner_id],
        )
        db.executemany(
            "INSERT INTO users (id, first_name, language, created_at) VALUES (?, ?, 'en', 0)",
            [(user_id, f"R{user_id}") for user_id in recipients],
        )
    # Flood control tighter than the broadcast's pace: the bot must wait out 429s.
    async with SandboxServer(limits=SandboxLimits(messages_per_second=12, burst=6)) as server:
        env = {"REELCART_ADMIN_IDS": str(admin_id)}
        owner = SimulatedUser(server, owner_id, "Olga")
        admin = SimulatedUser(server, admin_id, "Ada")
        people = [SimulatedUser(server, user_id, f"R{user_id}") for user_id in recipients]
        for person in people:
            server.state.open_chat(person.account)  # they talked to the bot before
        people[3].account.blocked_bot = True  # ...and this one has blocked it since

        first = BotProcess(server.root_url, server.token, db_path, extra_env=env)
        await first.start()
        # Descriptions long enough that embedding 500 of them takes seconds on any machine
        # (about 5 s here): the status edits at most once a second, so a short import could
        # finish between two edits and never be caught mid-embedding.
        words = ["glazed", "stoneware", "thrown", "by", "hand", "in", "a", "small", "studio",
                 "kiln", "fired", "twice"]  # fmt: skip
        rows = [
            product_row(
                f"CR-{n:04d}",
                f"Crash Co ceramic bowl number {n}",
                "9.00",
                description=" ".join(words[(n + i) % len(words)] for i in range(40)),
            )
            for n in range(500)
        ]
        await owner.send_document("big.csv", csv_bytes(rows))
        await owner.wait_for(lambda m: "⏳ embedded" in m.text, timeout=60)
        first.kill()  # mid-embedding: the rows are stored, the index is not up to date
        encoded = shop_value(db_path, "SELECT count(*) FROM product_vectors v JOIN products p "
                             "ON p.id = v.product_id WHERE p.sku LIKE 'CR-%'")  # fmt: skip
        assert encoded < 500  # the crash really came before the import was done

        second = BotProcess(server.root_url, server.token, db_path, extra_env=env)
        await second.start()
        try:
            stored = shop_value(db_path, "SELECT count(*) FROM products p JOIN merchants m "
                                "ON m.id = p.merchant_id WHERE m.name = 'Crash Co'")  # fmt: skip
            assert stored in (0, 500)  # one transaction: all of it or nothing
            active = shop_value(db_path, "SELECT count(*) FROM products WHERE status = 'active'")
            assert (await second.health())["products"] == active  # the index matches the DB
            await owner.send_command("/search", "ceramic bowl number 412")
            found = await owner.wait_for(lambda m: bool(m.buttons))
            assert "Crash Co ceramic bowl number" in json.dumps(found.buttons)

            await admin.send_command("/admin")
            panel = await admin.wait_for(text_has("Admin panel"))
            await admin.press(panel, "⚙️")
            await admin.wait_for(text_has("Discovery: 10%"))
            await admin.press(panel, "adm:sd:20")
            await admin.press_data(panel, "adm:bc")
            await admin.wait_for(text_has("Send me the message"))
            await admin.send_text("🔔 Spring sale starts now")
            preview = await admin.wait_for(text_has("Preview"))
            await admin.press(preview, "✅ Send")
            await people[12].wait_for(text_has("Spring sale"), timeout=30)
            second.kill()  # mid-broadcast
        finally:
            second.kill()

        third = BotProcess(server.root_url, server.token, db_path, extra_env=env)
        await third.start()
        try:
            done = await admin.wait_for(
                lambda m: m.message_id == preview.message_id and "done" in m.text, timeout=60
            )
            assert "1 blocked the bot" in done.text
            states = dict(
                shop_query(db_path, "SELECT state, count(*) FROM broadcast_recipients GROUP BY 1")
            )
            assert set(states) <= {"sent", "blocked", "unknown"}
            assert states.get("unknown", 0) <= 1
            # The one message in flight when the bot died may or may not have left: it is
            # never sent twice. Everyone else got it exactly once; the blocker, never.
            in_flight = {row[0] for row in shop_query(
                db_path, "SELECT user_id FROM broadcast_recipients WHERE state = 'unknown'"
            )}  # fmt: skip
            for person in people:
                got = sum("Spring sale" in m.text for m in person.messages)
                if person.id == recipients[3]:
                    assert got == 0  # blocked the bot
                elif person.id in in_flight:
                    assert got <= 1
                else:
                    assert got == 1, person.id
            assert shop_value(db_path, "SELECT blocked_at IS NOT NULL FROM user_flags "
                              "WHERE user_id = ?", recipients[3]) == 1  # fmt: skip
            # The panel's settings survived both crashes.
            await admin.send_command("/admin")
            panel = await admin.wait_for(text_has("Admin panel"))
            await admin.press(panel, "⚙️")
            await admin.wait_for(text_has("Discovery: 20%"))
        finally:
            code = await third.stop()
            (tmp_path / "third.log").write_text("\n".join(third.log))
            assert code == 0, third.tail()


def shop_query(db_path: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, params).fetchall()


def shop_value(db_path: Path, sql: str, *params: object) -> object:
    found = shop_query(db_path, sql, *params)
    return found[0][0] if found else None
