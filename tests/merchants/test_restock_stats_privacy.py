"""Restock alerts, statistics with referrals, settings, bans and a person's own data."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from reelcart.domain import Delivery, EventKind
from reelcart.services.admin import CannotBanAdmin
from reelcart.services.stats import ChartLabels, render_chart
from reelcart.storage import outbox
from reelcart.storage.products import set_stock
from reelcart.storage.referrals import record_referral_click, referral_code
from reelcart.storage.users import set_banned, touch_user
from tests.merchants.conftest import ADMIN, Back, open_back


async def test_likers_are_told_once_per_restock(back: Back) -> None:
    merchant = back.merchant(301, "Stocky", trusted=True)
    ids = back.upload(merchant)
    sencha = ids["T2"]  # stock 0
    back.react(11, sencha, EventKind.LIKE)
    back.react(12, sencha, EventKind.LIKE)
    back.react(12, sencha, EventKind.UNLIKE)  # changed their mind
    back.react(13, sencha, EventKind.LIKE)
    back.shop.db.call(set_banned, 13, True, ADMIN)
    back.react(14, ids["T1"], EventKind.LIKE)  # likes another product
    merchants = back.shop.merchants
    assert await merchants.due_restock_alerts() == []
    await merchants.set_stock(merchant.id, sencha, "4")
    await merchants.set_stock(merchant.id, sencha, "9")  # more stock is no new restock
    alerts = await merchants.due_restock_alerts()
    assert [(a.user_id, a.product.id) for a in alerts] == [(11, sencha)]
    assert await merchants.due_restock_alerts() == []  # claimed: never handed out twice
    await merchants.restock_alert_sent(alerts[0], Delivery.SENT)
    # An import that brings it back after a sell-out is a restock too, told once more.
    back.shop.db.call(set_stock, sencha, 0)
    back.upload(merchant)  # the file says 0 again: nothing
    assert await merchants.due_restock_alerts() == []
    back.shop.db.call(set_stock, sencha, 2)
    again = await merchants.due_restock_alerts()
    assert [a.user_id for a in again] == [11]
    # A crash while sending: the alert is not sent again.
    assert await merchants.settle_interrupted_alerts() == 1
    assert await merchants.due_restock_alerts() == []
    states = back.sql("SELECT state FROM restock_alerts ORDER BY restock_id")
    assert [s[0] for s in states] == ["sent", "unknown"]


async def test_stats_count_each_merchants_own_products_and_creators(back: Back) -> None:
    mine = back.merchant(401, "Mine", trusted=True)
    theirs = back.merchant(402, "Theirs", trusted=True)
    my_ids, their_ids = back.upload(mine), back.upload(theirs)
    darjeeling = my_ids["T1"]
    now = time.time()
    for user in (21, 22, 23):
        back.react(user, darjeeling, EventKind.IMPRESSION, now - 3600)
    back.shop.db.call(
        lambda store: store.db.execute(
            "INSERT INTO events (user_id, product_id, kind, dwell_ms, at) VALUES "
            "(21, ?, 'like', 4000, ?), (22, ?, 'skip', 1000, ?)",
            [darjeeling, now - 3500, darjeeling, now - 3500],
        )
    )
    back.react(21, darjeeling, EventKind.SHOP_CLICK, now - 3400)
    back.react(30, their_ids["T1"], EventKind.IMPRESSION, now - 100)  # not mine
    # A creator's link brings user 22, who then buys two (a paid order).
    code = back.shop.db.call(referral_code, 50)
    back.shop.db.call(touch_user, 50, "Cleo", "cleo", "en")
    assert back.shop.db.call(record_referral_click, code, 22, darjeeling)
    assert not back.shop.db.call(record_referral_click, code, 50, darjeeling)
    assert not back.shop.db.call(record_referral_click, "nope", 22, darjeeling)
    back.sql(
        "INSERT INTO orders (id, charge_id, user_id, merchant_id, kind, status, currency, "
        "goods_minor, total_minor, created_at) VALUES (1, 'ch1', 22, ?, 'physical', 'paid', "
        "'EUR', 3300, 3300, ?)",
        mine.id,
        time.time(),  # after the visit through the creator's link
    )
    back.sql(
        "INSERT INTO order_lines (order_id, product_id, sku, title, quantity, unit_minor, "
        "currency) VALUES (1, ?, 'T1', 'Darjeeling', 2, 1650, 'EUR')",
        darjeeling,
    )
    report = await back.shop.stats.report(mine.id, "7")
    assert report.purchases_from == "orders" and report.days == 7
    overall = report.overall
    assert (overall.impressions, overall.likes, overall.shop_clicks) == (3, 1, 1)
    assert (overall.purchases, overall.revenue) == (2, {"EUR": 3300})
    assert overall.avg_dwell_ms == 2500 and overall.conversion == 2 / 3
    assert [p.product_id for p in report.products] == [darjeeling]  # never their products
    assert (overall.referral_clicks, overall.referred_purchases) == (1, 2)
    assert [(c.name, c.clicks, c.purchases) for c in report.creators] == [("@cleo", 1, 2)]
    assert sum(point.impressions for point in report.daily) == 3
    assert report.daily[-1].purchases == 2
    theirs_report = await back.shop.stats.report(theirs.id, "all")
    assert theirs_report.overall.impressions == 1 and theirs_report.creators == []
    whole = await back.shop.stats.report(None, "30")
    assert whole.shop is not None and whole.shop.orders == 1 and whole.overall.impressions == 4
    png = render_chart(report, ChartLabels("Mine · 7 days", "views", "likes", "buys", "day"))
    assert png.startswith(b"\x89PNG") and len(png) > 5000


async def test_settings_and_bans_persist_and_apply_live(tmp_path: Path) -> None:
    back = await asyncio.to_thread(open_back, tmp_path / "shop.db")
    try:
        admin = back.shop.admin
        settings = await admin.set_discovery_percent(30, ADMIN)
        await admin.set_merchant_run(1, ADMIN)
        assert settings.discovery_rate == 0.3
        live = back.shop.ranking.call(lambda rec: (rec.discovery_rate, rec.max_merchant_run))
        assert live == (0.3, 1)
        assert await admin.set_banned(66, True, ADMIN)
        assert not await admin.set_banned(66, True, ADMIN)  # nothing changed, nothing audited
        with pytest.raises(CannotBanAdmin):
            await admin.set_banned(ADMIN, True, ADMIN)
    finally:
        await asyncio.to_thread(back.shop.close)
    back = await asyncio.to_thread(open_back, tmp_path / "shop.db")  # a restart
    try:
        live = back.shop.ranking.call(lambda rec: (rec.discovery_rate, rec.max_merchant_run))
        assert live == (0.3, 1)
        assert back.shop.admin.banned == {66}
        entries, _, _ = await back.shop.admin.audit(0)
        assert [e.action for e in entries] == [
            "user.ban", "settings.max_merchant_run", "settings.discovery_rate",
        ]  # fmt: skip
    finally:
        await asyncio.to_thread(back.shop.close)


async def test_mydata_holds_everything_and_forget_erases_it_but_keeps_orders(back: Back) -> None:
    merchant = back.merchant(501, "Shop", trusted=True)
    ids = back.upload(merchant)
    person = 77
    back.react(person, ids["T1"], EventKind.LIKE)
    back.shop.db.call(referral_code, person)
    back.shop.db.call(set_banned, person, True, ADMIN)
    back.sql(
        "INSERT INTO orders (id, charge_id, user_id, merchant_id, kind, status, currency, "
        "goods_minor, total_minor, recipient, address, created_at) VALUES (9, 'c9', ?, ?, "
        "'physical', 'paid', 'EUR', 100, 100, 'Pat Doe', '1 Main St', 0)",
        person,
        merchant.id,
    )
    exported = json.loads(await back.shop.privacy.export(person))
    tables = exported["tables"]
    assert {"users", "events", "referral_codes", "orders", "user_flags"} <= set(tables)
    assert tables["orders"][0]["recipient"] == "Pat Doe"
    erasure = await back.shop.privacy.forget(person)
    assert erasure.erased == {"profile": 1, "reactions": 1, "referral_code": 1}
    assert erasure.orders_kept == 1
    left = json.loads(await back.shop.privacy.export(person))["tables"]
    assert set(left) == {"orders", "user_flags"}  # kept: the paid order, and the ban
    assert left["orders"][0]["recipient"] is None and left["orders"][0]["address"] is None
    assert back.shop.ranking.call(lambda rec: rec.shoppers.get(person) is None)
    assert back.shop.db.call(outbox.reachable_users) == 1  # the merchant's owner only
