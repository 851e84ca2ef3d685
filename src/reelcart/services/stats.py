"""Statistics for merchants (/stats) and admins (the panel), and their trend chart.

Numbers come from the database thread (``storage.stats``); the chart is drawn with
matplotlib's Agg backend on a worker thread (a ``Figure`` of its own, never pyplot's global
state), so neither ever runs on the event loop.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reelcart.domain import StatsReport
from reelcart.services.merchants import InvalidInput
from reelcart.storage.stats import DAY, collect_stats
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

#: The periods /stats offers: days back, ``all`` for everything.
PERIODS = ("7", "30", "90", "all")
DEFAULT_PERIOD = "30"


def parse_period(text: str) -> str:
    """``7``, ``30``, ``90`` or ``all`` (also ``7d``, ``30 days``). Raises InvalidInput."""
    value = text.strip().lower().removesuffix("days").removesuffix("d").strip()
    if value in PERIODS:
        return value
    raise InvalidInput("stats.usage")


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, in the reader's language."""

    title: str
    impressions: str
    likes: str
    purchases: str
    day: str


class StatsService:
    """Reports and charts."""

    def __init__(self, db: DatabaseWorker) -> None:
        self.db = db

    async def report(self, merchant_id: int | None, period: str) -> StatsReport:
        """Statistics of one merchant (the whole shop when None) over the period."""
        now = time.time()
        if period == "all":
            first = await self.db.run(_first_event, merchant_id)
            since = min(first or now, now - DAY)
        else:
            since = now - int(period) * DAY
        return await self.db.run(collect_stats, merchant_id, since, now)

    async def chart(self, report: StatsReport, labels: ChartLabels) -> bytes:
        """The trend as a PNG (drawn on a worker thread)."""
        return await asyncio.to_thread(render_chart, report, labels)


def _first_event(store: Store, merchant_id: int | None) -> float | None:
    """When the first event of the merchant's products (or any) happened."""
    if merchant_id is None:
        row = store.db.execute("SELECT min(at) FROM events").fetchone()
    else:
        row = store.db.execute(
            "SELECT min(e.at) FROM events e JOIN products p ON p.id = e.product_id "
            "WHERE p.merchant_id = ?",
            [merchant_id],
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def render_chart(report: StatsReport, labels: ChartLabels) -> bytes:
    """Daily impressions (bars), likes and purchases (lines) as a 1000x520 PNG.

    Blocking and CPU-bound: call it from a worker thread.
    """
    buffer = io.BytesIO()
    draw_chart(report, labels).savefig(buffer, format="png")
    return buffer.getvalue()


def draw_chart(report: StatsReport, labels: ChartLabels) -> Figure:
    """The chart of ``render_chart`` as a matplotlib ``Figure`` (an Agg canvas of its own)."""
    # Imported here: matplotlib is slow to import and only this thread needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = [point.day + 1 for point in report.daily]
    figure = Figure(figsize=(10, 5.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.bar(
        days,
        [point.impressions for point in report.daily],
        color="#c9d6ea",
        label=labels.impressions,
    )
    axes.set_xlabel(labels.day)
    axes.set_ylabel(labels.impressions)
    axes.set_xlim(0.4, max(days or [1]) + 0.6)
    # At least 0..1: with nothing to count, matplotlib would stretch 0..0 to 0..0.06.
    axes.set_ylim(0, max([1, *(point.impressions for point in report.daily)]) * 1.05)
    second = axes.twinx()
    second.plot(
        days,
        [point.likes for point in report.daily],
        color="#e0457b",
        marker="o",
        markersize=3,
        linewidth=2,
        label=labels.likes,
    )
    second.plot(
        days,
        [point.purchases for point in report.daily],
        color="#2a9d5c",
        marker="s",
        markersize=3,
        linewidth=2,
        label=labels.purchases,
    )
    top = max([1, *(max(point.likes, point.purchases) for point in report.daily)])
    second.set_ylim(0, top * 1.05)
    for axis in (axes.xaxis, axes.yaxis, second.yaxis):
        # Days and counts are whole: one integer tick (a single day) beats fractional ones,
        # which MaxNLocator falls back to when fewer than ``min_n_ticks`` integers fit.
        axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    handles = axes.get_legend_handles_labels()
    more = second.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", frameon=False)
    axes.set_title(labels.title, loc="left", fontsize=13)
    axes.spines["top"].set_visible(False)
    second.spines["top"].set_visible(False)
    figure.tight_layout()
    return figure
