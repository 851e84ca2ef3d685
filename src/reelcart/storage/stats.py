"""Shop statistics over a period: per product, per day and per creator, for one merchant or
the whole shop.

Statistics read the event log and, when the commerce schema has it, the ``orders`` table
(paid orders, refunded ones left out); without it purchases come from ``buy`` events.
"""

from __future__ import annotations

import time
from collections import defaultdict

from reelcart.domain import (
    CreatorMetrics,
    DayPoint,
    Metrics,
    ProductMetrics,
    ShopCounts,
    StatsReport,
)
from reelcart.storage.store import Store, has_table, rows, scalar

DAY = 86_400.0

#: A purchase counts for a creator if the buyer opened the creator's link this recently.
ATTRIBUTION_WINDOW = 30 * DAY

_SWIPES = ("like", "dislike", "skip")


def collect_stats(
    store: Store, merchant_id: int | None, since: float, until: float | None = None
) -> StatsReport:
    """Statistics of ``merchant_id``'s products (every product when None) in the period.

    Only that merchant's rows are read: the filter is in every query.
    """
    until = until or time.time()
    days = max(1, int((until - since + DAY - 1) // DAY))
    mine = "p.merchant_id = ?" if merchant_id is not None else "1 = 1"
    mine_args: list[object] = [merchant_id] if merchant_id is not None else []

    per: dict[int, Metrics] = defaultdict(Metrics)
    for product_id, kind, count, dwell_sum, dwell_count in store.db.execute(
        "SELECT e.product_id, e.kind, count(*), sum(e.dwell_ms), count(e.dwell_ms) "
        f"FROM events e JOIN products p ON p.id = e.product_id WHERE {mine} "
        "AND e.at >= ? AND e.at < ? GROUP BY e.product_id, e.kind",
        [*mine_args, since, until],
    ).fetchall():
        metrics = per[product_id]
        if kind == "impression":
            metrics.impressions += count
        elif kind == "like":
            metrics.likes += count
        elif kind == "shop_click":
            metrics.shop_clicks += count
        elif kind == "share":
            metrics.shares += count
        if kind in _SWIPES and dwell_count:
            metrics.dwell_total_ms += int(dwell_sum or 0)
            metrics.dwell_count += int(dwell_count)

    daily: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, kind, count in store.db.execute(
        "SELECT CAST((e.at - ?) / 86400 AS INTEGER), e.kind, count(*) FROM events e "
        f"JOIN products p ON p.id = e.product_id WHERE {mine} AND e.at >= ? AND e.at < ? "
        "AND e.kind IN ('impression', 'like') GROUP BY 1, 2",
        [since, *mine_args, since, until],
    ).fetchall():
        daily[int(day)][0 if kind == "impression" else 1] += int(count)

    purchases, source = _purchases(store, merchant_id, since, until)
    creators: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for product_id, quantity, unit_minor, currency, buyer, at in purchases:
        metrics = per[product_id]
        metrics.purchases += quantity
        metrics.revenue[currency] = metrics.revenue.get(currency, 0) + quantity * unit_minor
        daily[int((at - since) // DAY)][2] += quantity
        creator = scalar(
            store,
            "SELECT creator_id FROM referral_clicks WHERE visitor_id = ? AND product_id = ? "
            "AND at <= ? AND at >= ? ORDER BY at DESC LIMIT 1",
            [buyer, product_id, at, at - ATTRIBUTION_WINDOW],
        )
        if creator is not None:
            metrics.referred_purchases += quantity
            creators[int(creator)][1] += quantity

    for creator_id, product_id, clicks in store.db.execute(
        "SELECT c.creator_id, c.product_id, count(DISTINCT c.visitor_id) FROM referral_clicks c "
        f"JOIN products p ON p.id = c.product_id WHERE {mine} AND c.at >= ? AND c.at < ? "
        "GROUP BY 1, 2",
        [*mine_args, since, until],
    ).fetchall():
        per[product_id].referral_clicks += int(clicks)
        creators[int(creator_id)][0] += int(clicks)

    titles = {
        row["id"]: row
        for row in rows(
            store,
            f"SELECT p.id, p.title, p.status FROM products p WHERE {mine}",
            mine_args,
        )
    }
    overall = Metrics()
    products: list[ProductMetrics] = []
    for product_id, metrics in per.items():
        info = titles.get(product_id)
        if info is None:
            continue
        overall.add(metrics)
        products.append(
            ProductMetrics(product_id, info["title"], info["status"] == "deleted", metrics)
        )
    products.sort(key=lambda item: (-item.metrics.impressions, -item.metrics.purchases))
    names = _names(store, list(creators))
    return StatsReport(
        since=since,
        until=until,
        days=days,
        overall=overall,
        products=products,
        daily=[
            DayPoint(day, *daily[day]) if day in daily else DayPoint(day, 0, 0, 0)
            for day in range(days)
        ],
        creators=sorted(
            (
                CreatorMetrics(cid, names.get(cid, str(cid)), clicks, bought)
                for cid, (clicks, bought) in creators.items()
            ),
            key=lambda item: (-item.purchases, -item.clicks, item.creator_id),
        ),
        purchases_from=source,
        shop=_shop_counts(store, since, until) if merchant_id is None else None,
    )


Purchase = tuple[int, int, int, str, int, float]


def _purchases(
    store: Store, merchant_id: int | None, since: float, until: float
) -> tuple[list[Purchase], str]:
    """(product, quantity, unit price, currency, buyer, when) of every purchase."""
    if has_table(store, "orders") and has_table(store, "order_lines"):
        mine = "o.merchant_id = ?" if merchant_id is not None else "1 = 1"
        args: list[object] = [merchant_id] if merchant_id is not None else []
        found = store.db.execute(
            "SELECT l.product_id, l.quantity, l.unit_minor, l.currency, o.user_id, o.created_at "
            "FROM order_lines l JOIN orders o ON o.id = l.order_id "
            f"WHERE {mine} AND o.created_at >= ? AND o.created_at < ? "
            "AND o.status NOT IN ('refunded', 'refund_pending')",
            [*args, since, until],
        ).fetchall()
        return [tuple(row) for row in found], "orders"
    mine = "p.merchant_id = ?" if merchant_id is not None else "1 = 1"
    args = [merchant_id] if merchant_id is not None else []
    found = store.db.execute(
        "SELECT e.product_id, 1, p.price_minor, p.currency, e.user_id, e.at FROM events e "
        f"JOIN products p ON p.id = e.product_id WHERE {mine} AND e.kind = 'buy' "
        "AND e.at >= ? AND e.at < ?",
        [*args, since, until],
    ).fetchall()
    return [tuple(row) for row in found], "events"


def _names(store: Store, user_ids: list[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for user_id, first_name, username in store.db.execute(
            f"SELECT id, first_name, username FROM users WHERE id IN ({marks})", chunk
        ).fetchall():
            names[int(user_id)] = f"@{username}" if username else (first_name or str(user_id))
    return names


def _shop_counts(store: Store, since: float, until: float) -> ShopCounts:
    def count(sql: str, params: list[object] | None = None) -> int:
        return int(scalar(store, sql, params or []) or 0)

    orders = 0
    if has_table(store, "orders"):
        orders = count(
            "SELECT count(*) FROM orders WHERE created_at >= ? AND created_at < ? "
            "AND status NOT IN ('refunded', 'refund_pending')",
            [since, until],
        )
    return ShopCounts(
        users=count("SELECT count(*) FROM users"),
        new_users=count(
            "SELECT count(*) FROM users WHERE created_at >= ? AND created_at < ?", [since, until]
        ),
        active_users=count(
            "SELECT count(DISTINCT user_id) FROM events WHERE at >= ? AND at < ?", [since, until]
        ),
        merchants=count("SELECT count(*) FROM merchants WHERE state = 'approved'"),
        applications=count("SELECT count(*) FROM merchants WHERE state = 'applied'"),
        pending_products=count(
            "SELECT count(*) FROM products WHERE moderation = 'pending' AND status != 'deleted'"
        ),
        orders=orders,
    )
