"""The admin's side of the chat, through the real Application: the ban gate, the admin's
command menu, refunds, the audit log, the Users screen, /help, and the stats chart.

The network edge is the in-process sandbox; the shop is the real one on a SQLite file
(``open_back``), with ``ADMIN`` as its only admin.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from reelcart.bot import build_application, set_commands
from reelcart.config import Settings
from reelcart.domain import EventKind
from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.sandbox import SandboxServer, SimulatedUser
from reelcart.sandbox.views import BotMessage
from reelcart.services.shop import Shop
from reelcart.services.stats import ChartLabels, draw_chart
from reelcart.storage.audit import record_audit
from tests.merchants.conftest import ADMIN, HEADER, Back, open_back

EBOOK = HEADER + "E1,Tea guide,An ebook about brewing tea,5.00,EUR,999,#tea,books,digital,,\n"
BANNED = "You can't use reelcart any more: an admin banned this account."


@dataclass
class Panel:
    """The sandbox, the bot's Application fed from it, and the shop behind both."""

    server: SandboxServer
    application: ReelcartApplication
    back: Back

    @property
    def shop(self) -> Shop:
        return self.back.shop

    def person(self, user_id: int, name: str = "Ana", language: str = "en") -> SimulatedUser:
        return SimulatedUser(self.server, user_id, name, language_code=language)

    def admin(self) -> SimulatedUser:
        return SimulatedUser(self.server, ADMIN, "Ada", username="ada_admin")


async def _pump(application: ReelcartApplication) -> None:
    """Hand each update to ``process_update``, one at a time and in order: a reply to a
    later update proves every earlier one was handled (the tests' fence)."""
    offset = 0
    while True:
        updates = await application.bot.get_updates(offset=offset, timeout=1)
        for update in updates:
            offset = update.update_id + 1
            await application.process_update(update)


@pytest_asyncio.fixture
async def panel(tmp_path: Path) -> AsyncIterator[Panel]:
    db_path = tmp_path / "shop.db"
    async with SandboxServer(limits=None) as server:
        back = await asyncio.to_thread(open_back, db_path)
        settings = Settings(
            bot_token=server.token,
            api_root=server.root_url,
            db_path=db_path,
            admin_ids=frozenset({ADMIN}),
        )
        application = build_application(settings)
        application.bot_data.shop = back.shop
        try:
            async with application:
                pump = asyncio.create_task(_pump(application))
                try:
                    yield Panel(server, application, back)
                finally:
                    pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pump
        finally:
            await asyncio.to_thread(back.shop.close)


# -- the ban gate ----------------------------------------------------------------------------


async def test_a_banned_user_is_told_once_even_right_after_the_host_boots(panel: Panel) -> None:
    # time.monotonic counts from the boot: five seconds after it, nobody was told yet.
    now = [5.0]
    panel.shop.admin.clock = lambda: now[0]
    spammer, admin = panel.person(4242, "Spam"), panel.admin()
    await panel.shop.admin.set_banned(spammer.id, True, ADMIN)
    await spammer.send_command("/feed")
    assert (await spammer.wait_for()).text == BANNED
    now[0] = 65.0
    await spammer.send_text("hello?")  # a minute later: not told again
    await admin.send_command("/help")
    await admin.wait_for()  # the fence: the spammer's message was handled before this
    now[0] = 5.0 + 601
    await spammer.send_command("/likes")  # ten minutes on: told once more
    assert (await spammer.wait_for()).text == BANNED
    assert [m.text for m in spammer.messages] == [BANNED, BANNED]


# -- the admin's command menu ----------------------------------------------------------------


def commands(person: SimulatedUser) -> set[str]:
    return {str(c["command"]) for c in person.visible_commands()}


async def test_an_admin_who_never_wrote_gets_the_admin_menu_when_they_first_do(
    panel: Panel,
) -> None:
    admin = panel.admin()
    await set_commands(panel.application)  # at start: Telegram has no chat with her yet
    assert "feed" in commands(admin) and "admin" not in commands(admin)
    await admin.send_command("/help")
    await admin.wait_for()
    assert "admin" in commands(admin)
    # Once: it is not set again on every message (the bot would undo this if it were).
    scope = {"type": "chat", "chat_id": admin.id}
    for language in ("", "fr"):
        await panel.server.call("deleteMyCommands", scope=scope, language_code=language)
    await admin.send_command("/help")
    await admin.wait_for()
    assert "admin" not in commands(admin)


# -- refunds -----------------------------------------------------------------------------------


async def paid_in_stars(panel: Panel, buyer: SimulatedUser) -> str:
    """The buyer pays an ebook in Stars; the order's number (``#1``)."""
    guide = panel.back.upload(panel.back.merchant(501, "Tea House", trusted=True), EBOOK)["E1"]
    await buyer.send_command("/start", f"p_{guide}")
    card = await buyer.wait_for(lambda m: m.media_kind is not None)
    await buyer.press(card, "🛒")
    invoice = await buyer.wait_for(lambda m: m.invoice is not None)
    assert (await buyer.pay(invoice, timeout=5)).ok
    receipt = await buyer.wait_for(lambda m: m.text.startswith("🧾 Receipt"))
    return receipt.text.split("order ", 1)[1].split(" ", 1)[0]


async def open_panel(admin: SimulatedUser) -> BotMessage:
    await admin.send_command("/admin")
    return await admin.wait_for(lambda m: m.text.startswith("🛠 Admin panel"))


