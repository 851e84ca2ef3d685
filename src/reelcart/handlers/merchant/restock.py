"""Restock alerts: shoppers hear, once, that a product they like is back in stock (the
jobs around ``services.restock``, and a nudge when a merchant restocks)."""

from __future__ import annotations

from typing import cast

from reelcart.handlers.kit.context import ReelcartApplication, ReelcartContext
from reelcart.handlers.kit.messenger import outbox

#: Seconds between two runs of the job that delivers restock alerts.
RESTOCK_EVERY = 5.0


def kick_restock_alerts(context: ReelcartContext) -> None:
    """Deliver restock alerts soon (the periodic job would, a few seconds later)."""
    application = cast(ReelcartApplication, context.application)
    if application.job_queue is not None:
        # A loaded event loop may start it late: late is fine, skipped is not.
        application.job_queue.run_once(
            deliver_restock_alerts,
            0.2,
            name="restock-now",
            job_kwargs={"misfire_grace_time": None},
        )


async def settle_restock_alerts(context: ReelcartContext) -> None:
    """Job, at start-up: alerts a previous run was sending are not sent again; then the
    due ones go (``RestockAlerts``)."""
    await outbox(context).restock.settle()
    await deliver_restock_alerts(context)


async def deliver_restock_alerts(context: ReelcartContext) -> None:
    """Job: tell shoppers, once, that a product they like is back in stock."""
    if context.bot_data.shop is None:
        return
    application = context.application
    # A stop ends the run (what is left goes at the next start); a run made outside a
    # running application (a test, a script) goes to the end.
    outside = not application.running
    await outbox(context).restock.deliver(lambda: outside or application.running)