async def test_a_stars_refund_is_in_the_audit_log(panel: Panel) -> None:
    buyer, admin = panel.person(4301, "Val"), panel.admin()
    number = await paid_in_stars(panel, buyer)
    menu = await open_panel(admin)
    await admin.press(menu, "💸")
    listing = await admin.wait_for(lambda m: m.text.startswith("↩️ Stars payments"))
    await admin.press(listing, number)
    confirm = await admin.wait_for(lambda m: m.text.startswith("Refund ⭐ 250 to Val"))
    done = await admin.press(confirm, "↩️ Refund")
    assert done.text == f"✅ Order {number} refunded: ⭐ 250 back to Val."
    await admin.wait_for(lambda m: m.text.startswith("↩️ There's no Stars payment"))
    menu = await open_panel(admin)
    await admin.press(menu, "📜")
    audit = await admin.wait_for(lambda m: m.text.startswith("📜"))
    assert f"{ADMIN} · 💸 order refunded · order {number} · 250 XTR, user {buyer.id}" in audit.text


async def test_the_empty_refunds_screen_leads_back_to_the_panel(panel: Panel) -> None:
    admin = panel.admin()
    await admin.press(await open_panel(admin), "💸")
    empty = await admin.wait_for(lambda m: m.text.startswith("↩️ There's no Stars payment"))
    await admin.press(empty, "⬅️ Back")
    await admin.wait_for(lambda m: m.edited and m.text.startswith("🛠 Admin panel"))


# -- the audit log ----------------------------------------------------------------------------


async def test_the_audit_log_shows_a_first_setting_as_set_not_none(panel: Panel) -> None:
    admin = panel.admin()
    # A row written before first settings were stored without their "None".
    panel.back.shop.db.call(
        record_audit, ADMIN, "settings.max_merchant_run", "setting", None, "None -> 2"
    )
    await admin.press(await open_panel(admin), "⚙️")
    settings = await admin.wait_for(lambda m: m.edited and m.text.startswith("⚙️"))
    await admin.press(settings, "adm:sd:30")
    await admin.press(settings, "adm:sd:10")
    await admin.press(settings, "⬅️ Back")
    menu = await admin.wait_for(lambda m: m.edited and m.text.startswith("🛠 Admin panel"))
    await admin.press(menu, "📜")
    audit = await admin.wait_for(lambda m: m.text.startswith("📜"))
    lines = [line.split(" · ", 2)[2] for line in audit.text.splitlines()[1:]]
    assert lines == [
        "⚙️ discovery rate · setting · 0.3 → 0.1",
        "⚙️ discovery rate · setting · set to 0.3",
        "⚙️ merchant run · setting · set to 2",
    ]


# -- the Users screen ---------------------------------------------------------------------------


async def test_the_users_screen_takes_one_id_after_another_until_the_admin_leaves(
    panel: Panel,
) -> None:
    admin = panel.admin()
    await admin.press(await open_panel(admin), "🚫")
    users = await admin.wait_for(lambda m: m.edited and m.text.startswith("🚫 Users"))
    for user_id in (4401, 4402, 4403):
        await admin.send_text(str(user_id))
        view = await admin.wait_for()
        assert view.text.startswith("👤") and f"id {user_id}" in view.text, view.text
    await admin.press(users, "⬅️ Back")  # she leaves the screen: numbers are not ids any more
    await admin.wait_for(lambda m: m.edited and m.text.startswith("🛠 Admin panel"))
    await admin.send_text("4404")
    await admin.send_command("/help")
    await admin.wait_for(lambda m: "/help: this message" in m.text)  # the fence
    assert not [m for m in admin.messages if "4404" in m.text]


# -- /help -------------------------------------------------------------------------------------


async def test_help_lists_shop_commands_to_merchants_and_admin_ones_to_admins(
    panel: Panel,
) -> None:
    panel.back.merchant(4502, "Mo Maps")
    shopper, merchant, admin = panel.person(4501, "Sam"), panel.person(4502, "Mo"), panel.admin()
    seen = {}
    for person in (shopper, merchant, admin):
        await person.send_command("/help")
        seen[person.id] = (await person.wait_for()).text
    shop_commands = ("/upload", "/products", "/sales", "/stats")
    assert not any(command in seen[shopper.id] for command in (*shop_commands, "/admin"))
    assert all(command in seen[merchant.id] for command in shop_commands)
    assert "/admin" not in seen[merchant.id]
    assert "/admin: moderation" in seen[admin.id]
    assert not any(command in seen[admin.id] for command in shop_commands)


async def test_help_in_french_lists_sales_to_merchants_only(panel: Panel) -> None:
    panel.back.merchant(4504, "Chez Léa")
    panel.back.sql("UPDATE users SET language = 'fr' WHERE id = 4504")
    shopper, merchant = panel.person(4503, "Zoé", "fr"), panel.person(4504, "Léa", "fr")
    await shopper.send_command("/help")
    assert "/sales" not in (await shopper.wait_for()).text
    await merchant.send_command("/help")
    assert "/sales" in (await merchant.wait_for()).text


# -- the stats chart ---------------------------------------------------------------------------


async def test_the_all_time_chart_counts_days_and_things_in_whole_numbers(back: Back) -> None:
    # All time, for a shop whose first view was today: one day, no likes, no purchases.
    guide = back.upload(back.merchant(601, "Tea House", trusted=True), EBOOK)["E1"]
    back.react(31, guide, EventKind.IMPRESSION)
    report = await back.shop.stats.report(None, "all")
    assert len(report.daily) == 1
    labels = ChartLabels("Shop · all time", "views", "likes", "buys", "day")
    figure = draw_chart(report, labels)
    figure.canvas.draw()
    for axes in figure.axes:  # the bars' axes and the lines' twin
        for axis, (low, high) in ((axes.xaxis, axes.get_xlim()), (axes.yaxis, axes.get_ylim())):
            shown = [tick for tick in axis.get_ticklocs() if low <= tick <= high]
            assert shown, axis
            assert all(float(tick).is_integer() for tick in shown), shown
